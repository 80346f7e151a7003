"""Backbones, presets and task models."""

from keras_theseus.models.bert_backbone import ExactGeluBertBackbone
from keras_theseus.models.exact_gelu_tasks import ExactGeluBertTextClassifier
from keras_theseus.models.exact_gelu_tasks import ExactGeluBertTextClassifierPreprocessor
from keras_theseus.models.exact_gelu_tasks import ExactGeluBertTokenizer
from keras_theseus.models.classifier import build_text_classifier
from keras_theseus.models.classifier import bert_optimizer
from keras_theseus.models.classifier import compile_text_classifier
from keras_theseus.models.cloning import rebuild_model
from keras_theseus.models.feature_extractor import build_feature_extractor
from keras_theseus.models.freezing import freeze
from keras_theseus.models.fused_adamw import FusedAdamW
from keras_theseus.models.presets import DEFAULT_PRESET
from keras_theseus.models.presets import PRESETS
from keras_theseus.models.presets import VOCABULARIES
from keras_theseus.models.presets import check_sequence_length
from keras_theseus.models.presets import list_presets
from keras_theseus.models.presets import load_backbone
from keras_theseus.models.presets import load_hf_config
from keras_theseus.models.presets import load_preprocessor
from keras_theseus.models.presets import load_tokenizer
from keras_theseus.models.presets import preset_max_positions
from keras_theseus.models.presets import preset_num_layers
from keras_theseus.models.presets import resolve_preset
from keras_theseus.models.resumable_fit import fit_resumable
from keras_theseus.models.precision import PRECISIONS
from keras_theseus.models.precision import check_precision
from keras_theseus.models.precision import model_float32_residual
from keras_theseus.models.precision import model_precision
from keras_theseus.models.precision import resolve_precision
from keras_theseus.models.precision import with_precision
from keras_theseus.models.teacher import finetune_teacher
from keras_theseus.models.teacher import teacher_cache_path
from keras_theseus.models.layer_dropping import assemble_classifier
from keras_theseus.models.layer_dropping import drop_layers
from keras_theseus.models.vocabulary import read_vocabulary
from keras_theseus.models.vocabulary import transplant_vocabulary
from keras_theseus.models.vocabulary import unknown_token_rate

from keras_theseus.utils import deprecated_aliases

# keras-hub has its own `BertBackbone`; ours says what it adds. The old
# class stays registered (in `legacy`) so that files saved with it load.
from keras_theseus.models import legacy  # noqa: E402,F401

__getattr__ = deprecated_aliases(__name__, {
    "BertBackbone": ("keras_theseus.models.legacy.BertBackbone",
                     "keras_theseus.models.ExactGeluBertBackbone")})
