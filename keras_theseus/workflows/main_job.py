"""The main job: teacher → compressed student → evaluation → export → report."""

import dataclasses
import json
import os
import shutil

from keras_theseus.workflows.compress import CompressionConfig
from keras_theseus.workflows.compress import check_against_teacher
from keras_theseus.workflows.compress import compress_classifier
from keras_theseus.workflows.report import evaluate_run
from keras_theseus.workflows.report import write_report
from keras_theseus.workflows.run_status import read_status
from keras_theseus.workflows.workers import run_status
from keras_theseus.workflows.workers import worker_run_dir
from keras_theseus.workflows.workers import writes_files

RUN_CONFIG_FILE = "run_config.json"
CHECKPOINT_DIR = "checkpoints"
# What the save/report stages write; a resumed run removes partial ones.
RUN_OUTPUTS = ("student.keras", "student_hf", "serving", "report.md", "metrics.csv",
               "accuracy_vs_latency.png")

QUICK_ROWS = {"train": 2048, "dev": 128, "test": 256}


def quick_subset(data, rows=None):
    """The first rows of each split (splits are already shuffled)."""
    rows = rows or QUICK_ROWS
    data = dataclasses.replace(data)
    for split, n in rows.items():
        setattr(data, split, getattr(data, split)[:n].reset_index(drop=True))
    data.name = f"{data.name}-quick"
    return data


def smoke_test_note(data, config):
    """What a quick run's report and console say about its numbers."""
    return (f"**Quick run: a smoke test of the pipeline, not a measurement.** Teacher and "
            f"student trained on {len(data.train)} rows at length {config.sequence_length} "
            f"and were scored on {len(data.test)} test rows (±"
            f"{100 * (0.25 / max(len(data.test), 1)) ** 0.5:.0f} points at one standard "
            "error); run without `--quick` for the measured result.")


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


