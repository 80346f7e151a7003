"""CLUE loaders on fixture files in the official format (tests/fixtures/clue)."""

import json
import os
import shutil

import numpy as np
import pytest

from keras_theseus.datasets import clue
from keras_theseus.datasets.clue import load_clue
from keras_theseus.datasets.clue import mark_wsc_spans
from keras_theseus.datasets.clue import validate_clue_submission
from keras_theseus.datasets.clue import write_clue_submission

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "clue")


def _first_line(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(f.readline())


@pytest.mark.parametrize("task,pair,classes,dev_rows", [
    ("afqmc", True, 2, 8), ("tnews", False, 15, 8), ("iflytek", False, 119, 8),
    ("cmnli", True, 3, 7), ("ocnli", True, 3, 7), ("csl", True, 2, 8),
    ("cluewsc2020", False, 2, 8),
])
def test_every_task_loads(task, pair, classes, dev_rows):
    data = load_clue(task, FIXTURES)
    assert data.num_classes == classes == len(data.label_codes)
    assert (len(data.train), len(data.dev), len(data.test)) == (16, dev_rows, 6)
    assert data.text_columns == (("text_a", "text_b") if pair else ("text_a",))
    assert (data.test["label"] == -1).all()
    for split in (data.train, data.dev):
        assert split["label"].between(0, classes - 1).all()
        codes = [data.label_codes[i] for i in split["label"]]
        assert codes == split["label_code"].tolist()
    # The first train line's label survives the round trip code -> index -> code.
    train_file = os.path.join(FIXTURES, task, data.info["train_file"])
    assert data.train["label_code"][0] == _first_line(train_file)["label"]


def test_task_dir_or_parent_both_work():
    a = load_clue("afqmc", FIXTURES)
    b = load_clue("AFQMC", os.path.join(FIXTURES, "afqmc"))
    assert a.train.equals(b.train) and a.name == b.name


def test_pairs_keep_both_sentences():
    data = load_clue("afqmc", FIXTURES)
    first = _first_line(os.path.join(FIXTURES, "afqmc", "train.json"))
    assert data.train["text_a"][0] == first["sentence1"]
    assert data.train["text_b"][0] == first["sentence2"]
    assert data.test["id"].tolist() == [0, 1, 2, 3, 4, 5]


def test_tnews_labels_come_from_labels_file():
    data = load_clue("tnews", FIXTURES)
    assert len(data.label_codes) == 15 and "105" not in data.label_codes
    assert "111" not in data.label_codes
    assert data.label_names[data.label_codes.index("102")] == "news_entertainment"
    first = _first_line(os.path.join(FIXTURES, "tnews", "train.json"))
    assert data.label_code(data.train["label"][0]) == first["label"] == "108"


def test_tnews_without_labels_file_uses_the_official_codes(tmp_path):
    shutil.copytree(os.path.join(FIXTURES, "tnews"), tmp_path / "tnews")
    os.remove(tmp_path / "tnews" / "labels.json")
    data = load_clue("tnews", str(tmp_path))
    assert data.label_codes == load_clue("tnews", FIXTURES).label_codes


def test_iflytek_keeps_line_separator_inside_a_sentence():
    data = load_clue("iflytek", FIXTURES)
    assert len(data.test) == 6  # a splitlines() reader would see 7+ lines
    assert "\u2028" in data.test["text_a"].iloc[-1]
    assert data.label_names[:3] == ["打车", "地图导航", "免费WIFI"]


def test_nli_drops_no_majority_rows():
    for task in ("ocnli", "cmnli"):
        data = load_clue(task, FIXTURES)
        assert data.info["no_majority_dropped"] == {"train": 0, "dev": 1}
        assert set(data.label_codes) == {"entailment", "neutral", "contradiction"}
        assert "-" not in data.dev["label_code"].tolist()
    assert load_clue("ocnli", FIXTURES).info["train_file"] == "train.50k.json"


def test_csl_keywords_joined_with_fullwidth_semicolon():
    data = load_clue("csl", FIXTURES)
    first = _first_line(os.path.join(FIXTURES, "csl", "dev.json"))
    assert data.dev["text_a"][0] == "；".join(first["keyword"])
    assert data.dev["text_b"][0] == first["abst"]
    assert data.test["id"].tolist()[0] == 2415  # CSL test ids are shuffled


def test_wsc_marks_spans_like_the_clue_baseline():
    data = load_clue("cluewsc2020", FIXTURES)
    assert data.train["text_a"][0] == "裂开的_伤口_涂满尘土，里面有碎石子和木头刺，我小心翼翼把[它们]剔除出去。"
    assert data.test["id"].tolist() == [1, 2, 3, 4, 5, 6]  # test uses "id", not "idx"
    # pronoun before the candidate
    target = {"span1_index": 2, "span1_text": "老李", "span2_index": 0, "span2_text": "他"}
    assert mark_wsc_spans("他说老李来了", target) == "[他]说_老李_来了"


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _task_copy(tmp_path, task):
    shutil.copytree(os.path.join(FIXTURES, task), tmp_path / task)
    return tmp_path / task


@pytest.mark.parametrize("bad_line,message", [
    ('{"sentence1": "a", "sentence2": "b", "label": "0"', "invalid JSON"),
    ('{"sentence1": "a", "label": "0"}', "missing field 'sentence2'"),
    ('{"sentence1": "a", "sentence2": "b", "label": "2"}', "label '2' is not one of"),
    ('{"sentence1": "a", "sentence2": 3, "label": "0"}', "field 'sentence2' must be str"),
    ('["a", "b"]', "expected a JSON object"),
])
def test_malformed_line_names_file_and_line(tmp_path, bad_line, message):
    d = _task_copy(tmp_path, "afqmc")
    lines = (d / "dev.json").read_text(encoding="utf-8").splitlines()
    lines[2] = bad_line
    _write(d / "dev.json", lines)
    with pytest.raises(ValueError, match=rf"dev\.json: line 3: .*{message}"):
        load_clue("afqmc", str(tmp_path))


def test_bad_wsc_span_names_file_and_line(tmp_path):
    d = _task_copy(tmp_path, "cluewsc2020")
    lines = (d / "train.json").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[4])
    record["target"]["span2_index"] += 1
    lines[4] = json.dumps(record, ensure_ascii=False)
    _write(d / "train.json", lines)
    with pytest.raises(ValueError, match=r"train\.json: line 5: span2_text"):
        load_clue("cluewsc2020", str(tmp_path))


