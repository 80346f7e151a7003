"""Theseus + KD: the replacing phase also fits the predecessor's soft targets."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from theseus_fixtures import compile_theseus
from theseus_fixtures import tiny_classifier
from theseus_fixtures import toy_batch

from keras_theseus.theseus import TheseusClassifier


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _first_step_loss(model, x, y):
    # SGD at lr 0: the reported loss is the loss of the untouched weights.
    model.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.train_on_batch(x, y, return_dict=True)["loss"]


@pytest.mark.parametrize("label_weight", [0.0, 0.5])
def test_loss_is_label_term_plus_tempered_kl(predecessor, label_weight):
    model = TheseusClassifier.from_predecessor(
        predecessor, 2, replacement_rate=1.0, init="every_rth", seed=0,
        kd_weight=2.0, label_weight=label_weight, temperature=3.0)
    x, y = toy_batch(8)
    # Numpy reference: the teacher is the all-predecessor path, the student
    # at p = 1 the successors (dropout is 0 in the tiny model).
    t = model.forward(x, tf.constant([False, False])).numpy() / 3.0
    s = model.forward(x, None).numpy()
    kl = (np.exp(_log_softmax(t)) * (_log_softmax(t) - _log_softmax(s / 3.0))).sum(-1).mean()
    ce = -_log_softmax(s)[np.arange(8), y].mean()
    expected = label_weight * ce + 2.0 * 9.0 * kl
    assert _first_step_loss(model, x, y) == pytest.approx(expected, rel=1e-4)
    # The predecessor path really is the fine-tuned predecessor.
    np.testing.assert_allclose(t * 3.0, predecessor(x).numpy(), atol=1e-5)


def test_kd_trains_successors_toward_the_predecessor():
    # A fine-tuned predecessor (a random tiny one gives logits near 0).
    x, y = toy_batch(32)
    predecessor = tiny_classifier(seed=3)
    predecessor.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.
                        SparseCategoricalCrossentropy(from_logits=True))
    predecessor.fit(x, y, batch_size=8, epochs=30, verbose=0)
    t = predecessor(x).numpy()
    model = compile_theseus(TheseusClassifier.from_predecessor(
        predecessor, 2, replacement_rate=1.0, init="random", seed=1, kd_weight=1.0,
        label_weight=0.0), learning_rate=3e-3)

    def gap():
        return float(np.abs(model.predict(x, verbose=0) - t).mean())

    before = gap()
    model.fit(x, y, batch_size=8, epochs=6, verbose=0)
    assert gap() < 0.5 * before


def test_kd_settings_survive_a_keras_round_trip(predecessor, tmp_path):
    model = TheseusClassifier.from_predecessor(predecessor, 2, kd_weight=0.7,
                                               label_weight=0.3, temperature=4.0)
    path = str(tmp_path / "kd.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert (loaded.kd_weight, loaded.label_weight, loaded.temperature) == (0.7, 0.3, 4.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"kd_weight": -1.0}, "`kd_weight` must be a number >= 0"),
    ({"label_weight": "1"}, "`label_weight` must be a number >= 0"),
    ({"kd_weight": 0.0, "label_weight": 0.0}, "At least one of `kd_weight`"),
    ({"kd_weight": 1.0, "temperature": 0}, "`temperature` must be a number > 0"),
])
def test_bad_kd_arguments(predecessor, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TheseusClassifier.from_predecessor(predecessor, 2, **kwargs)
