"""Deduplication and deterministic, stratified, leak-free splits."""

import numpy as np
import pandas as pd
import pytest

from keras_theseus.datasets import TextClassificationData
from keras_theseus.datasets import deduplicate
from keras_theseus.datasets import split_frame
from keras_theseus.datasets.splits import build_dataset
from keras_theseus.datasets.splits import normalize_text


def _balanced_frame(n_pos=60, n_neg=40):
    texts = [f"positive sentence number {i}" for i in range(n_pos)]
    texts += [f"negative sentence number {i}" for i in range(n_neg)]
    labels = [1] * n_pos + [0] * n_neg
    return pd.DataFrame({"text": texts, "label": np.asarray(labels, "int32")})


# --------------------------------------------------------------------------
# normalize_text / deduplicate
# --------------------------------------------------------------------------


def test_normalize_text_collapses_and_strips_whitespace():
    assert normalize_text("  a \t b\r\n\n c  ") == "a b c"
    assert normalize_text("already clean") == "already clean"


def test_deduplicate_removes_whitespace_variants_and_keeps_first():
    frame = pd.DataFrame({
        "text": ["good film", "  good   film ", "good\tfilm\n", "bad film", "other"],
        "label": [1, 1, 1, 0, 1],
        "row": [0, 1, 2, 3, 4],
    })
    out, stats = deduplicate(frame)
    assert stats == {"duplicates": 2, "conflicts": 0, "conflicting_rows": 0}
    assert len(out) == 3
    # The first occurrence is kept, in original order, with a fresh index.
    assert out["row"].tolist() == [0, 3, 4]
    assert out["text"].tolist() == ["good film", "bad film", "other"]
    assert out.index.tolist() == [0, 1, 2]


def test_deduplicate_drops_every_copy_of_a_conflicting_text():
    frame = pd.DataFrame({
        "text": ["ambiguous", "ambiguous ", "ambiguous", "clear yes", "clear no",
                 "also ambiguous", " also  ambiguous", "clear yes"],
        "label": [1, 1, 0, 1, 0, 0, 1, 1],
    })
    out, stats = deduplicate(frame)
    assert stats["conflicts"] == 2  # two distinct texts seen with two labels
    assert stats["conflicting_rows"] == 5  # every copy of them
    assert stats["duplicates"] == 1  # the second "clear yes"
    assert sorted(out["text"]) == ["clear no", "clear yes"]
    assert not any("ambiguous" in t for t in out["text"])


def test_deduplicate_sentence_pairs_compare_both_columns():
    frame = pd.DataFrame({
        "a": ["x", "x", "x", "y"],
        "b": ["p", " p", "q", "p"],
        "label": [0, 0, 1, 1],
    })
    out, stats = deduplicate(frame, text_columns=("a", "b"))
    # ("x","p") twice -> one duplicate; ("x","q") differs only in the second column.
    assert stats == {"duplicates": 1, "conflicts": 0, "conflicting_rows": 0}
    assert list(zip(out["a"], out["b"])) == [("x", "p"), ("x", "q"), ("y", "p")]


def test_deduplicate_pairs_are_not_confused_by_column_boundaries():
    # "a b" + "c" and "a" + "b c" are different pairs even though the
    # concatenated text is the same.
    frame = pd.DataFrame({"a": ["a b", "a"], "b": ["c", "b c"], "label": [0, 1]})
    out, stats = deduplicate(frame, text_columns=("a", "b"))
    assert len(out) == 2
    assert stats["conflicts"] == 0


# --------------------------------------------------------------------------
# split_frame
# --------------------------------------------------------------------------


def _texts(splits):
    return {name: list(df["text"]) for name, df in splits.items()}


def test_split_frame_is_deterministic_for_a_seed():
    frame = _balanced_frame()
    a = split_frame(frame, seed=123)
    b = split_frame(frame, seed=123)
    assert _texts(a) == _texts(b)  # same members *and* same order


def test_split_frame_differs_for_another_seed():
    frame = _balanced_frame()
    a = split_frame(frame, seed=1)
    b = split_frame(frame, seed=2)
    assert set(a["test"]["text"]) != set(b["test"]["text"])
    # Sizes depend only on the fractions, not on the seed.
    assert {k: len(v) for k, v in a.items()} == {k: len(v) for k, v in b.items()}


def test_split_frame_is_stratified_with_expected_sizes():
    frame = _balanced_frame(n_pos=60, n_neg=40)
    splits = split_frame(frame, fractions=(0.8, 0.1, 0.1), seed=7)
    counts = {name: df["label"].value_counts().to_dict() for name, df in splits.items()}
    assert counts["train"] == {1: 48, 0: 32}
    assert counts["dev"] == {1: 6, 0: 4}
    assert counts["test"] == {1: 6, 0: 4}


