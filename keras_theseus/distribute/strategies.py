"""Name a `tf.distribute` strategy, and the few questions the recipes ask of it."""

import contextlib
import os

import tensorflow as tf

from keras_theseus.distribute import keras_patches
from keras_theseus.distribute.tf_config import parse_tf_config

STRATEGY_NAMES = ("mirrored", "multi_worker", "tpu")

# One instance per name and process: a second MultiWorkerMirroredStrategy
# or TPU initialisation in the same process fails.
_CREATED = {}


def _create(name):
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        parse_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    tpu = os.environ.get("TPU_NAME", "")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ValueError(
            f"`strategy`='tpu' found no TPU ({type(error).__name__}: {error}). On a Cloud TPU "
            "VM it is found by itself; elsewhere set $TPU_NAME to the TPU's name or "
            "grpc:// address.") from None
    return tf.distribute.TPUStrategy(resolver)


def resolve_strategy(strategy):
    """A `tf.distribute.Strategy` from a name, an instance or None.

    Args:
        strategy: None (no strategy: the default one-device training), a
            `tf.distribute.Strategy` instance, or a name:
            - `"mirrored"`: `MirroredStrategy` over this machine's GPUs
              (its CPU when there are none);
            - `"multi_worker"`: `MultiWorkerMirroredStrategy` from
              `$TF_CONFIG`, which is checked first (`parse_tf_config`);
            - `"tpu"`: `TPUStrategy` on the TPU of this VM or `$TPU_NAME`.
            A name gives the same instance on every call in a process.

    Returns:
        The strategy, or None. Keras' `fit` gets the toolkit's fixes for
        training under a strategy (`keras_theseus.distribute.keras_patches`).

    Example:
    ```python
    strategy = resolve_strategy("multi_worker")   # at program start, on every worker
    result = compress_with_theseus(teacher, train, dev, strategy=strategy)
    ```
    """
    if strategy is None:
        return None
    if isinstance(strategy, str):
        if strategy not in STRATEGY_NAMES:
            raise ValueError(f"`strategy` must be one of {STRATEGY_NAMES}, a "
                             f"tf.distribute.Strategy or None. Received: {strategy!r}")
        if strategy not in _CREATED:
            _CREATED[strategy] = _create(strategy)
        strategy = _CREATED[strategy]
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError("`strategy` must be a tf.distribute.Strategy, one of "
                        f"{STRATEGY_NAMES} or None. Received: {type(strategy).__name__}")
    keras_patches.install()
    return strategy


def strategy_scope(strategy):
    """`strategy.scope()`, or a no-op context for None.

    Example:
    ```python
    with strategy_scope(resolve_strategy(name_or_none)):
        model = build_text_classifier(backbone, 2)
    ```
    """
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def is_chief(strategy=None):
    """Whether this process writes files: True except on non-chief workers.

    Multi-worker training runs the same program on every worker; files
    (checkpoints, the teacher cache, reports) are written by the chief
    (worker 0 when the cluster has no `chief` task) only, so that workers
    sharing a filesystem do not write over each other.

    Args:
        strategy: the strategy; default the one in scope.

    Example:
    ```python
    if is_chief(strategy):
        model.save("student.keras")
    ```
    """
    strategy = strategy if strategy is not None else tf.distribute.get_strategy()
    return bool(strategy.extended.should_checkpoint)
