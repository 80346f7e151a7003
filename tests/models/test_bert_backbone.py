import keras
import keras_hub
import numpy as np
import pytest

from keras_theseus.models import BertBackbone


def tiny(**kwargs):
    config = dict(vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16,
                  intermediate_dim=32, max_sequence_length=12)
    config.update(kwargs)
    return BertBackbone(**config)


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
    assert type(loaded) is BertBackbone
    assert loaded.hidden_activation == "relu"
    np.testing.assert_allclose(loaded(_x())["sequence_output"],
                               backbone(_x())["sequence_output"], atol=1e-6)


def test_bad_activation():
    with pytest.raises(ValueError, match="hidden_activation"):
        tiny(hidden_activation="gelu_fast_typo")