def read_run_config(run_dir):
    """The settings a `run_compress_job` or `run_clue_baseline` run directory was started with.

    Raises:
        FileNotFoundError: `run_dir` is not such a directory.
        ValueError: the run is already complete.
    """
    path = os.path.join(run_dir, RUN_CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{run_dir} is not a resumable run directory (no "
                                f"{RUN_CONFIG_FILE}; runs started before 0.3 cannot resume).")
    if read_status(run_dir)["status"] == "complete":
        raise ValueError(f"{run_dir} is complete; nothing to resume.")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_run_config(run_dir, config, **settings):
    """Record what a run was started with (`run_config.json`), for `resume`."""
    with open(os.path.join(run_dir, RUN_CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump({**settings, "config": dataclasses.asdict(config)}, f, indent=1)
        f.write("\n")


def resume_settings(run_dir, config, outputs=RUN_OUTPUTS, **flags):
    """Check a resume request and clear what an interrupted stage half-wrote.

    Args:
        run_dir: the interrupted run's directory.
        config: `CompressionConfig` fields the caller was also given (only
            `None` values are allowed: a resumed run keeps its settings).
        outputs: file or directory names under `run_dir` that the save and
            report stages write; they are removed so those stages start over.
        **flags: other arguments that must be falsy when resuming.

    Returns:
        `(saved settings dict, CompressionConfig)`.
    """
    given = sorted([k for k, v in config.items() if v is not None] +
                   [k for k, v in flags.items() if v])
    if given:
        raise ValueError("`resume` continues a run with the settings it was started with; "
                         f"do not pass others. Received: {given}")
    saved = read_run_config(run_dir)
    cfg = CompressionConfig(**saved["config"])
    for name in outputs if writes_files(cfg) else ():  # a stage interrupted mid-write starts over
        path = os.path.join(run_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    return saved, cfg


def run_compress_job(data, output_dir="keras_theseus_runs", run_name=None, overwrite=False,
                     quick=False, export=True, latency_repeats=10, verbose=1, resume=None,
                     **config):
    """Compress a classifier end to end and write a report directory.

    Fine-tunes (or reuses a cached) teacher, compresses it (`method=`
    `"theseus"` or `"distill"`), evaluates both on the test split, times
    both, saves the student (`.keras`, a Hugging Face checkpoint
    `student_hf/` and a SavedModel), and writes
    `report.md`, `metrics.csv` and `accuracy_vs_latency.png`; `status.json`
    says `running` / `complete` / `interrupted` / `failed` and the stage
    (`RunStatus`), so an interrupted run never looks finished. This is what
    `keras-theseus compress` runs.

    Args:
        data: a `TextClassificationData`.
        output_dir: parent of the run directories.
        run_name: a fixed run directory name; default
            `<dataset>-<method><layers>-<NNN>`, numbered so nothing is
            overwritten.
        overwrite: replace an existing `run_name` directory.
        quick: a smoke test in about 3 minutes on 2 cores: 2048 / 128 / 256
            rows, length 32, teacher 2 epochs at learning rate 1e-4 (at
            least), Theseus 2 successor epochs (at least), no XLA, no teacher
            cache. Measured on movie reviews (seed 0, 2 cores, 3.2 min):
            teacher 85.5%, Theseus 3-layer student 80.9% on the 256 test rows
            (±3 points at one standard error). Report and console say it is a
            smoke test.
        export: write the SavedModel.
        latency_repeats: timed rounds per latency shape.
        verbose: `fit` verbosity (1 = progress bars).
        resume: the directory of an interrupted run: continue it with the
            settings it was started with (`run_config.json`; passing other
            settings is an error) from the last finished epoch of its last
            stage. Every stage backs up to `<run_dir>/checkpoints/` after
            each epoch (weights, optimizer, Theseus schedule step, DynaBERT
            masks, data order); the directory is removed once the run is
            complete. Same seed, same result as an uninterrupted run.
        **config: `CompressionConfig` fields.

    Returns:
        `(run_dir, metrics DataFrame, CompressionRun)`.

    Example:
    ```python
    data = keras_theseus.datasets.load_movie_reviews()
    run_dir, metrics, run = run_compress_job(data, method="theseus", num_layers=3)
    ```
    """
    if resume is not None:
        saved, cfg = resume_settings(resume, config, quick=quick, run_name=run_name,
                                     overwrite=overwrite)
        quick, export = saved["quick"], saved["export"]
        latency_repeats = saved["latency_repeats"]
        if data.name != saved["dataset"]:
            raise ValueError(f"{resume} was started on dataset {saved['dataset']!r}; "
                             f"received {data.name!r}.")
        data = quick_subset(data) if quick else data
        return _run_stages(resume, data, cfg, quick, export, latency_repeats, verbose)
    cfg = CompressionConfig(**config)
    dataset_name = data.name
    if quick:
        data = quick_subset(data)
        # Tried on movie reviews, seed 0 (2 cores): 1024 rows x 1 teacher
        # epoch gave teacher 66% / student 46% in 1.5 min; 2048 rows x 2
        # epochs a teacher of 85.5%, and the Theseus student 65-70% after one
        # successor epoch (compression lr 5e-5 or 1e-4; 3e-4 collapsed to
        # chance), 80.9% after two (3.2 min for the CLI). Those runs read the quick test
        # rows, which is one more reason quick numbers are a smoke test.
        cfg = dataclasses.replace(cfg, sequence_length=min(cfg.sequence_length, 32),
                                  teacher_learning_rate=max(cfg.teacher_learning_rate, 1e-4),
                                  teacher_epochs=max(cfg.teacher_epochs, 2),
                                  successor_epochs=max(cfg.successor_epochs, 2),
                                  jit_compile=False, cache_teacher=False)
        latency_repeats = min(latency_repeats, 3)
    cfg.validate()
    check_against_teacher(cfg)  # before the run directory exists
    run_dir = worker_run_dir(output_dir, f"{data.name}-{cfg.method}{cfg.num_layers}",
                             run_name, overwrite, cfg)
    if writes_files(cfg):
        write_run_config(run_dir, cfg, dataset=dataset_name, quick=quick, export=export,
                         latency_repeats=latency_repeats)
    return _run_stages(run_dir, data, cfg, quick, export, latency_repeats, verbose)


def _run_stages(run_dir, data, cfg, quick, export, latency_repeats, verbose):
    checkpoints = os.path.join(run_dir, CHECKPOINT_DIR)
    writes = writes_files(cfg)
    with run_status(run_dir, writes) as status:
        status.stage("compress")
        run = compress_classifier(data, cfg, verbose=verbose, checkpoint_dir=checkpoints)
        if not writes:
            # A non-chief worker of a multi-worker run: its part (training)
            # is done; the chief evaluates and writes the run directory.
            return run_dir, None, run
        status.stage("evaluate")
        metrics = evaluate_run(run, data, split="test", latency_repeats=latency_repeats)
        status.stage("save")
        pair = len(data.text_columns) > 1
        files = save_student(run, run_dir, export=export, single_sentence=not pair,
                             label_names=data.label_names)
        status.stage("report")
        write_report(run_dir, metrics, run, data, files=files,
                     notes=loading_notes(cfg.sequence_length, pair=pair),
                     preface=[smoke_test_note(data, cfg)] if quick else ())
        # Backups are for resuming; a complete run does not need them.
        shutil.rmtree(checkpoints, ignore_errors=True)
    return run_dir, metrics, run
