"""The comparison runner on a tiny real checkpoint: cells, cache, resume, report."""

import json
import os

import keras_hub
import numpy as np
import pandas as pd
import pytest
from test_compress import toy_sentiment

from keras_theseus.workflows import comparison_config
from keras_theseus.workflows import read_status
from keras_theseus.workflows import run_comparison
from keras_theseus.workflows import comparison as comparison_lib
from keras_theseus.workflows.comparison_config import method_spec
from keras_theseus.workflows.comparison_methods import train_student


def _grid(checkpoint, **overrides):
    grid = {"name": "toy", "datasets": ["toy"], "presets": {"toy": checkpoint},
            # One epoch per cell (Theseus: replacing only) keeps the test cheap.
            "num_layers": [1], "seeds": 2, "methods": [
                "truncated", {"method": "theseus", "kd_weight": 1.0, "successor_epochs": 0,
                              "label": "theseus_kd"}],
            "teacher": {"epochs": 1, "learning_rate": 1e-3},
            "training": {"epochs": 1, "learning_rate": 1e-3, "batch_size": 16,
                         "sequence_length": 12},
            "latency": {"batch_size": 2, "sequence_length": 12, "repeats": 1}}
    grid.update(overrides)
    return grid


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path / "teachers"))
    return str(tmp_path / "cells")


def test_interrupted_grid_resumes_to_the_same_table(tiny_checkpoint, tmp_path, isolated_cache,
                                                    monkeypatch):
    data = {"toy": toy_sentiment()}
    grid = _grid(tiny_checkpoint)
    real_train, calls = comparison_lib.train_student, []

    def interrupt_third(*args, **kwargs):
        calls.append(args[0].label)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(comparison_lib, "train_student", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        run_comparison(grid, output_dir=str(tmp_path / "runs"), cache_dir=isolated_cache,
                       data=data, verbose=0)
    first = os.path.join(tmp_path, "runs", "compare-toy-001")
    assert read_status(first)["status"] == "interrupted"
    assert not os.path.exists(os.path.join(first, "report.md"))
    monkeypatch.setattr(comparison_lib, "train_student", real_train)
    resumed = run_comparison(grid, output_dir=str(tmp_path / "runs"), cache_dir=isolated_cache,
                             data=data, verbose=0)
    assert resumed.cells["cached"].tolist() == [True, True, False, False]
    # The same grid from scratch in another cache gives the same table.
    fresh = run_comparison(grid, output_dir=str(tmp_path / "runs"),
                           cache_dir=str(tmp_path / "other_cells"), data=data, verbose=0)
    assert not fresh.cells["cached"].any()
    np.testing.assert_allclose(resumed.cells["test_accuracy"], fresh.cells["test_accuracy"])
    timings = ["speedup", "latency_ms_teacher", "latency_ms_student"]   # measured anew
    pd.testing.assert_frame_equal(resumed.summary.drop(columns=timings),
                                  fresh.summary.drop(columns=timings))
    # The report and its files.
    run_dir = resumed.run_dir
    assert read_status(run_dir)["status"] == "complete"
    report = open(os.path.join(run_dir, "report.md"), encoding="utf-8").read()
    assert "| toy | 1 | theseus_kd | 2 |" in report and "Δ vs truncated" in report
    summary = pd.read_csv(os.path.join(run_dir, "summary.csv"))
    assert list(summary["method"]) == ["truncated", "theseus_kd"]
    row = summary.set_index("method").loc["theseus_kd"]
    assert row["ci95_low"] <= row["mean"] <= row["ci95_high"]
    assert 0 <= row["p_vs_baseline"] <= 1 and row["paired_seeds"] == 2
    with open(os.path.join(run_dir, "accuracy_vs_speedup_toy.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert json.load(open(os.path.join(run_dir, "config.json")))["seeds"] == [0, 1]


def test_a_searched_cell_trains_the_same_whether_or_not_the_search_was_cached(
        tiny_checkpoint, tmp_path, isolated_cache):
    data = {"toy": toy_sentiment()}
    grid = _grid(tiny_checkpoint, seeds=[0], search={"steps": 3},
                 methods=[{"method": "truncated", "layers": "searched",
                           "label": "searched"}], baseline="searched")
    first = run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache,
                           data=data, verbose=0)   # the search runs inside this cell
    cell_dir = os.path.join(isolated_cache, "toy")
    cells = [f for f in os.listdir(cell_dir) if f.startswith("searched-")]
    assert len(cells) == 1 and any(f.startswith("layer-search-") for f in os.listdir(cell_dir))
    with open(os.path.join(cell_dir, cells[0]), encoding="utf-8") as f:
        before = json.load(f)
    os.remove(os.path.join(cell_dir, cells[0]))   # retrain it, the search now cached
    again = run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache,
                           data=data, verbose=0)
    assert not again.cells["cached"].any()
    with open(os.path.join(cell_dir, cells[0]), encoding="utf-8") as f:
        after = json.load(f)
    assert after["histories"] == before["histories"]
    assert after["test_predictions"] == before["test_predictions"]
    assert first.cells["test_accuracy"].tolist() == again.cells["test_accuracy"].tolist()


def test_the_layer_search_does_not_depend_on_what_ran_before(tiny_checkpoint, tmp_path,
                                                           isolated_cache):
    """A grid's search ranks the same whichever cells (and seeds) came first."""
    import glob

    import keras

    data = {"toy": toy_sentiment()}
    config = comparison_config(_grid(tiny_checkpoint, search={"steps": 3}),
                               known_datasets=data)
    tables = []
    for earlier_seed in (1, 2):
        keras.utils.set_random_seed(earlier_seed)   # what an earlier cell leaves behind
        cache = str(tmp_path / f"cells{earlier_seed}")
        comparison_lib._DatasetContext(config, "toy", cache, 0, data["toy"]).searched_layers(1)
        (path,) = glob.glob(os.path.join(cache, "toy", "layer-search-*.json"))
        with open(path, encoding="utf-8") as f:
            table = json.load(f)["table"]
        tables.append([(r["layers"], r["accuracy"], r["teacher_kl"]) for r in table])
    assert tables[0] == tables[1]


def test_a_changed_setting_never_reuses_a_cell(tiny_checkpoint, tmp_path, isolated_cache):
    data = {"toy": toy_sentiment()}
    grid = _grid(tiny_checkpoint, seeds=[0], methods=["truncated"])
    run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache, data=data,
                   verbose=0)
    grid["training"]["learning_rate"] = 5e-4
    again = run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache,
                           data=data, verbose=0)
    assert not again.cells["cached"].any()
    edited = toy_sentiment(seed=1)   # same name, other rows
    third = run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache,
                           data={"toy": edited}, verbose=0)
    assert not third.cells["cached"].any()


