"""Benchmark saved models side by side: params, FLOPs, latency, speedup."""

import os

import keras
import pandas as pd
import tensorflow as tf

from keras_theseus.timing.flops import count_flops
from keras_theseus.timing.latency import count_params
from keras_theseus.timing.latency import device_info
from keras_theseus.timing.latency import measure_latency
from keras_theseus.timing.latency import synthetic_inputs


def load_for_benchmark(path):
    """A callable model from a `.keras` file or a SavedModel directory."""
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb")):
        serve = tf.saved_model.load(path).signatures["serving_default"]

        def call(x, training=False):
            return serve(**{k: tf.cast(v, tf.int32) for k, v in x.items()})

        return call
    if str(path).endswith(".keras") and os.path.isfile(path):
        import keras_theseus  # noqa: F401  (registers keras_theseus classes)

        return keras.saving.load_model(path, compile=False)
    raise ValueError(f"{path!r} is neither a .keras file nor a SavedModel directory.")


def benchmark_models(models, batch_size=32, sequence_length=128, warmup=2, repeats=10,
                     vocabulary_size=None, jit_compile="auto", precision=None):
    """Time models interleaved in this process and report speedups.

    Args:
        models: dict `{name: keras.Model | .keras path | SavedModel dir}`
            (or a list of paths, named by file name). The first is the
            reference for `speedup`.
        batch_size, sequence_length: input shape (synthetic full-length
            batch).
        warmup, repeats: untimed / timed interleaved rounds.
        vocabulary_size: token id range; default the first Keras model's.
        jit_compile: XLA for Keras models (SavedModels run as exported):
            `"auto"` (XLA except for half-precision models on a CPU, see
            `inference_jit_compile`), `True` or `False`.
        precision: run the Keras models in this precision (see
            `keras_theseus.models.with_precision`); None: as given / saved.

    Returns:
        `pandas.DataFrame` indexed by name with `params`, `gflops`,
        `latency_ms_p50/p90/p99`, `throughput` (examples/s), `speedup`, and
        `device`, `batch_size`, `sequence_length`.

    Example:
    ```python
    benchmark_models({"teacher": "teacher.keras", "student": "student.keras"})
    ```
    """
    if isinstance(models, (list, tuple)):
        models = {os.path.basename(str(p).rstrip("/")): p for p in models}
    if not models:
        raise ValueError("`models` is empty.")
    from keras_theseus.models.precision import with_precision

    loaded = {name: load_for_benchmark(m) if isinstance(m, (str, os.PathLike)) else m
              for name, m in models.items()}
    loaded = {name: with_precision(m, precision) if isinstance(m, keras.Model) else m
              for name, m in loaded.items()}
    keras_models = [m for m in loaded.values() if isinstance(m, keras.Model)]
    if vocabulary_size is None:
        vocabulary_size = (keras_models[0].backbone.vocabulary_size
                           if keras_models and hasattr(keras_models[0], "backbone") else 30522)
    x = synthetic_inputs(batch_size, sequence_length, vocabulary_size)
    stats = measure_latency(loaded, x, warmup=warmup, repeats=repeats, jit_compile=jit_compile)
    device = device_info()
    rows = []
    reference = stats[next(iter(loaded))]["p50_ms"]
    for name, model in loaded.items():
        s = stats[name]
        is_keras = isinstance(model, keras.Model)
        rows.append({
            "name": name,
            "params": count_params(model) if is_keras else None,
            "gflops": count_flops(model, batch_size, sequence_length) / 1e9 if is_keras else None,
            "latency_ms_p50": s["p50_ms"], "latency_ms_p90": s["p90_ms"],
            "latency_ms_p99": s["p99_ms"],
            "throughput": batch_size / (s["p50_ms"] / 1000.0),
            "speedup": reference / s["p50_ms"],
            "device": f"{device['kind']}: {device['name']}",
            "batch_size": batch_size, "sequence_length": sequence_length,
        })
    return pd.DataFrame(rows).set_index("name")
