"""DynaBERT: width- and depth-adaptive BERT with mask variables, rewiring and extraction."""

from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.extraction import extract_subnetwork
from keras_theseus.dynabert.importance import compute_importance
from keras_theseus.dynabert.importance import rewire
from keras_theseus.dynabert.maskable_encoder import HeadMaskedAttention
from keras_theseus.dynabert.maskable_encoder import MaskableTransformerEncoder
from keras_theseus.dynabert.maskable_encoder import copy_encoder_weights
from keras_theseus.dynabert.multipliers import DEFAULT_DEPTHS
from keras_theseus.dynabert.multipliers import DEFAULT_WIDTHS
from keras_theseus.dynabert.multipliers import depth_layers
from keras_theseus.dynabert.multipliers import subnetwork_masks
from keras_theseus.dynabert.multipliers import width_sizes
from keras_theseus.dynabert.recipe import DynaBertResult
from keras_theseus.dynabert.recipe import train_dynabert
from keras_theseus.dynabert.trainer import DynaBertTrainer
from keras_theseus.dynabert.trainer import frozen_copy

from keras_theseus.utils import deprecated_aliases

# Callbacks live in keras_theseus.callbacks (as keras.callbacks); the old
# spellings work for one release.
__getattr__ = deprecated_aliases(__name__, {
    "SubnetworkEvaluator": "keras_theseus.callbacks.SubnetworkEvaluator",
    "SubnetworkSampler": "keras_theseus.callbacks.SubnetworkSampler",
})