def test_a_cell_cache_from_another_teacher_is_named(tiny_checkpoint, tmp_path,
                                                    isolated_cache, monkeypatch):
    """Cells carried without the teacher's weights: a retrained teacher is checked."""
    import warnings

    data = {"toy": toy_sentiment()}
    grid = _grid(tiny_checkpoint, seeds=[0], methods=["truncated"])
    real_score, scored = comparison_lib._score, []
    monkeypatch.setattr(comparison_lib, "_score",
                        lambda *args: scored.append(1) or real_score(*args))
    run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache, data=data,
                   verbose=0)
    assert len(scored) == 2   # the cell and the teacher, each once
    cell_dir = os.path.join(isolated_cache, "toy")
    (teacher_json,) = [f for f in os.listdir(cell_dir) if f.startswith("teacher-")]
    path = os.path.join(cell_dir, teacher_json)
    with open(path, encoding="utf-8") as f:
        kept = json.load(f)
    # Scores removed after the teacher loaded are written again, not re-scored.
    config = comparison_config(grid, known_datasets=data)
    context = comparison_lib._DatasetContext(config, "toy", isolated_cache, 0, data["toy"])
    context.teacher  # noqa: B018
    os.remove(path)
    assert context.teacher_scores() == kept
    assert os.path.exists(path) and len(scored) == 3
    # Another machine: the cells came along, the teacher's weights did not.
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path / "other_teachers"))
    grid["seeds"] = [0, 1]
    with warnings.catch_warnings():
        # The same teacher again: nothing to say.
        warnings.filterwarnings("error", message=".*teacher fine-tuned now differs")
        run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache, data=data,
                       verbose=0)
    # The cells' teacher predicted otherwise than the one fine-tuned now.
    with open(path, encoding="utf-8") as f:
        scores = json.load(f)
    scores["test_predictions"] = [1 - p for p in scores["test_predictions"]]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(scores, f)
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path / "third_teachers"))
    grid["seeds"] = [0, 1, 2]
    with pytest.warns(UserWarning, match="toy teacher fine-tuned now differs"):
        run_comparison(grid, output_dir=str(tmp_path), cache_dir=isolated_cache, data=data,
                       verbose=0)


