"""CLUE baseline: fine-tune a teacher, compress it, score dev, write the submission."""

import os
import shutil

import numpy as np

from keras_theseus.datasets.clue import load_clue
from keras_theseus.datasets.clue import write_clue_submission
from keras_theseus.workflows.compress import CompressionConfig
from keras_theseus.workflows.compress import check_against_teacher
from keras_theseus.workflows.compress import compress_classifier
from keras_theseus.workflows.main_job import CHECKPOINT_DIR
from keras_theseus.workflows.main_job import RUN_OUTPUTS
from keras_theseus.workflows.main_job import loading_notes
from keras_theseus.workflows.main_job import resume_settings
from keras_theseus.workflows.main_job import save_student
from keras_theseus.workflows.main_job import write_run_config
from keras_theseus.workflows.report import evaluate_run
from keras_theseus.workflows.report import write_report
from keras_theseus.workflows.workers import run_status
from keras_theseus.workflows.workers import worker_run_dir
from keras_theseus.workflows.workers import writes_files


def run_clue_baseline(task, data_dir, output_dir="clue_runs", run_name=None, overwrite=False,
                      export=False, latency_repeats=5, verbose=1, resume=None, **config):
    """One CLUE task end to end: teacher → compressed student → dev → submission.

    Loads the official files (`load_clue`), fine-tunes the teacher (cached,
    keyed by the data's fingerprint), compresses it (`method="theseus"` or
    `"distill"`), scores teacher and student on dev (CLUE's test labels are
    hidden), predicts the test split with the student and writes
    `<task>_predict.json` (`{"id", "label"}` per line, labels in the task's
    label codes) plus the run report.

    Args:
        task: CLUE task name (`afqmc`, `tnews`, `iflytek`, `cmnli`, `ocnli`,
            `csl`, `cluewsc2020`).
        data_dir: the unzipped task directory, or its parent.
        output_dir, run_name, overwrite: run directory (never reused silently).
        export: also write the TF Serving SavedModel.
        latency_repeats: timed rounds per latency shape.
        verbose: `fit` verbosity.
        resume: the directory of an interrupted run: continue it from its
            last finished epoch with the settings it was started with
            (`run_config.json`; `task` and `data_dir` must name the same
            task, other settings are an error), as `run_compress_job` does.
        **config: `CompressionConfig` fields (`preset`, `method`,
            `num_layers`, `sequence_length`, `teacher_epochs`, `epochs`, ...).

    Returns:
        `(run_dir, metrics DataFrame, submission path)`.

    Example:
    ```python
    run_dir, metrics, submission = run_clue_baseline(
        "afqmc", "clue", preset="/models/bert-base-chinese", method="distill",
        num_layers=3, sequence_length=128, teacher_epochs=3, epochs=3)
    ```
    """
    data = load_clue(task, data_dir)
    if resume is not None:
        saved, cfg = resume_settings(resume, config, run_name=run_name, overwrite=overwrite,
                                     outputs=RUN_OUTPUTS + (data.task.submission_name,))
        if saved.get("task") != data.task.name:
            raise ValueError(f"{resume} was started on CLUE task {saved.get('task')!r}; "
                             f"received {data.task.name!r}.")
        export, latency_repeats, run_dir = saved["export"], saved["latency_repeats"], resume
    else:
        cfg = CompressionConfig(**{"sequence_length": 128, **config}).validate()
        check_against_teacher(cfg)  # before the run directory exists
        run_dir = worker_run_dir(output_dir, f"{data.task.name}-{cfg.method}{cfg.num_layers}",
                                 run_name, overwrite, cfg)
    writes = writes_files(cfg)
    if resume is None and writes:
        write_run_config(run_dir, cfg, task=data.task.name, data_dir=os.path.abspath(data_dir),
                         export=export, latency_repeats=latency_repeats)
    checkpoints = os.path.join(run_dir, CHECKPOINT_DIR)
    with run_status(run_dir, writes) as status:
        status.stage("compress")
        run = compress_classifier(data, cfg, verbose=verbose, checkpoint_dir=checkpoints)
        if not writes:
            # A non-chief worker: training is done; the chief writes the rest.
            return run_dir, None, None
        status.stage("evaluate")
        metrics = evaluate_run(run, data, split="dev", latency_repeats=latency_repeats)
        logits = run.student.predict(data.tf_dataset("test", run.preprocessor, batch_size=64),
                                     verbose=0)
        status.stage("save")
        submission = write_clue_submission(
            os.path.join(run_dir, data.task.submission_name), data, np.asarray(logits))
        files = save_student(run, run_dir, export=export, single_sentence=not data.task.pair,
                             label_names=list(data.label_names))
        files[f"CLUE submission, {len(data.test)} test predictions"] = submission
        status.stage("report")
        write_report(run_dir, metrics, run, data, files=files,
                     title=f"CLUE {data.task.name}: {cfg.method} to {cfg.num_layers} layers",
                     notes=["Accuracy is on dev: CLUE's test labels are not public. Submit "
                            f"`{data.task.submission_name}` at https://www.cluebenchmarks.com.",
                            "", *loading_notes(cfg.sequence_length, pair=data.task.pair)])
        shutil.rmtree(checkpoints, ignore_errors=True)
    return run_dir, metrics, submission
