"""BERT-of-Theseus: progressive module replacement."""

from keras_theseus.theseus.extraction import extract_successor
from keras_theseus.theseus.schedules import CallableReplacement
from keras_theseus.theseus.schedules import ConstantReplacement
from keras_theseus.theseus.schedules import LinearReplacement
from keras_theseus.theseus.schedules import ReplacementSchedule
from keras_theseus.theseus.theseus_classifier import SUCCESSOR_INITS
from keras_theseus.theseus.theseus_classifier import TheseusClassifier
from keras_theseus.theseus.theseus_classifier import successor_source_layers
from keras_theseus.theseus.recipe import TheseusResult
from keras_theseus.theseus.recipe import compress_with_theseus
from keras_theseus.theseus.recipe import default_schedule

from keras_theseus.utils import deprecated_aliases

# Callbacks live in keras_theseus.callbacks (as keras.callbacks); the old
# spelling works for one release.
__getattr__ = deprecated_aliases(__name__, {
    "ReplacementScheduler": "keras_theseus.callbacks.ReplacementScheduler",
})
