import doctest
import logging

import numpy as np
import pandas as pd
import pytest

from keras_theseus.distill import pair_augmentation
from keras_theseus.distill.pair_augmentation import augment_pairs


def pairs(rows, **columns):
    frame = pd.DataFrame(rows, columns=["text_a", "text_b", "label"])
    for name, values in columns.items():
        frame[name] = values
    return frame


def added(result):
    """Added rows as a set of (text_a, text_b, label, source)."""
    new = result[result["augmentation"] != "original"]
    return set(zip(new.text_a, new.text_b, new.label.tolist(), new.augmentation))


def unordered(result, source=None):
    new = result[result["augmentation"] != "original"]
    if source is not None:
        new = new[new.augmentation == source]
    return {(frozenset((a, b)), y) for a, b, y in zip(new.text_a, new.text_b, new.label)}


def test_symmetry_adds_reversed_rows_with_same_label():
    frame = pairs([("a", "b", 1), ("c", "d", 0), ("c", "d", 0), ("e", "f", 1), ("f", "e", 0)])
    result = augment_pairs(frame, transitivity=False)
    assert added(result) == {("b", "a", 1, "symmetry"), ("d", "c", 0, "symmetry")}
    # originals first, unchanged, then the added rows
    assert result["augmentation"].tolist() == ["original"] * 5 + ["symmetry"] * 2
    pd.testing.assert_frame_equal(
        result.iloc[:5].drop(columns="augmentation"), frame, check_index_type=False)
    assert result["label"].dtype == frame["label"].dtype
    assert isinstance(result.index, pd.RangeIndex)
    stats = result.attrs["augmentation_stats"]
    assert stats["symmetry"] == 2 and stats["original"] == 5
    assert stats["conflicting_pairs"] == 1  # e/f labelled both ways: no symmetric copies


def test_transitivity_exact_output_on_hand_made_graph():
    frame = pairs([
        ("a", "b", 1), ("b", "c", 1),  # component {a, b, c}
        ("d", "e", 1),                 # component {d, e}
        ("c", "d", 0),                 # {a,b,c} !~ {d,e}
        ("f", "g", 0), ("g", "h", 0),  # two negatives: nothing follows
    ])
    result = augment_pairs(frame, symmetry=False)
    assert added(result) == {
        ("a", "c", 1, "transitive_positive"),
        ("a", "d", 0, "transitive_negative"),
        ("a", "e", 0, "transitive_negative"),
        ("b", "d", 0, "transitive_negative"),
        ("b", "e", 0, "transitive_negative"),
        ("c", "e", 0, "transitive_negative"),
    }
    # positive rows before negative rows, fixed order
    assert result["augmentation"].tolist()[6:] == (
        ["transitive_positive"] + ["transitive_negative"] * 5)
    stats = result.attrs["augmentation_stats"]
    assert stats["transitive_positive"] == 1 and stats["transitive_negative"] == 5
    assert stats["candidates"] == {
        "symmetry": 0, "transitive_positive": 1, "transitive_negative": 5}
    assert stats["positive_components"] == 2
    assert not stats["capped"]

    both = augment_pairs(frame)
    assert added(both) == added(result) | {
        ("b", "a", 1, "symmetry"), ("c", "b", 1, "symmetry"), ("e", "d", 1, "symmetry"),
        ("d", "c", 0, "symmetry"), ("g", "f", 0, "symmetry"), ("h", "g", 0, "symmetry")}


def test_never_infers_from_two_negatives():
    frame = pairs([("a", "b", 0), ("b", "c", 0), ("c", "a2", 0), ("x", "b", 0)])
    result = augment_pairs(frame, symmetry=False)
    assert len(result) == len(frame)
    assert result.attrs["augmentation_stats"]["candidates"]["transitive_negative"] == 0


def test_dedup_in_both_orders_and_no_self_pairs():
    frame = pairs([
        ("a", "b", 1), ("b", "c", 1), ("c", "a", 1),  # a~c already there, reversed
        ("b", "a", 1),                                # both orders of a/b
        ("a", "a", 1),                                # self pair
        ("c", "d", 0), ("d", "a", 2),                 # a/d present with an ignored label
    ])
    result = augment_pairs(frame, ignore_labels=(2,))
    new = result[result.augmentation != "original"]
    assert (new.text_a != new.text_b).all()
    # no added row repeats an input pair in the same order
    input_ordered = set(zip(frame.text_a, frame.text_b))
    assert not set(zip(new.text_a, new.text_b)) & input_ordered
    # inferred rows never repeat an input pair in either order, nor each other
    inferred = new[new.augmentation != "symmetry"]
    keys = [frozenset(p) for p in zip(inferred.text_a, inferred.text_b)]
    assert len(keys) == len(set(keys))
    assert not set(keys) & {frozenset(p) for p in input_ordered}
    assert added(result) == {
        ("c", "b", 1, "symmetry"), ("a", "c", 1, "symmetry"), ("d", "c", 0, "symmetry"),
        ("b", "d", 0, "transitive_negative"),
    }
    stats = result.attrs["augmentation_stats"]
    assert stats["self_pairs"] == 1 and stats["ignored_rows"] == 1


