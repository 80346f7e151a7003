"""keras_theseus: make BERT-style text encoders smaller and faster with Keras 3."""

import os

# keras_theseus builds on TensorFlow ops (tf.data, tf.function, SavedModel).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_theseus import startup as _startup  # noqa: E402

if _startup.is_command_line():
    _startup.start_tensorflow_quietly()

import keras as _keras  # noqa: E402

if _keras.backend.backend() != "tensorflow":
    raise ImportError(
        "keras_theseus needs the TensorFlow Keras backend; "
        f"KERAS_BACKEND is {_keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow "
        "before importing keras."
    )

from keras_theseus import callbacks  # noqa: E402
from keras_theseus import datasets  # noqa: E402
from keras_theseus import distill  # noqa: E402
from keras_theseus import distribute  # noqa: E402
from keras_theseus import dynabert  # noqa: E402
from keras_theseus import export  # noqa: E402
from keras_theseus import models  # noqa: E402
from keras_theseus import reporting  # noqa: E402
from keras_theseus import search  # noqa: E402
from keras_theseus import theseus  # noqa: E402
from keras_theseus import timing  # noqa: E402
from keras_theseus import workflows  # noqa: E402
from keras_theseus.version import __version__  # noqa: E402

__all__ = ["__version__", "callbacks", "datasets", "distill", "distribute", "dynabert", "export", "models",
           "reporting", "search", "theseus", "timing", "workflows"]