@pytest.mark.parametrize("entry", [
    "kd_hidden", "pretrained_truncated", "dynabert",
    {"method": "theseus", "init": "searched", "schedule": "constant", "base": 0.5,
     "successor_kd_weight": 1.0},
    {"method": "truncated", "source": "pretrained", "precision": "mixed_bfloat16"},
])
def test_every_method_trains_a_plain_keras_hub_student(tiny_checkpoint, entry):
    from keras_theseus.models import finetune_teacher

    data = toy_sentiment()
    teacher, pre, _ = finetune_teacher(data, preset=tiny_checkpoint, sequence_length=12,
                                       epochs=1, batch_size=16, cache=False, verbose=0)
    train = data.tf_dataset("train", pre, batch_size=16)
    spec = method_spec(entry)
    searched = []
    student, histories = train_student(
        spec, teacher, train, 1, seed=0, preset=tiny_checkpoint,
        training={"epochs": 3, "learning_rate": 1e-3},
        searched=lambda k: searched.append(k) or [1], verbose=0)
    assert isinstance(student, keras_hub.models.BertTextClassifier)
    assert student.backbone.num_layers == 1 and histories
    assert searched == ([1] if spec.options.get("init") == "searched" else [])
    from keras_theseus.models import model_precision

    assert model_precision(student) == spec.options.get("precision", "float32")


@pytest.mark.parametrize("grid,match", [
    ({"methods": ["prune"]}, r"`methods.method` must be one of"),
    ({"methods": [{"method": "theseus", "schedul": "linear"}]}, r"`methods\[theseus\]`"),
    ({"seeds": 0}, "`seeds` must be a positive int"),
    ({"seeds": [0, 0]}, "`seeds` must be"),
    ({"num_layers": [0]}, "`num_layers` must be a positive int"),
    ({"datasets": ["imdb"]}, "`datasets` must be"),
    ({"baseline": "tinybert"}, "`baseline` must be one of the method labels"),
    ({"training": {"epoch": 3}}, "`training` must be keys among"),
    ({"teacher": {"learning_rate": 0}}, "`teacher.learning_rate` must be a number > 0"),
    ({"methods": ["truncated", "truncated"]}, "distinct labels"),
    ({"colour": "blue"}, "`keys` must be among"),
    ({"methods": [{"method": "kd", "precision": "auto"}]},
     r"`methods\[kd\].precision` must be one of \['float32', 'mixed_bfloat16'"),
    ({"training": {"bucket_widths": [16, 32]}},
     r"`training.bucket_widths` must be \"auto\", null or strictly increasing positive ints "
     r"ending at sequence_length \(64\)"),
    ({"training": {"bucket_widths": [32, 16, 64]}}, "`training.bucket_widths` must be"),
    ({"training": {"bucket_widths": "quarters"}}, "`training.bucket_widths` must be"),
])
def test_config_errors_name_the_key(grid, match):
    with pytest.raises(ValueError, match=match):
        comparison_config(grid)


@pytest.mark.parametrize("training,widths", [
    ({}, [16, 32, 48, 64]),                       # the default, "auto"
    ({"sequence_length": 128}, [32, 64, 96, 128]),
    ({"sequence_length": 10}, [3, 5, 8, 10]),
    ({"sequence_length": 2}, [1, 2]),
    ({"bucket_widths": None}, None),
    ({"sequence_length": 32, "bucket_widths": [8, 32]}, [8, 32]),
])
def test_bucket_widths_resolve_into_the_cell_key(training, widths):
    config = comparison_config({"training": training})
    assert config.training["bucket_widths"] == widths