def test_split_frame_uneven_fractions():
    frame = _balanced_frame(n_pos=50, n_neg=50)
    splits = split_frame(frame, fractions=(0.6, 0.3, 0.1), seed=0)
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [60, 30, 10]
    for name, df in splits.items():
        # Each label keeps its 50/50 share within each split.
        assert (df["label"] == 1).sum() == (df["label"] == 0).sum(), name


def test_split_frame_partitions_rows_without_leaks():
    frame = _balanced_frame(n_pos=37, n_neg=23)
    splits = split_frame(frame, seed=5)
    texts = _texts(splits)
    train, dev, test = (set(texts[s]) for s in ("train", "dev", "test"))
    assert not train & dev and not train & test and not dev & test
    assert train | dev | test == set(frame["text"])
    assert sum(len(v) for v in texts.values()) == len(frame)
    # Each row keeps its own label.
    truth = dict(zip(frame["text"], frame["label"]))
    for df in splits.values():
        assert all(truth[t] == y for t, y in zip(df["text"], df["label"]))
        assert df.index.tolist() == list(range(len(df)))


def test_split_frame_mixes_labels_within_a_split():
    frame = _balanced_frame(n_pos=100, n_neg=100)
    train = split_frame(frame, seed=3)["train"]["label"].tolist()
    # Not all negatives then all positives (label-sorted concatenation).
    assert train != sorted(train)
    assert train != sorted(train, reverse=True)


def test_split_frame_custom_label_column():
    frame = _balanced_frame().rename(columns={"label": "y"})
    splits = split_frame(frame, seed=0, label_column="y")
    assert sum(len(df) for df in splits.values()) == len(frame)
    assert splits["train"]["y"].value_counts().to_dict() == {1: 48, 0: 32}


@pytest.mark.parametrize("fractions", [
    (0.8, 0.2),
    (0.5, 0.3, 0.1, 0.1),
    (0.8, 0.1, 0.2),
    (0.9, 0.1, 0.0),
    (1.2, -0.1, -0.1),
])
def test_split_frame_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_frame(_balanced_frame(), fractions=fractions)


# --------------------------------------------------------------------------
# TextClassificationData
# --------------------------------------------------------------------------


def _data():
    return build_dataset("toy", _balanced_frame(n_pos=60, n_neg=40), ["neg", "pos"], seed=11)


def test_build_dataset_records_info_and_sizes():
    frame = pd.concat([_balanced_frame(), pd.DataFrame({"text": ["positive sentence number 0 "],
                                                        "label": [1]})])
    data = build_dataset("toy", frame, ["neg", "pos"], info={"source": "here"}, seed=11)
    assert data.info["source"] == "here"
    assert data.info["duplicates"] == 1
    assert data.info["rows"] == 100
    assert data.info["seed"] == 11
    assert data.info["fractions"] == [0.8, 0.1, 0.1]
    assert len(data.train) + len(data.dev) + len(data.test) == data.info["rows"]
    assert data.num_classes == 2
    assert data.text_columns == ("text",)


def test_split_by_name_and_bad_name_raises():
    data = _data()
    assert data.split("train") is data.train
    assert data.split("dev") is data.dev
    assert data.split("test") is data.test
    for bad in ("validation", "TRAIN", "", None):
        with pytest.raises(ValueError, match="split"):
            data.split(bad)


def test_summary_counts_per_split_and_label():
    data = _data()
    summary = data.summary()
    assert list(summary.index) == ["train", "dev", "test"]
    assert sorted(summary.columns) == ["neg", "pos"]
    assert summary.loc["train", "pos"] == 48 and summary.loc["train", "neg"] == 32
    assert summary.loc["dev", "pos"] == 6 and summary.loc["dev", "neg"] == 4
    assert summary.loc["test", "pos"] == 6 and summary.loc["test", "neg"] == 4
    assert int(summary.values.sum()) == 100


def test_summary_fills_missing_labels_with_zero():
    frame = pd.DataFrame({"text": ["a", "b", "c", "d", "e"], "label": [0, 0, 0, 0, 0]})
    dev = pd.DataFrame({"text": ["f"], "label": [1]})
    data = TextClassificationData(
        name="x", train=frame, dev=dev, test=frame.iloc[:0], label_names=["neg", "pos"])
    summary = data.summary()
    assert summary.loc["train", "neg"] == 5
    assert summary.loc["train", "pos"] == 0
    assert summary.loc["dev", "pos"] == 1
    assert summary.loc["test"].sum() == 0
