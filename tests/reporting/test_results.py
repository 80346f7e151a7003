"""Benchmark result records, the JSON list and the Markdown rendering."""

import json
import os

import pytest

from keras_theseus.reporting import append_record
from keras_theseus.reporting import append_records
from keras_theseus.reporting import load_records
from keras_theseus.reporting import make_record
from keras_theseus.reporting import render_markdown
from keras_theseus.reporting import write_markdown
from keras_theseus.reporting.results import OPTIONAL_FIELDS
from keras_theseus.reporting.results import REQUIRED_FIELDS

DEVICE = {"kind": "CPU", "name": "Test CPU", "count": 2}


def _required(**overrides):
    fields = dict(experiment="theseus", method="bert-of-theseus", dataset="movie_reviews",
                  teacher="all_minilm_l6_v2", metric="test_accuracy", teacher_metric=0.8)
    fields.update(overrides)
    return fields


def _record(**overrides):
    fields = _required(device=DEVICE)
    fields.update(overrides)
    return make_record(**fields)


def test_make_record_derives_retention_and_speedup():
    rec = _record(student_metric=0.76, latency_ms_teacher=30.0, latency_ms_student=12.0)
    assert rec["retention"] == pytest.approx(0.95)
    assert rec["speedup"] == pytest.approx(2.5)
    assert rec["device"] == DEVICE
    for field in REQUIRED_FIELDS:
        assert rec[field] == _required()[field]
    # Every optional field is present, None when not given.
    for field in OPTIONAL_FIELDS:
        assert field in rec
    assert rec["notes"] is None and rec["student_config"] is None


def test_make_record_without_student_numbers_has_no_ratios():
    rec = _record()
    assert rec["retention"] is None
    assert rec["speedup"] is None
    rec = _record(student_metric=0.7, latency_ms_teacher=10.0)
    assert rec["retention"] == pytest.approx(0.875)
    assert rec["speedup"] is None


def test_make_record_adds_versions_and_date():
    rec = _record()
    assert {"python", "tensorflow", "keras", "keras_hub", "numpy",
            "keras_theseus"} <= set(rec["versions"])
    assert all(isinstance(v, str) and v for v in rec["versions"].values())
    # ISO-8601 UTC timestamp, seconds precision.
    assert rec["date"][4] == "-" and rec["date"].endswith("+00:00")
    json.dumps(rec)  # serialisable as is


def test_make_record_measures_device_when_not_given():
    rec = make_record(**_required())
    assert rec["device"]["kind"] in ("CPU", "GPU", "TPU")
    assert rec["device"]["count"] >= 1


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_make_record_rejects_missing_required_field(field):
    fields = _required(device=DEVICE)
    del fields[field]
    with pytest.raises(ValueError, match=field):
        make_record(**fields)
    fields[field] = None
    with pytest.raises(ValueError, match="required"):
        make_record(**fields)


def test_make_record_rejects_unknown_fields():
    with pytest.raises(ValueError) as info:
        _record(accuracy=0.9, student_latency=3.0)
    message = str(info.value)
    assert "accuracy" in message and "student_latency" in message
    assert "extra" in message
    # Free-form data goes under `extra`.
    assert _record(extra={"accuracy": 0.9})["extra"] == {"accuracy": 0.9}


def test_append_record_builds_a_json_list(tmp_path):
    path = str(tmp_path / "sub" / "results.json")
    assert load_records(path) == []
    first = _record(student_metric=0.7, notes="first")
    second = _record(experiment="distill", student_metric=0.75, notes="second ü")
    out = append_record(first, path)
    assert len(out) == 1
    out = append_record(second, path)
    assert [r["notes"] for r in out] == ["first", "second ü"]
    with open(path, encoding="utf-8") as f:
        on_disk = json.load(f)
    assert on_disk == [first, second]
    assert load_records(path) == on_disk
    # Written atomically: no temporary file left behind.
    assert os.listdir(tmp_path / "sub") == ["results.json"]


