"""Knowledge distillation: DistilBERT / TinyBERT losses in `model.fit`."""

from keras_theseus.distill.distiller import DISTILBERT_RECIPE
from keras_theseus.distill.distiller import Distiller
from keras_theseus.distill.ensemble import EnsembleTeacher
from keras_theseus.distill.ensemble import boosted_sample_weights
from keras_theseus.distill.layer_selection import candidate_subsets
from keras_theseus.distill.layer_selection import layer_dropped_student
from keras_theseus.distill.layer_selection import search_layer_subsets
from keras_theseus.distill.layer_selection import select_layers
from keras_theseus.distill.losses import attention_mse
from keras_theseus.distill.losses import cosine_embedding_loss
from keras_theseus.distill.losses import masked_mse
from keras_theseus.distill.losses import replica_share
from keras_theseus.distill.losses import soft_cross_entropy
from keras_theseus.distill.losses import soft_target_kl
from keras_theseus.distill.losses import sparse_cross_entropy
from keras_theseus.distill.masking import DistilBertMasker
from keras_theseus.distill.masking import count_tokens
from keras_theseus.distill.pair_augmentation import augment_pairs
from keras_theseus.distill.recipe import distill_classifier