def test_invalid_utf8_names_line(tmp_path):
    d = _task_copy(tmp_path, "tnews")
    with open(d / "test.json", "ab") as f:
        f.write(b'{"id": 9, "sentence": "\xff\xfe", "keywords": ""}\n')
    with pytest.raises(ValueError, match=r"test\.json: line 7: not valid UTF-8"):
        load_clue("tnews", str(tmp_path))


def test_blank_lines_are_skipped(tmp_path):
    d = _task_copy(tmp_path, "afqmc")
    text = (d / "test.json").read_text(encoding="utf-8")
    (d / "test.json").write_text("\n" + text + "\n\n", encoding="utf-8")
    assert len(load_clue("afqmc", str(tmp_path)).test) == 6


def test_missing_files_and_unknown_task_raise_clearly(tmp_path):
    with pytest.raises(ValueError, match="Unknown CLUE task 'glue'.*afqmc"):
        load_clue("glue", FIXTURES)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_clue("afqmc", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"afqmc_public\.zip"):
        load_clue("afqmc", str(tmp_path))
    d = _task_copy(tmp_path, "csl")
    os.remove(d / "train.json")
    with pytest.raises(FileNotFoundError, match=r"train\.json.*csl_public\.zip"):
        load_clue("csl", str(tmp_path))


def test_labels_file_with_foreign_codes_raises(tmp_path):
    d = _task_copy(tmp_path, "tnews")
    with open(d / "labels.json", "a", encoding="utf-8") as f:
        f.write('\n{"label": "105", "label_desc": "news_x"}\n')
    with pytest.raises(ValueError, match=r"labels\.json: label codes \['105'\]"):
        load_clue("tnews", str(tmp_path))


def test_fingerprint_separates_different_data(tmp_path):
    d = _task_copy(tmp_path, "afqmc")
    lines = (d / "train.json").read_text(encoding="utf-8").splitlines()
    _write(d / "train.json", lines[:-1])
    assert load_clue("afqmc", str(tmp_path)).name != load_clue("afqmc", FIXTURES).name


def test_submission_round_trip(tmp_path):
    data = load_clue("tnews", FIXTURES)
    logits = np.eye(15)[[0, 3, 14, 5, 6, 1]]
    path = tmp_path / data.task.submission_name
    write_clue_submission(str(path), data, logits)
    lines = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"id": 0, "label": data.label_codes[0]}
    assert [l["label"] for l in lines] == [data.label_codes[i] for i in (0, 3, 14, 5, 6, 1)]
    assert validate_clue_submission(str(path), data) == 6
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_clue_submission(str(path), data, logits)
    write_clue_submission(str(path), data, np.zeros(6, int), overwrite=True)


def test_submission_rejects_bad_predictions_and_files(tmp_path):
    data = load_clue("afqmc", FIXTURES)
    with pytest.raises(ValueError, match="one class per test row \\(6\\)"):
        write_clue_submission(str(tmp_path / "a.json"), data, np.zeros(5, int))
    with pytest.raises(ValueError, match="class indices in \\[0, 2\\)"):
        write_clue_submission(str(tmp_path / "a.json"), data, np.full(6, 2))
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": 0, "label": "1"}\n{"id": 0, "label": "1"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: duplicate id 0"):
        validate_clue_submission(str(bad), data)
    bad.write_text('{"id": 0, "label": "yes"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: label 'yes'"):
        validate_clue_submission(str(bad), data)
    bad.write_text('{"id": 0, "label": "1"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="missing e.g. \\[1, 2"):
        validate_clue_submission(str(bad), data)


def test_tf_dataset_packs_pairs_and_test_has_no_labels(tiny_checkpoint):
    from keras_theseus.models import load_preprocessor

    data = load_clue("afqmc", FIXTURES)
    pre = load_preprocessor(tiny_checkpoint, sequence_length=24)
    x, y = next(iter(data.tf_dataset("train", pre, batch_size=4)))
    assert x["token_ids"].shape == (4, 24) and y.shape == (4,)
    # two segments: segment id 1 appears
    assert int(np.asarray(x["segment_ids"]).max()) == 1
    test = next(iter(data.tf_dataset("test", pre, batch_size=8)))
    assert isinstance(test, dict) and test["token_ids"].shape[0] == 6
    assert data.summary().loc["test", "total"] == 6


def test_clue_tasks_table_matches_the_loader():
    assert set(clue.CLUE_TASKS) == {"afqmc", "tnews", "iflytek", "cmnli", "ocnli", "csl",
                                    "cluewsc2020"}
