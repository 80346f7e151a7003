"""Latency, FLOPs, device and size measurements."""

from keras_theseus.timing.compare import benchmark_models
from keras_theseus.timing.compare import load_for_benchmark
from keras_theseus.timing.flops import count_flops
from keras_theseus.timing.latency import count_params
from keras_theseus.timing.latency import device_info
from keras_theseus.timing.latency import inference_function
from keras_theseus.timing.latency import inference_jit_compile
from keras_theseus.timing.latency import measure_latency
from keras_theseus.timing.latency import measure_train_step
from keras_theseus.timing.latency import synthetic_inputs

from keras_theseus.utils import deprecated_aliases

# Callbacks live in keras_theseus.callbacks (as keras.callbacks); the old
# spelling works for one release.
__getattr__ = deprecated_aliases(__name__, {
    "TimingCallback": "keras_theseus.callbacks.TimingCallback",
})
