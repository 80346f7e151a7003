"""`model.fit` that continues after an interruption exactly where it stopped."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from keras_theseus.distribute.keras_patches import is_multi_worker
from keras_theseus.distribute.strategies import is_chief
from keras_theseus.utils import write_json_atomically


def backed_up_epochs(backup_dir):
    """Epochs a `BackupAndRestore` directory has finished (0 if none)."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.isfile(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return int(json.load(f)["epoch"])


def _seed_states(model):
    # Dropout layers draw from SeedGenerator state variables, which
    # `save_weights` leaves out.
    return [generator.state for layer in model._flatten_layers(include_self=True)
            for generator in layer._seed_generators]


class _ChiefBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose backup is all-or-nothing, written by the chief only.

    Each epoch's backup is the weights (with the optimizer state) and the
    dropout layers' seed states, in files named by the epoch; it counts
    once `training_metadata.json` names that epoch, and that file is
    replaced atomically, last. Keras' own callback writes the weights over
    the previous epoch's and then the metadata: a run killed between the two
    (SIGTERM lands anywhere) resumed from new weights under the old epoch
    count, and seed states saved by a second callback could likewise belong
    to another epoch than the weights. Here a run killed at any point resumes
    from the last complete backup.

    Keras 3's callback also has every worker of a multi-worker run write
    the same files; workers sharing the directory would write over each
    other. Here every worker restores and only the chief writes.
    """

    def _epoch_paths(self, epoch):
        stem = os.path.join(self.backup_dir, f"epoch-{epoch}")
        return stem + ".weights.h5", stem + ".seeds.npz"

    def on_train_begin(self, logs=None):
        # No fall-back to a previous weights file as in the parent: the
        # backup the metadata names was complete before the metadata named it.
        self._load_model()

    def _load_model(self):
        epoch = backed_up_epochs(self.backup_dir)
        if epoch == 0:
            return
        if not self.model.built:
            raise ValueError("To restore from a backup the model must be built before `fit`.")
        weights_path, seeds_path = self._epoch_paths(epoch)
        if not os.path.isfile(weights_path):
            raise ValueError(
                f"{self._training_metadata_path} says epoch {epoch} is backed up, but "
                f"{weights_path} is missing: this backup was written by another version "
                "of keras_theseus or altered; delete the directory to start the stage over.")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights_path)
        saved = np.load(seeds_path)
        states = _seed_states(self.model)
        if len(saved.files) != len(states):
            raise ValueError(f"{seeds_path} holds {len(saved.files)} seed states; the "
                             f"model has {len(states)}: it is not this model's backup.")
        for i, state in enumerate(states):
            state.assign(saved[f"s{i}"])
        self.model._initial_epoch = epoch

    def _save_model(self):
        if not is_chief(self.model.distribute_strategy):
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        epoch = self._current_epoch
        weights_path, seeds_path = self._epoch_paths(epoch)
        self.model.save_weights(weights_path, overwrite=True)
        np.savez(seeds_path, **{f"s{i}": np.asarray(state.numpy())
                                for i, state in enumerate(_seed_states(self.model))})
        write_json_atomically(self._training_metadata_path,   # the commit
                              {"epoch": epoch, "batch": 0}, indent=None)
        for name in os.listdir(self.backup_dir):
            if name.startswith("epoch-") and not name.startswith(f"epoch-{epoch}."):
                os.remove(os.path.join(self.backup_dir, name))


def shard_by_data(dataset):
    """`dataset` with `AutoShardPolicy.DATA`: every worker reads it whole and keeps its share of each batch.

    Each global batch is then the batch a one-device run sees, split over
    the replicas, whatever the dataset's source (FILE sharding would give
    workers different files, so other batches).
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def stage_dir(backup_dir, stage):
    """`<backup_dir>/<stage>`, or None without a backup directory."""
    return None if backup_dir is None else os.path.join(backup_dir, stage)


def fit_resumable(model, train_data, backup_dir=None, callbacks=None, **fit_kwargs):
    """`model.fit(train_data, ...)`, resumable from `backup_dir`.

    With `backup_dir`, a `keras.callbacks.BackupAndRestore` saves the model,
    its optimizer state and every variable it owns (a Theseus model's
    replacement step, DynaBERT's masks) after each epoch, with the dropout
    layers' seed states beside it (`save_weights` leaves them out), and
    keeps them after training (`delete_checkpoint=False`). An epoch's
    backup counts only once all of it is written, so a run killed at any
    moment, mid-save included, resumes from the last complete epoch. A second call
    with the same directory restores them and trains only the
    remaining epochs; a finished stage trains none and returns with its
    final weights, so a multi-stage recipe can simply be re-run.

    The training order is restored too: with `backup_dir` the dataset is
    read as one repeated stream (`repeat()`, `steps_per_epoch` its length),
    a resumed fit skips the finished epochs' batches, and the resumed epochs
    see what they would have seen. Without that, a resumed run would repeat
    epoch 1's order and end elsewhere. (The stream's epoch orders are other
    draws of the same seeded shuffle than a plain `fit` takes, so a run with
    `backup_dir` and one without differ like two seeds' orders.)

    Under a multi-worker strategy every worker restores from `backup_dir`
    (a directory all workers read: a shared filesystem, or the same path
    on one machine) and only the chief writes it; `train_data` is sharded
    by data (`shard_by_data`), so each global batch is the one-device
    batch split over the replicas.

    Args:
        model: a compiled, built Keras model.
        train_data: the training `tf.data.Dataset` (the same object for all
            stages that share it, as in an uninterrupted run).
        backup_dir: where the backup lives; None is a plain `fit`.
        callbacks: extra callbacks.
        **fit_kwargs: passed to `fit` (`epochs`, `validation_data`, ...).

    Returns:
        The `History` of the epochs trained by this call.

    Example:
    ```python
    history = fit_resumable(model, train_ds, "run/checkpoints/finetune", epochs=3)
    # killed in epoch 3? the same call trains epoch 3 only, in the same order
    ```
    """
    callbacks = list(callbacks or [])
    if is_multi_worker(model.distribute_strategy):
        train_data = shard_by_data(train_data)
    if backup_dir is not None:
        done = min(backed_up_epochs(backup_dir), fit_kwargs.get("epochs", 1))
        steps = int(train_data.cardinality())
        if steps < 1:
            raise ValueError("A resumable `fit` needs a finite dataset of known length "
                             f"(cardinality {steps}); use `assert_cardinality` or pass "
                             "`backup_dir=None`.")
        # Keras makes a fresh iterator (a new shuffle order) for each epoch of
        # a finite dataset, and one more at each epoch's end that it drops,
        # so epoch k reads the shuffle stream's (2k-1)-th order. One iterator
        # over `repeat()` reads orders 1, 2, 3, ...: skipping the finished
        # epochs' batches then starts exactly where the interrupted run was.
        epochs = fit_kwargs.get("epochs", 1)
        if done == epochs:
            # A finished stage trains nothing, but a later stage reading the
            # same dataset must find its shuffle where the uninterrupted run
            # left it: every iteration of a dataset object (and of datasets
            # made from it) draws the next order, and the uninterrupted fit
            # drew one per epoch plus one more, started by Keras' read-ahead
            # of the batch after its last step. Draw as many.
            for _ in train_data.repeat().take(done * steps + 1):
                pass
        train_data = train_data.repeat().skip(done * steps)
        fit_kwargs["steps_per_epoch"] = steps
        callbacks.insert(0, _ChiefBackupAndRestore(backup_dir, delete_checkpoint=False))
    return model.fit(train_data, callbacks=callbacks, **fit_kwargs)
