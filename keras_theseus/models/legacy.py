"""Classes kept for one release so that `.keras` files saved earlier still load."""

import warnings

import keras

from keras_theseus.models.bert_backbone import ExactGeluBertBackbone


@keras.saving.register_keras_serializable(package="keras_theseus")
class BertBackbone(ExactGeluBertBackbone):
    """Deprecated: the old name of `ExactGeluBertBackbone`.

    Kept so that `.keras` files saved before the rename load (Keras stores
    weights under the class's snake-case name, `bert_backbone`); loading or
    constructing one warns. Re-save with `ExactGeluBertBackbone`, e.g.
    `ExactGeluBertBackbone.from_config(old.get_config())` plus
    `set_weights(old.get_weights())`.
    """

    def __init__(self, *args, **kwargs):
        warnings.warn(
            "`keras_theseus.models.BertBackbone` is deprecated and will be removed in "
            "the next release; use `keras_theseus.models.ExactGeluBertBackbone` (same "
            "arguments and weights).", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)