def test_a_method_precision_keys_its_cells_only_when_set():
    plain, half = (method_spec(e) for e in ("kd", {"method": "kd", "precision": "mixed_bfloat16",
                                                   "label": "kd_bf16"}))
    assert "precision" not in plain.options  # cells cached before the option stay valid
    assert half.options["precision"] == "mixed_bfloat16"


def test_depths_the_teacher_cannot_give(tiny_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="`num_layers` must be at most the teacher's 2"):
        run_comparison(_grid(tiny_checkpoint, num_layers=[3]), output_dir=str(tmp_path),
                       data={"toy": toy_sentiment()})
    assert not os.listdir(tmp_path)   # refused before a run directory exists


def test_yaml_file_and_overrides(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("name: mr\nnum_layers: [3, 2]\nseeds: 5\nmethods:\n  - truncated\n"
                    "  - {method: theseus, init: every_rth, label: theseus_rth}\n")
    config = comparison_config(str(path), seeds=2)
    assert config.seeds == [0, 1] and config.num_layers == [3, 2]
    assert [m.label for m in config.methods] == ["truncated", "theseus_rth"]
    assert config.methods[1].options["init"] == "every_rth"
    # A label of the file's methods picks that variant; other names are methods.
    picked = comparison_config(str(path), methods=["truncated", "theseus_rth", "kd"])
    assert [m.label for m in picked.methods] == ["truncated", "theseus_rth", "kd"]
    assert picked.methods[1].method == "theseus"
    assert picked.methods[1].options["init"] == "every_rth"


def test_records_carry_the_interval_fields():
    from keras_theseus.workflows.comparison_report import comparison_records
    from keras_theseus.workflows.comparison_report import summary_markdown

    config = comparison_config({"methods": ["truncated", "theseus_kd"], "seeds": 2})
    base = {"dataset": "movie_reviews", "num_layers": 3, "seeds": 2, "dev_mean": 0.85,
            "std": 0.01, "retention": 0.98, "speedup": 1.9, "params": 10,
            "latency_ms_teacher": 2.0, "latency_ms_student": 1.0, "teacher_params": 20}
    summary = pd.DataFrame([
        {**base, "method": "truncated", "mean": 0.86, "ci95_low": 0.85, "ci95_high": 0.87},
        {**base, "method": "theseus_kd", "mean": 0.88, "ci95_low": 0.87, "ci95_high": 0.89,
         "difference": 0.02, "difference_ci95_low": 0.01, "difference_ci95_high": 0.03,
         "p_vs_baseline": 0.002, "mcnemar_p_median": 0.04, "paired_seeds": 2}])
    records = comparison_records(config, summary, {"movie_reviews": 0.9})
    assert [r["p_vs_truncated"] for r in records] == [None, 0.002]
    assert records[1]["seeds"] == [0, 1] and records[1]["ci95_low"] == 0.87
    assert records[1]["student_metric"] == records[1]["mean"] == 0.88
    # Each note names the epochs and lr its own cells used, not only the grid's.
    assert "3 epochs at lr 0.0001" in records[0]["notes"]
    tuned = comparison_config({"methods": [
        "truncated", {"method": "truncated", "learning_rate": 5e-5, "epochs": 2,
                      "label": "truncated_lr5e-5"}], "seeds": 2})
    summary_tuned = summary.assign(method=["truncated", "truncated_lr5e-5"])
    notes = [r["notes"] for r in comparison_records(tuned, summary_tuned,
                                                    {"movie_reviews": 0.9})]
    assert "3 epochs at lr 0.0001" in notes[0] and "2 epochs at lr 5e-05" in notes[1]
    table = summary_markdown(summary, "truncated")
    assert "| movie_reviews | 3 | theseus_kd | 2 | 85.00 | 88.00 ± 1.00 | [87.00, 89.00]" in table
    assert "+2.00 [+1.00, +3.00] | 0.002 | 0.040 |" in table
