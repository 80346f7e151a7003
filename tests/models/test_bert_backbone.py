import keras
import keras_hub
import numpy as np
import pytest

from keras_theseus.models import ExactGeluBertBackbone


def tiny(**kwargs):
    config = dict(vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16,
                  intermediate_dim=32, max_sequence_length=12)
    config.update(kwargs)
    return ExactGeluBertBackbone(**config)


def _x():
    rng = np.random.default_rng(0)
    return {"token_ids": rng.integers(0, 50, (2, 8)).astype("int32"),
            "segment_ids": np.zeros((2, 8), "int32"),
            "padding_mask": np.array([[1] * 8, [1] * 5 + [0] * 3], "int32")}


def test_is_a_keras_hub_backbone_with_exact_gelu():
    backbone = tiny()
    assert isinstance(backbone, keras_hub.models.BertBackbone)
    dense = backbone.transformer_layers[0]._feedforward_intermediate_dense
    x = np.linspace(-3, 3, 7).astype("float32")
    np.testing.assert_allclose(dense.activation(x), keras.activations.gelu(x, approximate=False),
                               atol=1e-6)


def test_activation_changes_outputs_but_not_weights():
    exact = tiny()
    approx = tiny(hidden_activation="gelu_approximate")
    approx.set_weights(exact.get_weights())
    a = np.asarray(exact(_x())["sequence_output"])
    b = np.asarray(approx(_x())["sequence_output"])
    assert 0 < np.abs(a - b).max() < 0.05
    reference = keras_hub.models.BertBackbone(
        vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=12)
    reference.set_weights(exact.get_weights())
    np.testing.assert_allclose(b, reference(_x())["sequence_output"], atol=1e-6)


def test_keras_round_trip(tmp_path):
    backbone = tiny(hidden_activation="relu")
    path = str(tmp_path / "backbone.keras")
    backbone.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is ExactGeluBertBackbone
    assert loaded.hidden_activation == "relu"
    np.testing.assert_allclose(loaded(_x())["sequence_output"],
                               backbone(_x())["sequence_output"], atol=1e-6)


def test_bad_activation():
    with pytest.raises(ValueError, match="hidden_activation"):
        tiny(hidden_activation="gelu_fast_typo")


def test_key_dim_gives_fewer_heads_of_the_same_size():
    backbone = tiny(num_heads=1, key_dim=8)  # one head of 8 in a hidden of 16
    attention = backbone.transformer_layers[0]._self_attention_layer
    assert backbone.head_size == 8
    assert tuple(attention._query_dense.kernel.shape) == (16, 1, 8)
    assert tuple(attention._output_dense.kernel.shape) == (1, 8, 16)
    assert backbone(_x())["sequence_output"].shape == (2, 8, 16)


def test_weights_are_named_and_laid_out_as_keras_hubs_backbone(tmp_path):
    # Our encoder layer (free head size, fused FFN kernels) keeps keras-hub's
    # sub-layers, names and build order: a weights file of ours loads into
    # keras-hub's own BertBackbone, layer for layer.
    ours = tiny(key_dim=8)  # keras-hub's own head size
    assert isinstance(ours.transformer_layers[0], keras_hub.layers.TransformerEncoder)
    theirs = keras_hub.models.BertBackbone(vocabulary_size=50, num_layers=2, num_heads=2,
                                           hidden_dim=16, intermediate_dim=32,
                                           max_sequence_length=12)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    path = str(tmp_path / "ours.weights.h5")
    ours.save_weights(path)
    theirs.load_weights(path)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fused_ffn_equals_keras_dense():
    from keras_theseus.models.fused_dense import FusedDense

    backbone = tiny()
    fused = backbone.transformer_layers[0]._feedforward_intermediate_dense
    assert isinstance(fused, FusedDense)
    dense = keras.layers.Dense.from_config(fused.get_config())
    dense.build((None, None, 16))
    dense.set_weights(fused.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 5, 16)).astype("float32")
    np.testing.assert_allclose(fused(x), dense(x), atol=1e-6)
    assert fused.compute_output_shape((None, None, 16)) == (None, None, 32)


def test_key_dim_round_trip(tmp_path):
    backbone = tiny(num_heads=1, key_dim=4)
    path = str(tmp_path / "backbone.keras")
    backbone.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.key_dim == 4
    np.testing.assert_allclose(loaded(_x())["sequence_output"],
                               backbone(_x())["sequence_output"], atol=1e-6)


def test_bad_key_dim():
    with pytest.raises(ValueError, match="key_dim"):
        tiny(num_heads=1, key_dim=0)


def test_files_saved_with_the_old_class_name_load_and_predict_the_same():
    import os

    fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures", "legacy")
    with pytest.warns(DeprecationWarning, match="ExactGeluBertBackbone"):
        model = keras.saving.load_model(os.path.join(fixtures, "bert_backbone_classifier.keras"))
    assert isinstance(model.backbone, ExactGeluBertBackbone)
    x = {"token_ids": np.arange(16).reshape(2, 8) % 40,
         "segment_ids": np.zeros((2, 8), "int32"), "padding_mask": np.ones((2, 8), "int32")}
    expected = np.load(os.path.join(fixtures, "bert_backbone_classifier_logits.npy"))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)


def test_old_name_is_a_deprecated_alias():
    from keras_theseus import models

    with pytest.warns(DeprecationWarning, match="ExactGeluBertBackbone"):
        old = models.BertBackbone
    assert issubclass(old, ExactGeluBertBackbone)


def test_fused_encoder_refuses_another_head_size():
    from keras_theseus.models.transformer_encoder import FusedTransformerEncoder

    assert FusedTransformerEncoder.__name__ == "TransformerEncoder"  # keras-hub's file paths
    with pytest.raises(ValueError, match="HeadSizeTransformerEncoder. Received: key_dim=8"):
        FusedTransformerEncoder(intermediate_dim=32, num_heads=2, key_dim=8)