def test_normalize_merges_spellings_and_uses_first_spelling():
    frame = pairs([("Hello ", "hi", 1), ("hi", "hey", 1), ("hello", "bye", 0)])
    exact = augment_pairs(frame, symmetry=False)
    assert added(exact) == {("Hello ", "hey", 1, "transitive_positive")}

    result = augment_pairs(frame, symmetry=False, normalize=lambda t: t.strip().lower())
    assert added(result) == {
        ("Hello ", "hey", 1, "transitive_positive"),
        ("hi", "bye", 0, "transitive_negative"),
        ("hey", "bye", 0, "transitive_negative"),
    }


def chain_frame(n_positive, n_other):
    """A chain of `n_positive` similar texts, one dissimilar edge to a second chain."""
    rows = [(f"p{i}", f"p{i + 1}", 1) for i in range(n_positive - 1)]
    rows += [(f"q{i}", f"q{i + 1}", 1) for i in range(n_other - 1)]
    rows.append(("p0", "q0", 0))
    return pairs(rows)


@pytest.mark.parametrize("size, cap, listed", [
    (30, 20, True), (30, 700, True), (30, 20, False), (3000, 40, False)])
def test_cap_respected_deterministic_and_a_subset(size, cap, listed, monkeypatch):
    # `listed`: the draw is taken from a list of all candidates; else by rejection
    if not listed:
        monkeypatch.setattr(pair_augmentation, "_SMALL_POOL", -10**9)
    frame = chain_frame(size, size)
    first = augment_pairs(frame, max_new=cap, seed=7)
    again = augment_pairs(frame, max_new=cap, seed=7)
    other = augment_pairs(frame, max_new=cap, seed=8)
    assert len(first) == len(frame) + cap
    pd.testing.assert_frame_equal(first, again)
    assert added(first) != added(other)
    stats = first.attrs["augmentation_stats"]
    assert stats["capped"]
    assert stats["symmetry"] + stats["transitive_positive"] + stats["transitive_negative"] == cap
    n = size
    assert stats["candidates"] == {
        "symmetry": 2 * (n - 1) + 1,
        "transitive_positive": 2 * (n * (n - 1) // 2 - (n - 1)),
        "transitive_negative": n * n - 1,
    }
    new = first[first.augmentation != "original"]
    assert (new.text_a != new.text_b).all()
    assert len(set(zip(new.text_a, new.text_b))) == cap
    if size <= 30:
        assert added(first) <= added(augment_pairs(frame))


def test_uncapped_and_zero_cap():
    frame = chain_frame(10, 5)
    full = augment_pairs(frame)
    stats = full.attrs["augmentation_stats"]
    assert len(full) - len(frame) == sum(stats["candidates"].values()) == 14 + 36 + 6 + 49
    assert augment_pairs(frame, max_new=10**9).equals(full)
    none = augment_pairs(frame, max_new=0)
    assert len(none) == len(frame) and none.attrs["augmentation_stats"]["capped"]


def test_conflicts_detected_and_not_propagated(caplog):
    frame = pairs([
        ("a", "b", 1), ("a", "b", 0),                 # same pair, both labels
        ("b", "c", 0), ("c", "d", 1),                 # would give a!~c, a!~d, b!~d
        ("x", "y", 1), ("y", "z", 1), ("z", "x", 0),  # x~y~z but x!~z
        ("z", "w", 0), ("w", "v", 1),                 # would give x!~w, ...
        ("s", "s", 0),                                # a text unlike itself
        ("s", "t", 1), ("t", "u", 1),                 # would give s~u
    ])
    with caplog.at_level(logging.WARNING, logger=pair_augmentation.__name__):
        result = augment_pairs(frame)
    assert "no pairs were inferred" in caplog.text
    assert added(result) == {
        ("c", "b", 0, "symmetry"), ("d", "c", 1, "symmetry"),
        ("y", "x", 1, "symmetry"), ("z", "y", 1, "symmetry"), ("x", "z", 0, "symmetry"),
        ("w", "z", 0, "symmetry"), ("v", "w", 1, "symmetry"),
        ("t", "s", 1, "symmetry"), ("u", "t", 1, "symmetry"),
    }
    stats = result.attrs["augmentation_stats"]
    assert stats["conflicting_pairs"] == 1
    assert stats["inconsistent_components"] == 3
    assert stats["inconsistent_texts"] == 2 + 3 + 3
    assert stats["transitive_positive"] == stats["transitive_negative"] == 0
    # the input rows are all kept
    assert (result.augmentation == "original").sum() == len(frame)


def test_nli_labels_need_mapping():
    frame = pairs([("a", "b", "entailment"), ("b", "c", "entailment"), ("c", "d", "neutral"),
                   ("d", "e", "contradiction")])
    with pytest.raises(ValueError, match="positive_label"):
        augment_pairs(frame)
    with pytest.raises(ValueError, match="neutral"):
        augment_pairs(frame, positive_label="entailment", negative_label="contradiction")
    result = augment_pairs(frame, positive_label="entailment", negative_label="contradiction",
                           ignore_labels=("neutral",), symmetry=False)
    assert added(result) == {("a", "c", "entailment", "transitive_positive")}


def test_three_class_integer_labels_raise():
    frame = pairs([("a", "b", 0), ("b", "c", 1), ("c", "d", 2)])
    with pytest.raises(ValueError, match=r"`label`.*\[2\]"):
        augment_pairs(frame)


def test_bad_inputs_raise():
    frame = pairs([("a", "b", 1)])
    with pytest.raises(TypeError, match="DataFrame"):
        augment_pairs([("a", "b", 1)])
    with pytest.raises(TypeError, match="DataFrame"):
        augment_pairs(frame.to_dict())
    with pytest.raises(ValueError, match="'sentence1'.*text_a"):
        augment_pairs(frame, text_a="sentence1")
    with pytest.raises(ValueError, match="'text_b'"):
        augment_pairs(frame.drop(columns="text_b"))
    with pytest.raises(ValueError, match="'gold'.*label"):
        augment_pairs(frame, label="gold")
    with pytest.raises(ValueError, match="'text_a'.*missing"):
        augment_pairs(pairs([(None, "b", 1)]))
    with pytest.raises(ValueError, match="'label'.*missing"):
        augment_pairs(pairs([("a", "b", np.nan)]))
    with pytest.raises(ValueError, match="must differ"):
        augment_pairs(frame, positive_label=0, negative_label=0)
    with pytest.raises(ValueError, match="max_new"):
        augment_pairs(frame, max_new=-1)
    with pytest.raises(TypeError, match="max_new"):
        augment_pairs(frame, max_new=0.5)
    with pytest.raises(TypeError, match="seed"):
        augment_pairs(frame, seed="x")
    with pytest.raises(TypeError, match="normalize"):
        augment_pairs(frame, normalize="lower")
    with pytest.raises(ValueError, match="source_column"):
        augment_pairs(frame.assign(augmentation="x"))


def test_input_not_modified_and_extra_columns():
    frame = pairs([("a", "b", 1), ("b", "c", 1), ("c", "d", 0)], pair_id=[10, 11, 12])
    frame.index = [5, 3, 9]
    frame.attrs["name"] = "train"
    before = frame.copy(deep=True)
    result = augment_pairs(frame, seed=np.int64(3), max_new=np.int64(4))
    pd.testing.assert_frame_equal(frame, before)
    assert frame.attrs == {"name": "train"}
    assert list(result.columns) == ["text_a", "text_b", "label", "pair_id", "augmentation"]
    assert result.pair_id.iloc[:3].tolist() == [10, 11, 12]
    assert result.pair_id.iloc[3:].isna().all()

    only_new = augment_pairs(frame, keep_original=False)
    assert set(only_new.augmentation) <= {"symmetry", "transitive_positive",
                                          "transitive_negative"}
    assert list(only_new.columns) == list(result.columns)
    assert added(only_new) == added(augment_pairs(frame))
    assert only_new.attrs["augmentation_stats"]["original"] == 3


def test_empty_frame():
    frame = pairs([])
    result = augment_pairs(frame)
    assert result.empty and "augmentation" in result.columns


def test_docstring_example_runs():
    failures, tried = doctest.testmod(pair_augmentation)
    assert tried > 0 and failures == 0


def test_augmented_pairs_feed_the_pair_pipeline():
    import keras_hub
    from bert_fixtures import TINY_VOCAB

    from keras_theseus.datasets.splits import TextClassificationData

    frame = pd.DataFrame({
        "text_a": ["the movie was great", "the movie was great", "i loved it"],
        "text_b": ["i loved it", "the plot was boring", "very fun"],
        "label": [1, 0, 1],
    })
    train = augment_pairs(frame, max_new=10).drop(columns="augmentation")
    assert len(train) > len(frame)
    data = TextClassificationData("pairs", train, frame, frame, ["different", "similar"],
                                  text_columns=("text_a", "text_b"))
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=TINY_VOCAB), sequence_length=16)
    x, y = next(iter(data.tf_dataset("train", preprocessor, batch_size=4)))
    assert tuple(x["token_ids"].shape) == (4, 16)
    assert set(x["segment_ids"].numpy().ravel()) == {0, 1}   # two segments per example