def test_append_record_replace_keeps_one_record_per_method_in_place(tmp_path):
    path = str(tmp_path / "results.json")
    a = _record(experiment="grid", method="kd", notes="kd old")
    b = _record(experiment="grid", method="truncated", notes="truncated")
    c = _record(experiment="other", method="kd", notes="other experiment")
    for rec in (a, b, c, dict(a, notes="kd stale copy")):
        append_record(rec, path)
    out = append_record(dict(a, notes="kd new"), path, replace=True)
    # The first copy is replaced where it stood, the stale duplicate dropped,
    # records of other experiments or methods untouched.
    assert [r["notes"] for r in out] == ["kd new", "truncated", "other experiment"]
    assert load_records(path) == out
    # The same method at another depth is another record.
    out = append_record(dict(a, student_config={"layers": 2}), path, replace=True)
    assert len(out) == 4
    out = append_record(dict(a, student_config={"layers": 2}, notes="k2"), path, replace=True)
    assert len(out) == 4 and out[-1]["notes"] == "k2"
    # Without a match, replace=True appends; replace=False always appends.
    out = append_record(_record(experiment="grid", method="theseus"), path, replace=True)
    assert len(out) == 5
    assert len(append_record(dict(a, notes="kd again"), path)) == 6


def test_append_record_leaves_a_corrupt_file_untouched(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('[{"experiment": "x"},\n oops]', encoding="utf-8")
    with pytest.raises(ValueError):
        append_record(_record(), str(path))
    assert path.read_text(encoding="utf-8") == '[{"experiment": "x"},\n oops]'


def test_load_records_corrupt_json_names_file_and_line(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('[\n {"a": 1},\n {"b": }\n]\n', encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_records(str(path))
    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)


def test_load_records_requires_a_list(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"experiment": "x"}', encoding="utf-8")
    with pytest.raises(ValueError, match="list"):
        load_records(str(path))


def _records():
    return [
        _record(experiment="teacher_finetune", method="fine-tune", teacher_metric=0.8812,
                teacher_params=22713602, batch_size=32, sequence_length=128,
                latency_ms_teacher=41.25),
        _record(experiment="theseus", method="bert-of-theseus", teacher_metric=0.8812,
                student_metric=0.8571, student_config={"num_layers": 3, "hidden_dim": 384},
                teacher_params=22713602, student_params=17391362, latency_ms_teacher=41.25,
                latency_ms_student=20.5, batch_size=32, sequence_length=128,
                train_step_ratio=0.55, notes="3 of 6 layers replaced"),
        _record(experiment="theseus", method="distillation", teacher_metric=0.8812,
                student_metric=0.84, student_config="L3"),
    ]


def test_render_markdown_one_table_per_experiment():
    text = render_markdown(_records())
    lines = text.splitlines()
    assert lines[0] == "# Benchmark results"
    assert [line for line in lines if line.startswith("## ")] == [
        "## teacher_finetune", "## theseus"]
    headers = [i for i, line in enumerate(lines) if line.startswith("| method |")]
    assert len(headers) == 2
    # Every table row has as many cells as the header.
    n_cols = lines[headers[0]].count("|")
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| method")]
    assert len(rows) == 3
    assert all(row.count("|") == n_cols for row in rows)
    assert lines[headers[0] + 1].count("|") == n_cols
    # The theseus table holds its two rows, in record order.
    theseus = lines[headers[1] + 2:headers[1] + 4]
    assert theseus[0].startswith("| bert-of-theseus |")
    assert theseus[1].startswith("| distillation |")


def test_render_markdown_shows_the_numbers():
    text = render_markdown(_records())
    row = next(line for line in text.splitlines() if line.startswith("| bert-of-theseus"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["bert-of-theseus", "movie_reviews", "all_minilm_l6_v2",
                         "num_layers=3, hidden_dim=384"]
    assert cells[4] == "22713602 / 17391362"
    assert cells[5] == "test_accuracy"
    assert cells[6] == "0.8812"
    assert cells[7] == "0.8571"
    assert cells[8] == f"{0.8571 / 0.8812:.3f}"
    assert cells[9] == "41.2 / 20.5 (32×128)"
    assert cells[10] == "2.01"
    assert cells[11] == "0.55"
    assert cells[12] == "CPU (2×)"
    assert len(cells[13]) == 10  # YYYY-MM-DD
    assert "- 3 of 6 layers replaced" in text
    # Missing numbers are shown as a dash, not "None".
    teacher_row = next(line for line in text.splitlines() if line.startswith("| fine-tune"))
    assert "None" not in teacher_row
    assert "–" in teacher_row


def test_render_markdown_appends_notes_section():
    text = render_markdown(_records()[:1], notes="  Measured on a laptop.  \n")
    assert "## Notes\n\nMeasured on a laptop." in text
    assert "## Notes" not in render_markdown(_records()[:1])


def test_write_markdown_round_trip(tmp_path):
    json_path = str(tmp_path / "results.json")
    for rec in _records():
        append_record(rec, json_path)
    md_path = str(tmp_path / "RESULTS.md")
    assert write_markdown(json_path, md_path) == md_path
    with open(md_path, encoding="utf-8") as f:
        assert f.read() == render_markdown(load_records(json_path))


def test_append_record_accepts_numpy_values(tmp_path):
    import numpy as np

    from keras_theseus.reporting import append_record, load_records, make_record

    rec = make_record(experiment="e", method="m", dataset="d", teacher="t", metric="acc",
                      teacher_metric=0.9, device={"kind": "CPU"},
                      extra={"history": {"loss": [np.float32(0.5)]}, "arr": np.arange(3)})
    path = str(tmp_path / "r.json")
    append_record(rec, path)
    loaded = load_records(path)[0]
    assert loaded["extra"]["history"]["loss"] == [0.5] and loaded["extra"]["arr"] == [0, 1, 2]


def test_write_markdown_appends_notes_file(tmp_path):
    from keras_theseus.reporting import append_record, make_record, write_markdown

    path = str(tmp_path / "results.json")
    append_record(make_record(experiment="e", method="m", dataset="d", teacher="t",
                              metric="acc", teacher_metric=0.9, device={"kind": "CPU"}), path)
    (tmp_path / "notes.md").write_text("Where the time goes: attention.\n")
    md = tmp_path / "RESULTS.md"
    write_markdown(path, str(md))
    text = md.read_text()
    assert "## Notes" in text and "Where the time goes: attention." in text
    write_markdown(path, str(md), notes="explicit")
    assert "explicit" in md.read_text() and "attention" not in md.read_text()


def test_append_records_puts_a_grid_in_the_order_given(tmp_path):
    path = str(tmp_path / "results.json")
    k3 = {"layers": 3}
    old = [_record(experiment="grid", method=m, student_config=k3, notes=f"{m} old")
           for m in ("truncated", "theseus_kd")]
    other = _record(experiment="other", method="kd", notes="other experiment")
    for rec in (old[0], old[1], other):
        append_record(rec, path)
    # A later run adds `kd`, which the grid lists between the two: appended
    # one by one it would come last; as a group it takes the grid's order
    # in the places the grid's records hold, around the other experiment.
    new = [_record(experiment="grid", method=m, student_config=k3, notes=f"{m} new")
           for m in ("truncated", "kd", "theseus_kd")]
    out = append_records(new, path, replace=True)
    assert [r["notes"] for r in out] == [
        "truncated new", "kd new", "other experiment", "theseus_kd new"]
    assert load_records(path) == out
    # A record given twice is kept once, with its last value.
    out = append_records([new[0], dict(new[0], notes="truncated newest")], path,
                         replace=True)
    assert [r["notes"] for r in out][:2] == ["truncated newest", "kd new"]
    assert len(out) == 4
    # Without replace, the group is appended as given.
    out = append_records(new[:2], path)
    assert [r["notes"] for r in out][-2:] == ["truncated new", "kd new"]
    assert os.listdir(tmp_path) == ["results.json"]
