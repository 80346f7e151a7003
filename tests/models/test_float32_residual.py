"""Mixed precision with a float32 residual stream (PyTorch autocast's layout)."""

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from bert_fixtures import toy_batch
from bert_fixtures import toy_classifier as _classifier

from keras_theseus import distill
from keras_theseus import models
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.dynabert import extract_subnetwork
from keras_theseus.models.transformer_encoder import HeadSizeTransformerEncoder
from keras_theseus.theseus import TheseusClassifier
from keras_theseus.theseus import extract_successor
from keras_theseus.workflows.comparison_config import method_spec

BF16 = "mixed_bfloat16"
# Layers on the residual path (the attention's own probability dropout is
# not: it acts on bfloat16 scores, as under PyTorch's autocast).
RESIDUAL_LAYERS = {"token_embedding", "position_embedding", "segment_embedding",
                   "embeddings_add", "embeddings_layer_norm", "embeddings_dropout",
                   "self_attention_layer_norm", "self_attention_dropout",
                   "feedforward_layer_norm", "feedforward_dropout"}


def _assert_float32_residual(model):
    """Residual-path layers compute in float32, every matmul layer in bfloat16."""
    residual, half = [], []
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.Model):
            continue
        if layer.name in RESIDUAL_LAYERS:
            residual.append((layer.name, layer.compute_dtype))
        elif isinstance(layer, (keras.layers.Dense, keras.layers.MultiHeadAttention)):
            half.append((layer.name, layer.compute_dtype))
    assert {name for name, _ in residual} == RESIDUAL_LAYERS - (
        {"embeddings_add"} if isinstance(model, DynaBertClassifier) else set())
    assert half
    assert all(dtype == "float32" for _, dtype in residual), residual
    assert all(dtype == "bfloat16" for _, dtype in half), half


def test_float32_residual_keeps_the_stream_float32_and_the_matmuls_bfloat16(tmp_path):
    model = _classifier()
    x, _ = toy_batch(8)
    reference = np.asarray(model(x, training=False))
    plain = models.with_precision(model, BF16)
    mixed = models.with_precision(model, BF16, float32_residual=True)
    assert models.model_float32_residual(mixed) is True
    assert models.model_float32_residual(plain) is False
    _assert_float32_residual(mixed)
    outputs = mixed.backbone(x)
    assert outputs["sequence_output"].dtype == "float32"   # the residual stream
    assert outputs["pooled_output"].dtype == "bfloat16"    # a matmul's output
    assert plain.backbone(x)["sequence_output"].dtype == "bfloat16"
    np.testing.assert_allclose(np.asarray(tf.cast(mixed(x), "float32")), reference, atol=2e-2)
    # The same weights; float32 again gives the float32 model's outputs exactly.
    back = models.with_precision(mixed, "float32", float32_residual=False)
    np.testing.assert_array_equal(np.asarray(back(x)), reference)
    # The setting survives a .keras round trip.
    path = str(tmp_path / "residual.keras")
    mixed.save(path)
    loaded = keras.saving.load_model(path)
    assert models.model_float32_residual(loaded) is True
    np.testing.assert_array_equal(np.asarray(tf.cast(loaded(x), "float32")),
                                  np.asarray(tf.cast(mixed(x), "float32")))


def test_float32_residual_is_kept_by_theseus_the_distiller_and_dynabert():
    teacher = models.with_precision(_classifier(), BF16, float32_residual=True)
    x, y = toy_batch(32)
    theseus = TheseusClassifier.from_predecessor(teacher, 1, replacement_rate=0.5, seed=0,
                                                 kd_weight=1.0)
    theseus.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False,
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = theseus.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    successor = extract_successor(theseus)
    assert models.model_float32_residual(successor) is True
    _assert_float32_residual(successor)

    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    student, history = distill.distill_classifier(teacher, train, num_layers=1, epochs=1,
                                                  learning_rate=1e-3, jit_compile=False,
                                                  verbose=0)
    assert models.model_float32_residual(student) is True
    assert all(np.isfinite(v).all() for v in history.history.values())

    dynabert = DynaBertClassifier.from_classifier(teacher)
    assert dynabert.float32_residual
    assert dynabert.embed(x).dtype == "float32"
    sliced = dynabert.forward(x, 0.5, 0.5)
    small = extract_subnetwork(dynabert, 0.5, 0.5)
    assert models.model_float32_residual(small) is True
    np.testing.assert_allclose(np.asarray(tf.cast(sliced, "float32")),
                               np.asarray(tf.cast(small(x), "float32")), atol=2e-2)


