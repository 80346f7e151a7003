import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_theseus.distill.masking import DistilBertMasker, count_tokens  # noqa: E402

VOCAB = 50
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL = [PAD, UNK, CLS, SEP, MASK]
FIRST_WORD = 5


def _batch(batch=512, seq_len=32, seed=0, min_len=16):
    """`[CLS] words... [SEP] [PAD]...` rows with a few [UNK]s inside."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_WORD, VOCAB, size=(batch, seq_len)).astype("int32")
    lengths = rng.integers(min_len, seq_len + 1, size=batch)
    ids[rng.random((batch, seq_len)) < 0.05] = UNK
    ids[:, 0] = CLS
    ids[np.arange(batch), lengths - 1] = SEP
    padding_mask = np.arange(seq_len)[None] < lengths[:, None]
    ids[~padding_mask] = PAD
    segment_ids = (np.arange(seq_len)[None] >= lengths[:, None] // 2).astype("int32") * padding_mask
    return {"token_ids": ids, "padding_mask": padding_mask, "segment_ids": segment_ids}


def _masker(**kwargs):
    kwargs.setdefault("special_token_ids", SPECIAL)
    kwargs.setdefault("seed", 0)
    return DistilBertMasker(VOCAB, MASK, **kwargs)


def _np(outputs):
    x, y, w = outputs
    return {k: np.asarray(v) for k, v in x.items()}, np.asarray(y), np.asarray(w)


def _check_consistent(inputs, x, y, w):
    """Structural invariants of one masked batch; returns the selection mask."""
    ids, pad = inputs["token_ids"], inputs["padding_mask"]
    pos = x["mask_positions"]
    valid = w > 0
    assert set(np.unique(w)) <= {0.0, 1.0}
    # Real selections come first (ascending, distinct); unused slots: 0 / 0 / 0.
    assert np.all(np.diff(valid.astype(int), axis=-1) <= 0)
    assert np.all(pos[~valid] == 0) and np.all(y[~valid] == 0)
    for row in range(ids.shape[0]):
        p = pos[row][valid[row]]
        assert np.all(np.diff(p) > 0)
    # y holds the original ids at the selected positions.
    np.testing.assert_array_equal(np.where(valid, np.take_along_axis(ids, pos, -1), 0), y)
    selected = np.zeros(ids.shape, bool)
    rows = np.broadcast_to(np.arange(ids.shape[0])[:, None], pos.shape)
    selected[rows[valid], pos[valid]] = True
    # Never padding, never special tokens; nothing else changes.
    assert not np.any(selected & ~pad)
    assert not np.any(selected & np.isin(ids, SPECIAL))
    np.testing.assert_array_equal(x["token_ids"][~selected], ids[~selected])
    np.testing.assert_array_equal(x["padding_mask"], pad)
    np.testing.assert_array_equal(x["segment_ids"], inputs["segment_ids"])
    return selected


def test_output_format_matches_bert_masked_lm_preprocessor():
    inputs = _batch(batch=4, seq_len=20)
    x, y, w = _masker()(inputs)
    assert sorted(x) == ["mask_positions", "padding_mask", "segment_ids", "token_ids"]
    assert x["token_ids"].dtype == tf.int32 and x["segment_ids"].dtype == tf.int32
    assert x["padding_mask"].dtype == tf.bool and x["mask_positions"].dtype == tf.int32
    assert y.dtype == tf.int32 and w.dtype == tf.float32
    assert x["mask_positions"].shape == y.shape == w.shape == (4, 3)  # ceil(0.15 * 20)
    assert x["token_ids"].shape == (4, 20)


def test_masked_fraction_and_exclusions():
    inputs = _batch()
    x, y, w = _np(_masker()(inputs))
    selected = _check_consistent(inputs, x, y, w)
    selectable = inputs["padding_mask"] & ~np.isin(inputs["token_ids"], SPECIAL)
    rate = selected.sum() / selectable.sum()
    assert abs(rate - 0.15) < 0.006, rate
    # Every sequence gets its own share (stochastic rounding of 0.15 * S).
    n = w.sum(-1)
    expected = 0.15 * selectable.sum(-1)
    assert np.all((n >= np.floor(expected)) & (n <= np.ceil(expected)))


def test_replacement_split_80_10_10():
    inputs = _batch()
    masker = _masker()
    kinds = np.zeros(3)
    for _ in range(3):
        x, y, w = _np(masker(inputs))
        valid = w > 0
        new = np.take_along_axis(x["token_ids"], x["mask_positions"], -1)[valid]
        orig = y[valid]
        # Random replacements never insert special tokens.
        assert not np.any(np.isin(new[new != MASK], SPECIAL))
        kinds += [(new == MASK).sum(), ((new != MASK) & (new != orig)).sum(), (new == orig).sum()]
    frac = kinds / kinds.sum()
    hit_self = 0.1 / (VOCAB - len(SPECIAL))  # a random token can equal the original
    np.testing.assert_allclose(frac, [0.8, 0.1 - hit_self, 0.1 + hit_self], atol=0.025)
    assert kinds.sum() > 4000


def test_frequent_tokens_are_selected_less_often():
    rng = np.random.default_rng(1)
    ids = rng.integers(7, VOCAB, size=(512, 32)).astype("int32")
    ids[:, 0], ids[:, -1] = CLS, SEP
    for row in ids:
        p = rng.permutation(np.arange(1, 31))[:8]
        row[p[:4]], row[p[4:]] = 5, 6
    counts = np.ones(VOCAB, "int64")
    counts[5], counts[6] = 10, 100
    masker = _masker(token_counts=counts, smoothing=0.7)
    np.testing.assert_allclose(masker.token_probs[6] / masker.token_probs[5], 10 ** -0.7)
    assert np.all(masker.token_probs[SPECIAL] == 0)
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids, bool)}
    sel_5 = sel_6 = 0
    for _ in range(60):
        _, y, w = _np(masker(inputs))
        sel_5 += ((y == 5) & (w > 0)).sum()
        sel_6 += ((y == 6) & (w > 0)).sum()
    # Both tokens occur equally often; selection rate ratio ~ (100 / 10) ** 0.7 = 5.0
    # (about 5% standard error here; 10 ** 0.5 and 10 ** 1 fall well outside).
    ratio = sel_5 / sel_6
    assert abs(ratio / 10 ** 0.7 - 1) < 0.2, (sel_5, sel_6, ratio)


def test_uniform_without_counts_or_with_zero_smoothing():
    counts = np.arange(VOCAB) * 100
    for masker in (_masker(), _masker(token_counts=counts, smoothing=0.0)):
        probs = masker.token_probs
        assert np.all(probs[SPECIAL] == 0)
        np.testing.assert_allclose(probs[FIRST_WORD:], 1 / (VOCAB - len(SPECIAL)))


def test_max_selections_caps_and_zero_rate():
    inputs = _batch(batch=64)
    x, y, w = _np(_masker(max_selections=2, mask_rate=0.5)(inputs))
    assert w.shape == (64, 2) and np.all(w == 1)
    _check_consistent(inputs, x, y, w)
    x, y, w = _np(_masker(max_selections=40)(inputs))  # more slots than positions
    assert w.shape == (64, 40)
    _check_consistent(inputs, x, y, w)
    x, y, w = _np(_masker(mask_rate=0.0)(inputs))
    assert np.all(w == 0)
    np.testing.assert_array_equal(x["token_ids"], inputs["token_ids"])


def test_rows_without_selectable_tokens():
    ids = np.array([[CLS, SEP, PAD, PAD], [CLS, 9, 10, SEP]], "int32")
    inputs = {"token_ids": ids, "padding_mask": ids != PAD, "segment_ids": np.zeros_like(ids)}
    x, y, w = _np(_masker(max_selections=2)(inputs))
    np.testing.assert_array_equal(w, [[0, 0], [1, 0]])  # at least one when possible
    _check_consistent(inputs, x, y, w)


def test_padding_mask_alone_excludes_pad_and_optional_keys():
    ids = np.full((8, 10), 7, "int32")
    pad = np.arange(10)[None] < 6
    masker = DistilBertMasker(VOCAB, MASK, mask_rate=0.5, seed=0)  # no special ids
    x, y, w = _np(masker({"token_ids": ids, "padding_mask": pad.astype("int32")}))
    assert np.all(x["mask_positions"][w > 0] < 6)
    assert x["padding_mask"].dtype == bool
    np.testing.assert_array_equal(x["segment_ids"], np.zeros_like(ids))
    x, y, w = _np(masker(tf.constant(ids, "int64")))  # bare ids: everything selectable
    assert x["padding_mask"].all() and w.shape == (8, 5) and x["token_ids"].dtype == np.int32


def test_unbatched_dataset_map_and_tf_function():
    inputs = _batch(batch=16, seq_len=12, min_len=8)
    masker = _masker()
    # Unbatched call.
    one = {k: v[0] for k, v in inputs.items()}
    x, y, w = _np(masker(one))
    assert x["token_ids"].shape == (12,) and y.shape == w.shape == (2,)
    _check_consistent({k: v[None] for k, v in one.items()},
                      {k: v[None] for k, v in x.items()}, y[None], w[None])
    # Map before and after batching.
    for ds in (tf.data.Dataset.from_tensor_slices(inputs).batch(4).map(masker),
               tf.data.Dataset.from_tensor_slices(inputs).map(masker).batch(4)):
        assert ds.element_spec[0]["mask_positions"].shape.as_list() in ([None, 2], [4, 2])
        seen = 0
        for batch_x, batch_y, batch_w in ds:
            start = seen
            seen += batch_y.shape[0]
            part = {k: v[start:seen] for k, v in inputs.items()}
            bx, by, bw = _np((batch_x, batch_y, batch_w))
            _check_consistent(part, bx, by, bw)
            assert bw.sum() > 0
        assert seen == 16
    # tf.function with a dynamic batch size.
    fn = tf.function(masker, input_signature=[{
        "token_ids": tf.TensorSpec([None, 12], tf.int32),
        "padding_mask": tf.TensorSpec([None, 12], tf.bool),
        "segment_ids": tf.TensorSpec([None, 12], tf.int32)}])
    _check_consistent(inputs, *_np(fn(inputs)))


def test_dynamic_length_requires_max_selections():
    spec = {"token_ids": tf.TensorSpec([None, None], tf.int32),
            "padding_mask": tf.TensorSpec([None, None], tf.bool)}
    with pytest.raises(ValueError, match="max_selections"):
        tf.function(_masker(), input_signature=[spec]).get_concrete_function()
    fn = tf.function(_masker(max_selections=3), input_signature=[spec])
    inputs = _batch(batch=8, seq_len=20)
    x, y, w = _np(fn({k: inputs[k] for k in spec}))
    assert w.shape == (8, 3)


def test_seeded_reproducibility():
    inputs = _batch(batch=32)
    a, b, c = _masker(seed=7), _masker(seed=7), _masker(seed=8)
    first_a, first_b = _np(a(inputs)), _np(b(inputs))
    second_a, second_b = _np(a(inputs)), _np(b(inputs))
    for left, right in ((first_a, first_b), (second_a, second_b)):
        np.testing.assert_array_equal(left[0]["token_ids"], right[0]["token_ids"])
        np.testing.assert_array_equal(left[0]["mask_positions"], right[0]["mask_positions"])
    # Fresh masks on each call, and a different seed gives different masks.
    assert not np.array_equal(first_a[0]["mask_positions"], second_a[0]["mask_positions"])
    assert not np.array_equal(first_a[0]["mask_positions"], _np(c(inputs))[0]["mask_positions"])


def test_config_round_trip():
    counts = np.arange(VOCAB)
    masker = _masker(token_counts=counts, smoothing=0.5, mask_rate=0.2, max_selections=6,
                     mask_token_rate=0.7, random_token_rate=0.2, seed=3, name="masker")
    config = masker.get_config()
    clone = DistilBertMasker.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_allclose(clone.token_probs, masker.token_probs)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(masker))
    assert isinstance(restored, DistilBertMasker) and restored.get_config() == config
    inputs = _batch(batch=8)
    np.testing.assert_array_equal(_np(masker(inputs))[0]["token_ids"],
                                  _np(restored(inputs))[0]["token_ids"])


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # unused pooler
def test_feeds_bert_masked_lm_fit():
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=32)
    model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="adam", weighted_metrics=["accuracy"])
    ds = tf.data.Dataset.from_tensor_slices(_batch(batch=16)).batch(8).map(_masker())
    history = model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_count_tokens():
    ids = np.array([[1, 2, 2], [3, 0, 0]])
    np.testing.assert_array_equal(count_tokens(ids, 5), [2, 1, 2, 1, 0])
    out = count_tokens([[1, 2, 2], [4]], 5)  # ragged nested list
    assert out.dtype == np.int64 and out.shape == (5,)
    np.testing.assert_array_equal(out, [0, 1, 2, 0, 1])
    pad = ids != 0
    np.testing.assert_array_equal(count_tokens({"token_ids": ids, "padding_mask": pad}, 5),
                                  [0, 1, 2, 1, 0])
    ds = tf.data.Dataset.from_tensor_slices({"token_ids": ids, "padding_mask": pad}).batch(1)
    np.testing.assert_array_equal(count_tokens(ds, 5), [0, 1, 2, 1, 0])
    labelled = tf.data.Dataset.from_tensor_slices(({"token_ids": ids}, [0, 1]))
    np.testing.assert_array_equal(count_tokens(labelled, 5), [2, 1, 2, 1, 0])
    np.testing.assert_array_equal(count_tokens(tf.data.Dataset.from_tensor_slices(ids), 5),
                                  [2, 1, 2, 1, 0])
    np.testing.assert_array_equal(count_tokens(tf.constant(ids), 6), [2, 1, 2, 1, 0, 0])
    # Counts plug into the masker.
    DistilBertMasker(5, 4, token_counts=count_tokens(ids, 5))


@pytest.mark.parametrize("ids, vocabulary_size, match", [
    ([[1, 5]], 5, "token_ids.*5"),
    ([[-1, 2]], 5, "token_ids.*-1"),
    ([[1, 2]], 0, "vocabulary_size"),
    ([[1, 2]], 2.5, "vocabulary_size"),
    ([[1, 2]], True, "vocabulary_size"),
])
def test_count_tokens_errors(ids, vocabulary_size, match):
    with pytest.raises(ValueError, match=match):
        count_tokens(ids, vocabulary_size)


@pytest.mark.parametrize("kwargs, match", [
    (dict(vocabulary_size=0), "vocabulary_size"),
    (dict(vocabulary_size=-3), "vocabulary_size"),
    (dict(mask_token_id=VOCAB), "mask_token_id"),
    (dict(mask_token_id=-1), "mask_token_id"),
    (dict(mask_rate=1.5), "mask_rate"),
    (dict(mask_rate=-0.1), "mask_rate"),
    (dict(mask_token_rate=1.1), "mask_token_rate"),
    (dict(random_token_rate=-0.2), "random_token_rate"),
    (dict(mask_token_rate=0.8, random_token_rate=0.3), "mask_token_rate \\+ random_token_rate"),
    (dict(smoothing=-0.1), "smoothing"),
    (dict(token_counts=np.ones(VOCAB - 1)), "token_counts.*50"),
    (dict(token_counts=-np.ones(VOCAB)), "token_counts"),
    (dict(special_token_ids=[VOCAB]), "special_token_ids"),
    (dict(max_selections=0), "max_selections"),
    (dict(seed=1.5), "seed"),
])
def test_bad_arguments(kwargs, match):
    args = dict(vocabulary_size=VOCAB, mask_token_id=MASK)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        DistilBertMasker(args.pop("vocabulary_size"), args.pop("mask_token_id"), **args)
