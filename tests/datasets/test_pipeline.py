"""Tokenized tf.data pipelines built with a real keras-hub preprocessor."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from keras_theseus.datasets import make_tf_dataset
from keras_theseus.datasets.splits import build_dataset

SEQ_LEN = 16
CLS, SEP = 101, 102  # MiniLM / bert-base-uncased ids


@pytest.fixture(scope="module")
def preprocessor():
    from keras_theseus.models import load_preprocessor

    try:
        return load_preprocessor(sequence_length=SEQ_LEN)
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture
def frame():
    return pd.DataFrame({
        "text": ["the movie was good", "a bad film", "ok then", "great acting",
                 "boring plot", "i loved it", "terrible"],
        "second": ["i agree", "no way", "fine", "yes", "indeed", "me too", "sure"],
        "label": [1, 0, 1, 1, 0, 1, 0],
    })


def _batches(ds):
    return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in ds]


def test_labelled_single_sentences(preprocessor, frame):
    batches = _batches(make_tf_dataset(frame, preprocessor, batch_size=3))
    assert [len(y) for _, y in batches] == [3, 3, 1]
    for x, y in batches:
        assert set(x) == {"token_ids", "segment_ids", "padding_mask"}
        for value in x.values():
            assert value.shape == (len(y), SEQ_LEN)
        assert x["token_ids"].dtype == np.int32
        assert y.dtype == np.int32
        assert (x["token_ids"][:, 0] == CLS).all()
        assert (x["segment_ids"] == 0).all()
        # The mask covers exactly the non-padding tokens.
        assert ((x["token_ids"] != 0) == x["padding_mask"].astype(bool)).all()
    labels = np.concatenate([y for _, y in batches]).tolist()
    assert labels == frame["label"].tolist()  # no shuffling by default


def test_tokens_match_the_preprocessor_directly(preprocessor, frame):
    (x, _), = _batches(make_tf_dataset(frame.iloc[:2], preprocessor, batch_size=2))
    direct = preprocessor(tf.constant(frame["text"].iloc[:2].tolist()))
    np.testing.assert_array_equal(x["token_ids"], np.asarray(direct["token_ids"]))
    # "the movie was good" -> [CLS] + 4 word pieces + [SEP].
    assert x["padding_mask"][0].sum() == 6
    assert x["token_ids"][0, 5] == SEP


def test_sentence_pairs_have_segment_ones(preprocessor, frame):
    ds = make_tf_dataset(frame, preprocessor, text_columns=("text", "second"), batch_size=4)
    batches = _batches(ds)
    assert [len(y) for _, y in batches] == [4, 3]
    for x, _ in batches:
        assert x["token_ids"].shape[1] == SEQ_LEN
        for row_ids, row_seg in zip(x["token_ids"], x["segment_ids"]):
            assert row_seg.max() == 1
            seps = np.flatnonzero(row_ids == SEP)
            assert len(seps) == 2
            # Segment 0 up to and including the first [SEP], 1 up to the second.
            assert (row_seg[:seps[0] + 1] == 0).all()
            assert (row_seg[seps[0] + 1:seps[1] + 1] == 1).all()
    # Pairs are longer than the first sentence alone.
    (single, _), = _batches(make_tf_dataset(frame.iloc[:1], preprocessor, batch_size=1))
    assert batches[0][0]["padding_mask"][0].sum() > single["padding_mask"][0].sum()


def test_unlabelled_single_sentences(preprocessor, frame):
    frame = frame.drop(columns=["label"])
    batches = _batches(make_tf_dataset(frame, preprocessor, label_column=None, batch_size=4))
    assert len(batches) == 2
    for x in batches:
        assert isinstance(x, dict)
        assert x["token_ids"].shape[1] == SEQ_LEN
    assert batches[0]["token_ids"].shape[0] == 4 and batches[1]["token_ids"].shape[0] == 3


def test_unlabelled_sentence_pairs(preprocessor, frame):
    ds = make_tf_dataset(frame, preprocessor, text_columns=("text", "second"),
                         label_column=None, batch_size=4)
    x = next(iter(ds))
    assert isinstance(x, dict)
    assert x["segment_ids"].numpy().max() == 1


def test_drop_remainder_and_shuffle_is_seeded(preprocessor, frame):
    ds = make_tf_dataset(frame, preprocessor, batch_size=3, drop_remainder=True)
    assert [len(y) for _, y in _batches(ds)] == [3, 3]

    def order(seed):
        ds = make_tf_dataset(frame, preprocessor, batch_size=7, shuffle=True, seed=seed)
        (x, y), = _batches(ds)
        return x["token_ids"].tolist(), y.tolist()

    a, b = order(1), order(1)
    assert a == b
    # A shuffle keeps the rows (as a multiset) and their labels together.
    (x0, y0), = _batches(make_tf_dataset(frame, preprocessor, batch_size=7))
    unshuffled = sorted(zip(map(tuple, x0["token_ids"].tolist()), y0.tolist()))
    assert sorted(zip(map(tuple, a[0]), a[1])) == unshuffled
    assert any(order(s) != (x0["token_ids"].tolist(), y0.tolist()) for s in (1, 2, 3))


def test_text_classification_data_tf_dataset(preprocessor, frame):
    big = pd.DataFrame({
        "text": [f"sentence number {i} is {'good' if i % 2 else 'bad'}" for i in range(40)],
        "label": [i % 2 for i in range(40)],
    })
    data = build_dataset("toy", big, ["neg", "pos"])
    batches = _batches(data.tf_dataset("test", preprocessor, batch_size=8))
    assert sum(len(y) for _, y in batches) == len(data.test)
    with pytest.raises(ValueError, match="split"):
        data.tf_dataset("validation", preprocessor)


def test_missing_columns_raise_key_error(preprocessor, frame):
    with pytest.raises(KeyError, match="nope"):
        make_tf_dataset(frame, preprocessor, text_columns=("nope",))
    with pytest.raises(KeyError, match="target"):
        make_tf_dataset(frame, preprocessor, label_column="target")
    with pytest.raises(KeyError, match="label"):
        make_tf_dataset(frame.drop(columns=["label"]), preprocessor)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, "8", True, None])
def test_bad_batch_size_raises(preprocessor, frame, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        make_tf_dataset(frame, preprocessor, batch_size=batch_size)


@pytest.mark.parametrize("columns", [(), ("text", "second", "label")])
def test_bad_text_columns_raise(preprocessor, frame, columns):
    with pytest.raises(ValueError, match="text_columns"):
        make_tf_dataset(frame, preprocessor, text_columns=columns)


def test_train_split_drops_partial_batch_others_keep_every_row(preprocessor, frame):
    from keras_theseus.datasets import TextClassificationData

    data = TextClassificationData("toy", frame, frame, frame, ["a", "b"])
    train = [y for _, y in _batches(data.tf_dataset("train", preprocessor, batch_size=3))]
    dev = [y for _, y in _batches(data.tf_dataset("dev", preprocessor, batch_size=3))]
    assert all(len(y) == 3 for y in train) and sum(map(len, train)) == len(frame) // 3 * 3
    assert sum(map(len, dev)) == len(frame)
    spec = data.tf_dataset("train", preprocessor, batch_size=3).element_spec
    assert spec[0]["token_ids"].shape[0] == 3  # static batch size


def _rows(batches):
    """`{tokens without padding: (label, padded width)}` over all batches."""
    rows = {}
    for x, y in batches:
        for ids, mask, label in zip(x["token_ids"], x["padding_mask"], y):
            rows[tuple(ids[mask.astype(bool)])] = (int(label), len(ids))
    return rows


def test_bucketing_pads_each_batch_to_its_bucket_only(preprocessor):
    long = "the movie was good and the acting was great and the plot was fun"
    frame = pd.DataFrame({"text": ["ok", "bad", long, "fine film", long + " !", "yes"],
                          "label": [0, 1, 1, 0, 1, 0]})
    plain = _batches(make_tf_dataset(frame, preprocessor, batch_size=4))
    bucketed = _batches(make_tf_dataset(frame, preprocessor, batch_size=4,
                                        bucket_widths=(8, SEQ_LEN)))
    # Same rows, same labels, same real tokens; only the padding differs.
    assert {k: v[0] for k, v in _rows(bucketed).items()} == \
        {k: v[0] for k, v in _rows(plain).items()}
    widths = sorted(x["token_ids"].shape[1] for x, _ in bucketed)
    assert widths == [8, SEQ_LEN]
    for x, _ in bucketed:
        lengths = x["padding_mask"].sum(1)
        # The smallest bucket that holds the batch's longest sentence.
        assert x["token_ids"].shape[1] == (8 if lengths.max() <= 8 else SEQ_LEN)
        assert ((x["token_ids"] != 0) == x["padding_mask"].astype(bool)).all()
        assert (x["segment_ids"] == 0).all()


def test_bucketing_with_pairs_unlabelled_and_static_batches(preprocessor, frame):
    pairs = _batches(make_tf_dataset(frame, preprocessor, text_columns=("text", "second"),
                                     batch_size=2, bucket_widths=(12, SEQ_LEN)))
    assert sum(len(y) for _, y in pairs) == len(frame)
    assert any(x["segment_ids"].max() == 1 for x, _ in pairs)
    unlabelled = _batches(make_tf_dataset(frame, preprocessor, label_column=None,
                                          batch_size=3, bucket_widths=(8, SEQ_LEN)))
    assert sum(len(x["token_ids"]) for x in unlabelled) == len(frame)
    ds = make_tf_dataset(frame, preprocessor, batch_size=2, drop_remainder=True,
                         bucket_widths=(8, SEQ_LEN))
    assert ds.element_spec[0]["token_ids"].shape.as_list() == [2, None]
    assert all(len(y) == 2 for _, y in _batches(ds))


def test_bucketed_evaluation_equals_padded_evaluation(preprocessor, frame):
    from keras_theseus import models

    backbone = models.ExactGeluBertBackbone(vocabulary_size=30522, num_layers=1, num_heads=2,
                                            hidden_dim=16, intermediate_dim=32,
                                            max_sequence_length=SEQ_LEN)
    classifier = models.build_text_classifier(backbone, 2)
    models.compile_text_classifier(classifier)
    plain = classifier.evaluate(make_tf_dataset(frame, preprocessor, batch_size=4),
                                verbose=0, return_dict=True)
    bucketed = classifier.evaluate(
        make_tf_dataset(frame, preprocessor, batch_size=4, bucket_widths=(8, SEQ_LEN)),
        verbose=0, return_dict=True)
    assert bucketed["accuracy"] == plain["accuracy"]
    np.testing.assert_allclose(bucketed["loss"], plain["loss"], rtol=1e-5)


@pytest.mark.parametrize("widths", [(), (8, 8, SEQ_LEN), (16, 8), (0, SEQ_LEN), (8, 12),
                                    (8.0, SEQ_LEN)])
def test_bad_bucket_widths_raise(preprocessor, frame, widths):
    with pytest.raises(ValueError, match="bucket_widths"):
        make_tf_dataset(frame, preprocessor, bucket_widths=widths)


def test_bucketed_dataset_knows_its_number_of_batches(preprocessor, frame):
    for drop in (False, True):
        ds = make_tf_dataset(frame, preprocessor, batch_size=2, shuffle=True,
                             drop_remainder=drop, bucket_widths=(6, SEQ_LEN))
        assert int(ds.cardinality()) == len(_batches(ds)) > 0


def test_bucket_by_length_on_pretokenized_examples():
    from keras_theseus.datasets import bucket_by_length

    lengths = [3, 9, 4, 12, 2]
    mask = np.array([[1] * n + [0] * (12 - n) for n in lengths], "int32")
    x = {"token_ids": mask * 7, "segment_ids": np.zeros_like(mask), "padding_mask": mask}
    ds = bucket_by_length(tf.data.Dataset.from_tensor_slices(x), (4, 12), batch_size=2)
    batches = _batches(ds)
    assert int(ds.cardinality()) == len(batches) == 3
    # Lengths 3, 4, 2 share the width-4 bucket; 9 and 12 the width-12 one.
    assert sorted(b["token_ids"].shape for b in batches) == [(1, 4), (2, 4), (2, 12)]
    assert sorted(int(n) for b in batches for n in b["padding_mask"].sum(1)) == sorted(lengths)
    with pytest.raises(ValueError, match="more than the last of `bucket_widths`"):
        bucket_by_length(tf.data.Dataset.from_tensor_slices(x), (4, 8), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        bucket_by_length(tf.data.Dataset.from_tensor_slices(x), (4, 12), batch_size=0)