def test_float32_residual_bad_values_are_refused_by_name():
    model = _classifier()
    with pytest.raises(ValueError, match="`float32_residual` must be None, True or False"):
        models.with_precision(model, BF16, float32_residual="yes")
    with pytest.raises(ValueError, match="`float32_residual` must be True or False"):
        models.ExactGeluBertBackbone(vocabulary_size=10, num_layers=1, num_heads=1,
                                     hidden_dim=4, intermediate_dim=8, float32_residual=1)
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="needs a model on a keras_theseus backbone"):
        models.with_precision(plain, BF16, float32_residual=True)


@pytest.mark.parametrize("entry, key", [
    ({"method": "kd", "float32_residual": True}, r"methods\[kd\]\.precision"),
    ({"method": "kd", "precision": "float32", "float32_residual": True},
     r"methods\[kd\]\.precision"),
    ({"method": "kd", "precision": BF16, "float32_residual": "yes"},
     r"methods\[kd\]\.float32_residual"),
])
def test_grid_float32_residual_needs_a_mixed_precision(entry, key):
    with pytest.raises(ValueError, match=key):
        method_spec(entry)


def test_float32_residual_keeps_the_fused_attention_and_bfloat16_matmuls(monkeypatch):
    """The fast paths survive the float32 stream: fused self-attention, bf16 slices."""
    from keras_theseus.dynabert import maskable_encoder
    from keras_theseus.models import fused_attention

    calls, matmul_dtypes = [], []
    fused = fused_attention.fused_self_attention
    matmul = fused_attention.matmul_bias_add

    def counting_fused(*args, **kwargs):
        calls.append(1)
        return fused(*args, **kwargs)

    def recording_matmul(x, kernel, bias):
        matmul_dtypes.append((x.dtype.name, kernel.dtype.name))
        return matmul(x, kernel, bias)

    monkeypatch.setattr(fused_attention, "fused_self_attention", counting_fused)
    monkeypatch.setattr(fused_attention, "matmul_bias_add", recording_matmul)
    monkeypatch.setattr(maskable_encoder, "matmul_bias_add", recording_matmul)
    teacher = models.with_precision(_classifier(), BF16, float32_residual=True)
    x, _ = toy_batch(4)
    teacher(x)
    assert len(calls) == 2  # one fused self-attention per encoder layer
    # The functional graph declares the float32 stream too.
    assert teacher.backbone.output["sequence_output"].dtype == "float32"

    dynabert = DynaBertClassifier.from_classifier(teacher)
    matmul_dtypes.clear()
    dynabert.forward(x, 0.5, 0.5)  # sliced kernels
    assert matmul_dtypes and set(matmul_dtypes) == {("bfloat16", "bfloat16")}
    dynabert.set_subnetwork(width=0.5, depth=0.5)  # the masked path (importance, training)
    logits = dynabert(x, training=True)
    assert np.isfinite(np.asarray(tf.cast(logits, "float32"))).all()


def test_float32_residual_layer_takes_half_precision_input_and_returns_float32():
    layer = HeadSizeTransformerEncoder(intermediate_dim=32, num_heads=2, dtype=BF16,
                                       float32_residual=True)
    y = layer(tf.ones((1, 4, 16), "bfloat16"))
    assert y.dtype == "float32"
    assert layer.get_config()["float32_residual"] is True


def test_float32_residual_false_is_always_accepted_and_true_is_never_dropped():
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    # Keras' own layout: asking for it on any model is no change of layout.
    half = models.with_precision(plain, BF16, float32_residual=False)
    assert half.layers[-1].compute_dtype == "bfloat16"
    assert half.inputs[0].dtype == "float32"
    method_spec({"method": "kd", "float32_residual": False})
    mixed = models.with_precision(_classifier(), BF16, float32_residual=True)
    with pytest.raises(ValueError, match="float32_residual=True"):
        models.drop_layers(mixed, [0], backbone_class=keras_hub.models.BertBackbone)
