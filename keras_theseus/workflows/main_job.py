"""The main job: teacher → compressed student → evaluation → export → report."""

import dataclasses
import os

from keras_theseus.workflows.compress import CompressionConfig
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


def save_student(run, run_dir, export=True, single_sentence=True):
    """Save the student as `.keras` and (optionally) a TF Serving SavedModel.

    Returns `{description: path}`.
    """
    from keras_theseus.export import export_for_serving

    files = {}
    path = os.path.join(run_dir, "student.keras")
    run.student.save(path)
    files["the student, a keras-hub BertTextClassifier (`keras.saving.load_model`)"] = path
    if export:
        served = export_for_serving(
            run.student, os.path.join(run_dir, "serving"), model_name="student", version=1,
            preprocessor=run.preprocessor if single_sentence else None)
        files["TF Serving SavedModel (`serving_default` int32 ids"
              + (", `serve_text` strings" if single_sentence else "") + ")"] = served
    return files


def run_compress_job(data, output_dir="keras_theseus_runs", run_name=None, overwrite=False,
                     quick=False, export=True, latency_repeats=10, verbose=1, **config):
    """Compress a classifier end to end and write a report directory.

    Fine-tunes (or reuses a cached) teacher, compresses it (`method=`
    `"theseus"` or `"distill"`), evaluates both on the test split, times
    both, saves the student (`.keras`) and its SavedModel, and writes
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
    run_dir = new_run_dir(output_dir, f"{data.name}-{cfg.method}{cfg.num_layers}",
                          run_name=run_name, overwrite=overwrite)
    run = compress_classifier(data, cfg, verbose=verbose)
    metrics = evaluate_run(run, data, split="test", latency_repeats=latency_repeats)
    files = save_student(run, run_dir, export=export,
                         single_sentence=len(data.text_columns) == 1)
    write_report(run_dir, metrics, run, data, files=files)
    return run_dir, metrics, run
