"""A callback that times training steps and, at chosen epochs, inference."""

import time

import keras
import numpy as np

from keras_theseus.timing.latency import device_info
from keras_theseus.timing.latency import inference_function
from keras_theseus.timing.latency import measure_latency


@keras.saving.register_keras_serializable(package="keras_theseus")
class TimingCallback(keras.callbacks.Callback):
    """Per-step train time and periodic inference latency in `History`.

    Each epoch adds to the logs (so to the progress bar and `History`):
    `step_ms_p50`, `step_ms_p90`, `step_ms_p99` (wall time of each training
    step of the epoch; the first `warmup_steps` of the run, which include
    tracing and XLA compilation, are excluded). With `inference_inputs`,
    every `latency_every` epochs also `latency_ms_p50/p90/p99` and
    `throughput` (examples/s) of `model(inputs, training=False)`, measured
    after `latency_warmup` untimed calls. `device` holds the detected
    device kind and name (CPU/GPU/TPU), `steps_ms` every step's time.

    With `steps_per_execution > 1` a "step" is one compiled execution
    (that many batches). Works under `tf.distribute` strategies: it only
    reads wall-clock time around steps Keras dispatches.

    Args:
        inference_inputs: optional dict batch for the latency measurement
            (e.g. `keras_theseus.timing.synthetic_inputs(32, 128, vocab)`).
        latency_every: measure latency every this many epochs (>= 1).
        warmup_steps: leading steps of the run not timed.
        latency_warmup, latency_repeats: latency calls untimed / timed.

    Example:
    ```python
    timing = TimingCallback(kt.timing.synthetic_inputs(32, 128, 30522))
    history = model.fit(train, epochs=2, callbacks=[timing])
    history.history["step_ms_p50"], history.history["latency_ms_p90"]
    ```
    """

    def __init__(self, inference_inputs=None, latency_every=1, warmup_steps=2,
                 latency_warmup=2, latency_repeats=10):
        super().__init__()
        if not isinstance(latency_every, int) or latency_every < 1:
            raise ValueError(f"`latency_every` must be an int >= 1. Received: {latency_every!r}")
        if warmup_steps < 0 or latency_repeats < 1 or latency_warmup < 0:
            raise ValueError("Need warmup_steps >= 0, latency_warmup >= 0 and "
                             f"latency_repeats >= 1. Received: {warmup_steps}, "
                             f"{latency_warmup}, {latency_repeats}")
        self.inference_inputs = inference_inputs
        self.latency_every = latency_every
        self.warmup_steps = warmup_steps
        self.latency_warmup = latency_warmup
        self.latency_repeats = latency_repeats
        self.device = device_info()
        self.steps_ms = []
        self._seen = 0
        self._epoch_steps = []
        self._start = None
        self._infer = None

    def get_config(self):
        # The timed batch is part of the configuration: a few int arrays,
        # serialized by Keras as nested lists.
        return {"inference_inputs": keras.saving.serialize_keras_object(self.inference_inputs),
                "latency_every": self.latency_every, "warmup_steps": self.warmup_steps,
                "latency_warmup": self.latency_warmup, "latency_repeats": self.latency_repeats}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["inference_inputs"] = keras.saving.deserialize_keras_object(
            config.get("inference_inputs"))
        return cls(**config)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = (time.perf_counter() - self._start) * 1000.0
        self._seen += 1
        if self._seen > self.warmup_steps:
            self._epoch_steps.append(elapsed)
            self.steps_ms.append(elapsed)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self._epoch_steps:
            for q in (50, 90, 99):
                logs[f"step_ms_p{q}"] = float(np.percentile(self._epoch_steps, q))
        if self.inference_inputs is not None and (epoch + 1) % self.latency_every == 0:
            if self._infer is None:
                # One compiled function for the run; it reads the current weights.
                self._infer = inference_function(self.model)
            stats = measure_latency({"model": self._infer}, self.inference_inputs,
                                    warmup=self.latency_warmup,
                                    repeats=self.latency_repeats)["model"]
            for q in (50, 90, 99):
                logs[f"latency_ms_p{q}"] = stats[f"p{q}_ms"]
            batch = int(np.shape(next(iter(self.inference_inputs.values())))[0])
            logs["throughput"] = batch / (stats["p50_ms"] / 1000.0)
