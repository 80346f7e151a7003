"""BERT-of-Theseus: progressive module replacement."""

from keras_theseus.theseus.extraction import extract_successor
from keras_theseus.theseus.replacement_scheduler import ReplacementScheduler
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
