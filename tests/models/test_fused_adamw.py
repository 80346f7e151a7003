import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_theseus import models
from keras_theseus.models import FusedAdamW


def _train(optimizer_class, monkeypatch=None, **kwargs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)])
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 10, warmup_target=1e-2,
                                                      warmup_steps=3)
    model.compile(optimizer=optimizer_class(learning_rate=schedule, weight_decay=0.01,
                                            global_clipnorm=1.0, **kwargs),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(64, 5)).astype("float32")
    model.fit(x, np.arange(64) % 3, batch_size=16, epochs=3, verbose=0, shuffle=False)
    return model


def test_same_updates_as_keras_adamw_through_the_fused_kernel(monkeypatch):
    calls = []
    kernel = tf.raw_ops.ResourceApplyAdam
    monkeypatch.setattr(tf.raw_ops, "ResourceApplyAdam",
                        lambda **kw: calls.append(1) or kernel(**kw))
    fused = _train(FusedAdamW)
    assert calls and len(calls) % 4 == 0  # one fused update per variable, per trace
    reference = _train(keras.optimizers.AdamW)
    for a, b in zip(fused.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)
    # Slot variables (momentums, velocities) match too: checkpoints carry over.
    assert len(fused.optimizer.variables) == len(reference.optimizer.variables)
    for a, b in zip(fused.optimizer.variables, reference.optimizer.variables):
        assert a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-6)


def test_amsgrad_uses_keras_update(monkeypatch):
    monkeypatch.setattr(tf.raw_ops, "ResourceApplyAdam",
                        lambda **kw: pytest.fail("the fused kernel has no AMSGrad"))
    fused = _train(FusedAdamW, amsgrad=True)
    reference = _train(keras.optimizers.AdamW, amsgrad=True)
    for a, b in zip(fused.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bert_optimizer_is_fused_and_models_round_trip(tmp_path):
    optimizer = models.bert_optimizer(1e-4, total_steps=10, global_clipnorm=1.0)
    assert isinstance(optimizer, FusedAdamW)
    again = FusedAdamW.from_config(optimizer.get_config())
    assert again.get_config() == optimizer.get_config()
    model = _train(FusedAdamW)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, FusedAdamW)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _embedding_step(strategy=None):
    # Row 0 occurs twice in the gradient, as a repeated token id does.
    scope = strategy.scope() if strategy is not None else tf.init_scope()
    with scope:
        variable = keras.Variable(np.zeros((2, 1), "float32"))
        optimizer = FusedAdamW(learning_rate=0.1, weight_decay=0.0)
    gradient = tf.IndexedSlices(tf.constant([[1.0], [1.0]]), tf.constant([0, 0]),
                                tf.constant([2, 1]))
    if strategy is None:
        optimizer.apply_gradients([(gradient, variable)])
    else:
        strategy.run(lambda: optimizer.apply_gradients([(gradient, variable)]))
    return np.asarray(variable.numpy()).ravel()


def test_repeated_embedding_rows_get_adams_update_on_both_paths():
    # Adam's first step moves a row with a non-zero summed gradient by lr.
    # Keras 3.15's own Adam moves it by sqrt(2)·lr here (it squares the two
    # slices apart); the Keras path under a strategy sums them first.
    expected = [-0.1, 0.0]
    np.testing.assert_allclose(_embedding_step(), expected, atol=1e-5)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    np.testing.assert_allclose(_embedding_step(strategy), expected, atol=1e-5)
