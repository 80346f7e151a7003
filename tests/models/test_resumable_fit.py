"""fit_resumable: an interrupted fit continued from its backup ends where a straight one does."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from bert_fixtures import toy_batch

from keras_theseus import models
from keras_theseus.models import fit_resumable
from keras_theseus.models.resumable_fit import backed_up_epochs


def _classifier(dropout=0.1, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=60, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=12, dropout=dropout)
    return models.build_text_classifier(backbone, 2, dropout=dropout)


def _data():
    x, y = toy_batch(64, length=10)
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(
        64, seed=0, reshuffle_each_iteration=True).batch(16, drop_remainder=True)


class _StopAfter(keras.callbacks.Callback):
    """Ctrl-C at the end of epoch `epoch` (after the backup was written)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _train(backup_dir, interrupt_after=None):
    def attempt(callbacks):
        model = _classifier()
        models.compile_text_classifier(model, learning_rate=1e-3, total_steps=16)
        fit_resumable(model, _data(), backup_dir, epochs=4, verbose=0, callbacks=callbacks)
        return model

    if interrupt_after is not None:
        with pytest.raises(KeyboardInterrupt):
            attempt([_StopAfter(interrupt_after)])
    return attempt([])


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted 4-epoch run every interrupted one must end at."""
    return _train(str(tmp_path_factory.mktemp("straight")))


def test_resumed_fit_equals_a_straight_one_with_dropout_and_shuffling(tmp_path, straight):
    resumed = _train(str(tmp_path / "resumed"), interrupt_after=1)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations.numpy()) == 16


@pytest.mark.parametrize("interrupted", ["after_the_weights", "before_the_seed_states"])
def test_a_run_killed_while_saving_its_backup_resumes_from_the_last_complete_one(
        tmp_path, monkeypatch, interrupted, straight):
    """SIGTERM can land mid-save: the epoch-2 backup half written, epoch 1 must be used."""
    saves = []
    if interrupted == "after_the_weights":
        save_weights = keras.Model.save_weights

        def write_then_stop(self, *args, **kwargs):
            save_weights(self, *args, **kwargs)
            saves.append(1)
            if len(saves) == 2:
                raise KeyboardInterrupt
        monkeypatch.setattr(keras.Model, "save_weights", write_then_stop)
    else:
        savez = np.savez

        def stop_then_write(*args, **kwargs):
            saves.append(1)
            if len(saves) == 2:
                raise KeyboardInterrupt
            savez(*args, **kwargs)
        monkeypatch.setattr(np, "savez", stop_then_write)
    with pytest.raises(KeyboardInterrupt):
        _train(str(tmp_path / "resumed"))
    monkeypatch.undo()
    assert backed_up_epochs(str(tmp_path / "resumed")) == 1
    resumed = _train(str(tmp_path / "resumed"))
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations.numpy()) == 16
    assert sorted(os.listdir(tmp_path / "resumed")) == [
        "epoch-4.seeds.npz", "epoch-4.weights.h5", "training_metadata.json"]


def test_a_finished_stage_is_restored_not_retrained(tmp_path):
    first = _train(str(tmp_path / "b"))
    again = _train(str(tmp_path / "b"))   # the backup says 4 of 4 epochs are done
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_dynabert_resumes_with_its_masks(tmp_path):
    from keras_theseus.dynabert import train_dynabert

    teacher = _classifier(dropout=0.0, seed=1)
    x, y = toy_batch(32, length=10)
    dev = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)

    def run(backup, callbacks=None):
        keras.utils.set_random_seed(0)
        # A fresh process would build its datasets anew: each run does.
        data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(32, seed=0).batch(
            8, drop_remainder=True)
        return train_dynabert(teacher, data, dev, widths=[1.0, 0.5], depths=[1.0, 0.5],
                              width_epochs=1, depth_epochs=2, learning_rate=1e-3,
                              jit_compile=False, verbose=0, backup_dir=backup,
                              callbacks=callbacks)

    straight = run(str(tmp_path / "straight")).model

    class StopInDepthPhase(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if self.params["epochs"] == 2 and epoch == 0:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(str(tmp_path / "resumed"), [StopInDepthPhase()])
    resumed = run(str(tmp_path / "resumed")).model
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_needs_a_dataset_of_known_length(tmp_path):
    model = _classifier()
    models.compile_text_classifier(model)
    x, y = toy_batch(16, length=10)
    unknown = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).filter(lambda a, b: True)
    with pytest.raises(ValueError, match="finite dataset of known length"):
        fit_resumable(model, unknown, str(tmp_path), epochs=1, verbose=0)
