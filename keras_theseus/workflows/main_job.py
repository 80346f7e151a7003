"""The main job: teacher → compressed student → evaluation → export → report."""

import dataclasses
import os

from keras_theseus.workflows.compress import CompressionConfig
from keras_theseus.workflows.compress import check_against_teacher
from keras_theseus.workflows.compress import compress_classifier
from keras_theseus.workflows.compress import new_run_dir
from keras_theseus.workflows.report import evaluate_run
from keras_theseus.workflows.report import write_report

QUICK_ROWS = {"train": 1024, "dev": 128, "test": 256}


def quick_subset(data, rows=None):
    """The first rows of each split (splits are already shuffled)."""
    rows = rows or QUICK_ROWS
    data = dataclasses.replace(data)
    for split, n in rows.items():
        setattr(data, split, getattr(data, split)[:n].reset_index(drop=True))
    data.name = f"{data.name}-quick"
    return data


def save_student(run, run_dir, export=True, single_sentence=True, label_names=None):
    """Save the student as `.keras`, a Hugging Face checkpoint and (optionally) a SavedModel.

    Writes `student.keras`, `student_hf/` (`save_hf_checkpoint`: transformers
    and `load_backbone` read it) and, with `export`, `serving/student/1`.

    Returns:
        `{description: path}`.
    """
    from keras_theseus.export import attention_layout
    from keras_theseus.export import export_for_serving
    from keras_theseus.export import save_hf_checkpoint

    files = {}
    path = os.path.join(run_dir, "student.keras")
    run.student.save(path)
    files["the student, a keras-hub BertTextClassifier (`keras.saving.load_model`)"] = path
    hf_dir = save_hf_checkpoint(run.student, os.path.join(run_dir, "student_hf"),
                                run.preprocessor, label_names=label_names)
    kept, heads, _ = attention_layout(run.student.backbone)
    files["Hugging Face checkpoint (transformers `AutoModelForSequenceClassification` and "
          "`AutoTokenizer`)" + (f"; {heads - kept} of its {heads} heads per layer are zero "
                                "padding (exact outputs)" if kept < heads else "")] = hf_dir
    if export:
        served = export_for_serving(
            run.student, os.path.join(run_dir, "serving"), model_name="student", version=1,
            preprocessor=run.preprocessor if single_sentence else None)
        files["TF Serving SavedModel (`serving_default` int32 ids"
              + (", `serve_text` strings" if single_sentence else "") + ")"] = served
    return files


def loading_notes(sequence_length, pair=False):
    """The report's "Loading the student" section, as markdown lines."""
    text = '["first sentence", "second sentence"]' if not pair else \
        '["first sentence"], ["its pair"]'
    return [
        "## Loading the student", "",
        "In PyTorch, with Hugging Face transformers:", "",
        "```python",
        "import transformers",
        'model = transformers.AutoModelForSequenceClassification.from_pretrained("student_hf")',
        'tokenizer = transformers.AutoTokenizer.from_pretrained("student_hf")',
        f"batch = tokenizer({text}, padding=True, truncation=True,",
        f'                  max_length={sequence_length}, return_tensors="pt")',
        "logits = model(**batch).logits",
        "```", "",
        "In Keras / keras-hub:", "",
        "```python",
        "import keras, keras_theseus",
        'student = keras.saving.load_model("student.keras")  # a keras_hub BertTextClassifier',
        'backbone = keras_theseus.models.load_backbone("student_hf")  # its encoder',
        "```", "",
        "For a keras-hub preset directory (`keras_hub.models.BertTextClassifier."
        "from_preset`, after `import keras_theseus`): `keras-theseus export student.keras "
        "--format keras_hub_preset --preset student_hf`.", "",
    ]


def run_compress_job(data, output_dir="keras_theseus_runs", run_name=None, overwrite=False,
                     quick=False, export=True, latency_repeats=10, verbose=1, **config):
    """Compress a classifier end to end and write a report directory.

    Fine-tunes (or reuses a cached) teacher, compresses it (`method=`
    `"theseus"` or `"distill"`), evaluates both on the test split, times
    both, saves the student (`.keras`, a Hugging Face checkpoint
    `student_hf/` and a SavedModel), and writes
    `report.md`, `metrics.csv` and `accuracy_vs_latency.png`. This is what
    `keras-theseus compress` runs.

    Args:
        data: a `TextClassificationData`.
        output_dir: parent of the run directories.
        run_name: a fixed run directory name; default
            `<dataset>-<method><layers>-<NNN>`, numbered so nothing is
            overwritten.
        overwrite: replace an existing `run_name` directory.
        quick: 1024 / 128 / 256 rows, length 32, teacher learning rate
            1e-4, no XLA, no teacher cache: the whole pipeline in about 2
            minutes.
        export: write the SavedModel.
        latency_repeats: timed rounds per latency shape.
        verbose: `fit` verbosity (1 = progress bars).
        **config: `CompressionConfig` fields.

    Returns:
        `(run_dir, metrics DataFrame, CompressionRun)`.

    Example:
    ```python
    data = keras_theseus.datasets.load_movie_reviews()
    run_dir, metrics, run = run_compress_job(data, method="theseus", num_layers=3)
    ```
    """
    cfg = CompressionConfig(**config)
    if quick:
        data = quick_subset(data)
        cfg = dataclasses.replace(cfg, sequence_length=min(cfg.sequence_length, 32),
                                  teacher_learning_rate=max(cfg.teacher_learning_rate, 1e-4),
                                  jit_compile=False, cache_teacher=False)
        latency_repeats = min(latency_repeats, 3)
    cfg.validate()
    check_against_teacher(cfg)  # before the run directory exists
    run_dir = new_run_dir(output_dir, f"{data.name}-{cfg.method}{cfg.num_layers}",
                          run_name=run_name, overwrite=overwrite)
    run = compress_classifier(data, cfg, verbose=verbose)
    metrics = evaluate_run(run, data, split="test", latency_repeats=latency_repeats)
    pair = len(data.text_columns) > 1
    files = save_student(run, run_dir, export=export, single_sentence=not pair,
                         label_names=data.label_names)
    write_report(run_dir, metrics, run, data, files=files,
                 notes=loading_notes(cfg.sequence_length, pair=pair))
    return run_dir, metrics, run
