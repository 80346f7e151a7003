"""`freeze`: a model loaded with `trainable: False` in its config loses its trainable variables."""

import keras
import numpy as np
import pytest

from keras_theseus.models.freezing import freeze


@keras.saving.register_keras_serializable(package="keras_theseus_tests")
class _TwoDense(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)   # `trainable=False` lands before the sublayers exist
        self.first = keras.layers.Dense(4)
        self.second = keras.layers.Dense(2)

    def call(self, x):
        return self.second(self.first(x))


def test_freeze_reaches_the_sublayers_of_a_loaded_frozen_model(tmp_path):
    model = _TwoDense()
    model(np.zeros((1, 3), "float32"))
    model.trainable = False
    assert not model.trainable_weights
    path = str(tmp_path / "frozen.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.trainable is False
    frozen = freeze(loaded)
    assert frozen is loaded
    assert not any(v.trainable for v in loaded.weights)
    assert not any(layer.trainable for layer in (loaded.first, loaded.second))
    # A wrapper that tracks it lists none of its variables as trainable.
    wrapper = keras.Sequential([keras.Input((3,)), loaded, keras.layers.Dense(1)])
    assert len(wrapper.trainable_weights) == 2
    np.testing.assert_allclose(loaded(np.ones((1, 3), "float32")),
                               model(np.ones((1, 3), "float32")))


@keras.saving.register_keras_serializable(package="keras_theseus_tests")
class _Nested(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = _TwoDense(trainable=False)   # a sublayer frozen in its own config

    def call(self, x):
        return self.inner(x)


def test_freeze_reaches_nested_sublayers_already_marked_frozen(tmp_path):
    model = _Nested()
    model(np.zeros((1, 3), "float32"))
    model.trainable = False
    path = str(tmp_path / "nested.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    freeze(loaded)
    assert not any(v.trainable for v in loaded.weights)
    assert not any(layer.trainable for layer in (loaded.inner.first, loaded.inner.second))


def test_freeze_names_the_argument_on_bad_input():
    with pytest.raises(TypeError, match=r"`model` must be a keras.layers.Layer.*str"):
        freeze("teacher.keras")
