"""compress_classifier → evaluate_run → write_report on a tiny real checkpoint."""

import os

import keras_hub
import numpy as np
import pandas as pd
import pytest

from keras_theseus.datasets import TextClassificationData
from keras_theseus.workflows import CompressionConfig
from keras_theseus.workflows import compress_classifier
from keras_theseus.workflows import evaluate_run
from keras_theseus.workflows import new_run_dir
from keras_theseus.workflows import quick_subset
from keras_theseus.workflows import write_report


def toy_sentiment(n=96, seed=0):
    rng = np.random.default_rng(seed)
    good, bad = ["great", "good", "fun", "loved"], ["bad", "terrible", "boring", "hated"]
    rows = []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(good if label else bad, 3)) + ["the", "movie", "."]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    frame = pd.DataFrame(rows)
    return TextClassificationData(name="toy", train=frame[:64], dev=frame[64:80].reset_index(
        drop=True), test=frame[80:].reset_index(drop=True), label_names=["neg", "pos"])


def test_new_run_dir_numbers_and_never_reuses(tmp_path):
    a = new_run_dir(str(tmp_path), "movie-theseus3")
    b = new_run_dir(str(tmp_path), "movie-theseus3")
    assert os.path.basename(a) == "movie-theseus3-001"
    assert os.path.basename(b) == "movie-theseus3-002"
    fixed = new_run_dir(str(tmp_path), "x", run_name="mine")
    open(os.path.join(fixed, "keep.txt"), "w").close()
    with pytest.raises(FileExistsError, match="--overwrite"):
        new_run_dir(str(tmp_path), "x", run_name="mine")
    assert os.path.exists(os.path.join(fixed, "keep.txt"))
    again = new_run_dir(str(tmp_path), "x", run_name="mine", overwrite=True)
    assert again == fixed and os.listdir(fixed) == []


@pytest.mark.parametrize("field,value,message", [
    ("method", "prune", "`method` must be one of"),
    ("num_layers", 0, "`num_layers` must be a positive int"),
    ("epochs", 1.5, "`epochs` must be a positive int"),
    ("learning_rate", 0.0, "`learning_rate` must be > 0"),
    ("successor_epochs", -1, "`successor_epochs` must be >= 0"),
    ("jit_compile", "yes", "`jit_compile` must be True, False or 'auto'"),
])
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        CompressionConfig(**{field: value}).validate()


def test_quick_subset_takes_first_rows():
    data = toy_sentiment()
    small = quick_subset(data, {"train": 8, "dev": 4, "test": 4})
    assert (len(small.train), len(small.dev), len(small.test)) == (8, 4, 4)
    assert small.name == "toy-quick" and len(data.train) == 64


@pytest.mark.parametrize("method", ["theseus", "distill", "dynabert"])
def test_compress_evaluate_report(tmp_path, tiny_checkpoint, method):
    data = toy_sentiment()
    run = compress_classifier(data, preset=tiny_checkpoint, method=method, num_layers=1,
                              sequence_length=12, batch_size=16, teacher_epochs=2, epochs=1,
                              teacher_learning_rate=1e-3, learning_rate=1e-3,
                              jit_compile=False, cache_teacher=False, verbose=0)
    # Every method hands back the same kind of student.
    assert isinstance(run.student, keras_hub.models.BertTextClassifier)
    assert run.teacher.backbone.num_layers == 2 and run.student.backbone.num_layers == 1
    if method == "dynabert":  # width 0.5 of 4 heads, FFN 64 -> 32
        backbone = run.student.backbone
        assert (backbone.num_heads, backbone.intermediate_dim) == (2, 32)
        assert set(run.histories) >= {"dynabert_w", "dynabert"}
    assert set(run.wall_s) == {"teacher", "compress"}
    metrics = evaluate_run(run, data, latency_batch_sizes=(4,), latency_repeats=2)
    assert list(metrics.index) == ["teacher", "student"]
    assert metrics.loc["student", "params"] < metrics.loc["teacher", "params"]
    assert metrics.loc["teacher", "speedup_b4x40"] == pytest.approx(1.0)
    acc = metrics["test_accuracy"]
    assert ((acc >= 0) & (acc <= 1)).all()
    assert metrics.loc["student", "retention"] == pytest.approx(acc["student"] / acc["teacher"])
    run_dir = new_run_dir(str(tmp_path), "toy")
    paths = write_report(run_dir, metrics, run, data, files={"nothing": run_dir + "/x"})
    report = open(paths["report"], encoding="utf-8").read()
    assert "| student | 1 |" in report and f"method: {method}" in report
    assert pd.read_csv(paths["metrics"], index_col=0).shape == metrics.shape
    with open(paths["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
