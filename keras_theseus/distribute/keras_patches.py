"""Two fixes that let Keras 3's `fit` run under `MultiWorkerMirroredStrategy`.

Keras 3.15's TensorFlow trainer fails under `MultiWorkerMirroredStrategy`
before or during the first step, for any model, and under every strategy
trains on other data orders than on one device:

1. `_maybe_symbolic_build` all-reduces the whole first batch with
   `strategy.reduce("MEAN", batch)` to learn its shapes. Under
   `MultiWorkerMirroredStrategy` that raises for a dict of inputs
   (keras-team/keras#20329). Under every strategy it opens one more pass
   over the dataset before the first epoch, so a shuffled dataset gives
   each epoch the order the next epoch would get on one device.
2. `reduce_per_replica(..., "mean")` reduces every log with
   `strategy.reduce("MEAN", v, axis=0)`, which raises for the scalar loss
   and metric values a train step returns under a multi-worker strategy
   (tensorflow/tensorflow#72388).
3. At the end of an epoch (and of `evaluate`), `fit` logs the metric
   variables as this worker reads them: under a multi-worker strategy each
   worker's own share of the batches, so the workers' Histories differ and
   none is the global value.

`install()` replaces exactly these code paths: under a strategy the build
takes shapes and dtypes from the dataset's element spec (falling back to
Keras' code for ragged or sparse inputs), and under a multi-worker strategy
scalars are averaged over replicas (`axis=None`) and the epoch's logs are
the last step's, which are those averages. Without a strategy, and
for every other value, Keras' own code runs. It is idempotent; the toolkit
calls it whenever it meets a strategy (`resolve_strategy`, the recipes'
`strategy=`, and `fit` of the toolkit's trainers built in a strategy's
scope).
"""

import functools

import tensorflow as tf
# Private Keras modules: the code paths being fixed live there, and the
# tests/distributed two-worker run fails at once if a Keras release moves them.
from keras.src import tree
from keras.src.backend.tensorflow import trainer as tf_trainer

_INSTALLED = False


def is_multi_worker(strategy):
    """True for a `MultiWorkerMirroredStrategy` (Keras' own test of it).

    Example:
    ```python
    is_multi_worker(resolve_strategy("mirrored"))   # False
    ```
    """
    return tf_trainer._collective_all_reduce_multi_worker(strategy)


def _element_spec(iterator):
    """The undistributed dataset's element spec, if every leaf is a plain `TensorSpec`."""
    adapter = getattr(iterator, "data_adapter", None)
    if adapter is None or not hasattr(adapter, "get_tf_dataset"):
        return None
    spec = adapter.get_tf_dataset().element_spec
    if all(isinstance(leaf, tf.TensorSpec) for leaf in tree.flatten(spec)):
        return spec
    return None


def _patched_symbolic_build(original):
    @functools.wraps(original)
    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        spec = _element_spec(iterator) if strategy is not None and iterator is not None else None
        if spec is None:
            return original(self, iterator=iterator, data_batch=data_batch)
        # The build needs shapes and dtypes only: take them from the
        # dataset's element spec instead of reading (and all-reducing) a
        # first batch, which also opened one more pass over the dataset and
        # so shifted every epoch's shuffle order against a one-device run.
        with strategy.scope():
            self._symbolic_build(data_batch=spec)

    _maybe_symbolic_build._keras_theseus_patch = True
    return _maybe_symbolic_build


def _patched_reduce_per_replica(original):
    @functools.wraps(original)
    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not is_multi_worker(strategy):
            return original(values, strategy, reduction)

        def reduce_one(value):
            if value.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return tree.map_structure(reduce_one, values)

    reduce_per_replica._keras_theseus_patch = True
    return reduce_per_replica


def _patched_metrics_result_or_logs(original):
    @functools.wraps(original)
    def _get_metrics_result_or_logs(self, logs):
        strategy = self._distribute_strategy
        if isinstance(logs, dict) and logs and strategy is not None \
                and is_multi_worker(strategy):
            # The last step's logs, averaged over all replicas by
            # `reduce_per_replica`: the metric variables themselves are
            # read per worker, each holding its own replicas' share.
            return logs
        return original(self, logs)

    _get_metrics_result_or_logs._keras_theseus_patch = True
    return _get_metrics_result_or_logs


def install():
    """Apply the three fixes to Keras' TensorFlow trainer (once per process).

    Example:
    ```python
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    keras_theseus.distribute.install_keras_patches()
    with strategy.scope():
        model = ...
    model.fit(train)
    ```
    """
    global _INSTALLED
    if _INSTALLED:
        return
    trainer_class = tf_trainer.TensorFlowTrainer
    trainer_class._maybe_symbolic_build = _patched_symbolic_build(
        trainer_class._maybe_symbolic_build)
    tf_trainer.reduce_per_replica = _patched_reduce_per_replica(tf_trainer.reduce_per_replica)
    trainer_class._get_metrics_result_or_logs = _patched_metrics_result_or_logs(
        trainer_class._get_metrics_result_or_logs)
    _INSTALLED = True
