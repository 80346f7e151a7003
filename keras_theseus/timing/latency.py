"""Interleaved latency measurement for one or more models."""

import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf


def device_info():
    """Describe the device TF computes on: kind (CPU/GPU/TPU), name, cores."""
    tpus = tf.config.list_logical_devices("TPU")
    gpus = tf.config.list_physical_devices("GPU")
    if tpus:
        return {"kind": "TPU", "name": tpus[0].name, "count": len(tpus)}
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return {"kind": "GPU", "name": details.get("device_name", gpus[0].name),
                "count": len(gpus)}
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"kind": "CPU", "name": name, "count": cores}


def synthetic_inputs(batch_size, sequence_length, vocabulary_size=30522, seed=0):
    """Random full-length BERT inputs (`token_ids`, `segment_ids`, `padding_mask`)."""
    if vocabulary_size < 10:
        raise ValueError(f"`vocabulary_size` must be >= 10. Received: {vocabulary_size!r}")
    rng = np.random.default_rng(seed)
    # Ordinary word ids: past BERT's special and unused tokens when the
    # vocabulary is large, within range when it is small.
    low = min(1000, vocabulary_size // 2)
    token_ids = rng.integers(low, vocabulary_size, (batch_size, sequence_length))
    token_ids[:, 0] = 101 if vocabulary_size > 101 else 2
    return {
        "token_ids": tf.constant(token_ids, tf.int32),
        "segment_ids": tf.zeros((batch_size, sequence_length), tf.int32),
        "padding_mask": tf.ones((batch_size, sequence_length), tf.int32),
    }


def count_params(model):
    """Number of parameters (trainable and not) of a built model."""
    return int(sum(np.prod(v.shape) for v in model.weights))


def inference_jit_compile(model, jit_compile="auto"):
    """Whether `model`'s inference should be XLA-compiled on this device.

    `"auto"`: XLA, except for a half-precision model on a CPU. XLA's CPU
    backend does not use AMX / AVX512-BF16, while TF's graph mode runs
    bfloat16 matmuls through oneDNN's AMX kernels: measured on this
    project's 2-core AMX machine (MiniLM-L6, b32×128), a mixed_bfloat16
    forward took 0.5× the float32 XLA time in graph mode and ~1.2× with XLA
    (docs/precision.md). float32 keeps XLA: faster at batch 1 (18.8 vs
    22.3 ms), ~10% slower at b32×128 than graph mode with the fused
    layers; GPUs and TPUs keep XLA in every precision
    (not measured here: no GPU in this project's CI). `True` / `False`
    force it.

    Example:
    ```python
    inference_jit_compile(with_precision(model, "mixed_bfloat16"))  # False on a CPU
    ```
    """
    if jit_compile in (True, False):
        return jit_compile
    if jit_compile != "auto":
        raise ValueError(f"`jit_compile` must be True, False or 'auto'. Received: {jit_compile!r}")
    from keras_theseus.models.precision import model_dtype_policy

    half = model_dtype_policy(model).compute_dtype in ("bfloat16", "float16")
    on_cpu = not (tf.config.list_physical_devices("GPU")
                  or tf.config.list_logical_devices("TPU"))
    return not (half and on_cpu)


def inference_function(model, jit_compile="auto"):
    """A compiled `inputs -> outputs` inference function for `model`.

    `jit_compile="auto"` picks XLA or TF graph mode for the model's
    precision and the device (see `inference_jit_compile`).
    """
    jit_compile = inference_jit_compile(model, jit_compile)

    def infer(x):
        return model(x, training=False)

    return tf.function(infer, jit_compile=jit_compile, autograph=False)


def _block(outputs):
    # Pull one value to the host: the call has finished once it is there.
    flat = keras.tree.flatten(outputs)
    value = flat[0] if flat else None
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def measure_latency(models, inputs, warmup=2, repeats=10, jit_compile="auto"):
    """Median/percentile latency of several models, measured interleaved.

    Every round times each model once, in an order rotated from round to
    round, so slow drifts of a noisy machine (thermal, other processes) hit
    every model alike and the *ratios* between models stay meaningful.
    Warm-up calls (tracing, XLA compilation, caches) are excluded.

    Args:
        models: dict `{name: keras.Model or callable}`. Keras models are
            wrapped in `tf.function` (`inference_function`); other
            callables are timed as given.
        inputs: one batch, passed to every model.
        warmup: untimed calls per model first.
        repeats: timed rounds (>= 1).
        jit_compile: XLA for the Keras models: `"auto"` (XLA except for
            half-precision models on a CPU, see `inference_jit_compile`),
            `True` or `False`.

    Returns:
        dict `{name: {"median_ms", "p10_ms", "p90_ms", "min_ms", "repeats"}}`.

    Example:
    ```python
    x = synthetic_inputs(32, 128)
    stats = measure_latency({"teacher": teacher, "student": student}, x)
    speedup = stats["teacher"]["median_ms"] / stats["student"]["median_ms"]
    ```
    """
    if not models:
        raise ValueError("`models` is empty; pass {name: model}.")
    fns = {
        name: inference_function(m, jit_compile) if isinstance(m, keras.Model) else m
        for name, m in models.items()
    }
    return _interleaved({name: (lambda f=f: _block(f(inputs))) for name, f in fns.items()},
                        warmup, repeats)


def measure_train_step(models, batch, warmup=2, repeats=5):
    """Median wall time of one optimizer step for compiled models, interleaved.

    Each model must be compiled (its `train_on_batch` runs the same compiled
    train function as `fit`). Rounds alternate between models with a rotated
    order, as in `measure_latency`. Note that the timed steps do update the
    models' weights.

    Args:
        models: dict `{name: compiled keras.Model}`.
        batch: `(inputs, labels)`.
        warmup: untimed steps per model (tracing, XLA compilation).
        repeats: timed rounds.

    Returns:
        dict `{name: {"median_ms", "p10_ms", "p90_ms", "min_ms", "repeats"}}`.

    Example:
    ```python
    stats = measure_train_step({"teacher": teacher, "theseus": theseus}, (x, y))
    ratio = stats["theseus"]["median_ms"] / stats["teacher"]["median_ms"]
    ```
    """
    if not models:
        raise ValueError("`models` is empty; pass {name: compiled model}.")
    for name, model in models.items():
        if not getattr(model, "compiled", False):
            raise ValueError(f"Model {name!r} is not compiled; call `compile()` first.")
    x, y = batch
    return _interleaved({name: (lambda m=m: m.train_on_batch(x, y)) for name, m in models.items()},
                        warmup, repeats)


def _interleaved(calls, warmup, repeats):
    """Time `calls` (name -> no-argument callable) in rotated, interleaved rounds."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"Need repeats >= 1 and warmup >= 0. Received: {repeats}, {warmup}")
    for call in calls.values():
        for _ in range(warmup):
            call()
    names = list(calls)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            calls[name]()
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: _stats(t) for name, t in times.items()}


def _stats(t):
    return {
        "median_ms": float(np.median(t)),
        "p50_ms": float(np.median(t)),
        "p10_ms": float(np.percentile(t, 10)),
        "p90_ms": float(np.percentile(t, 90)),
        "p99_ms": float(np.percentile(t, 99)),
        "min_ms": float(np.min(t)),
        "repeats": len(t),
    }
