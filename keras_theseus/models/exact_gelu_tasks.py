"""The keras-hub classes `from_preset` finds for a preset of our backbone.

keras-hub's `from_preset` on a task, preprocessor or tokenizer class picks
the subclass whose `backbone_cls` is the backbone class the preset names
(`preset_utils.find_subclass`). keras-hub registers them for its own
`BertBackbone`; these say the same for `ExactGeluBertBackbone`, so that
`keras_hub.models.BertTextClassifier.from_preset(directory)` (and
`BertTextClassifierPreprocessor` / `BertTokenizer.from_preset`) load a
preset that `keras_theseus.export.save_keras_hub_preset` wrote. They add
nothing else. `import keras_theseus` before `from_preset` so that keras-hub
can see them.
"""

import keras
import keras_hub

from keras_theseus.models.bert_backbone import ExactGeluBertBackbone


@keras.saving.register_keras_serializable(package="keras_theseus")
class ExactGeluBertTokenizer(keras_hub.models.BertTokenizer):
    """keras-hub's `BertTokenizer`, found by `from_preset` for `ExactGeluBertBackbone` presets."""

    backbone_cls = ExactGeluBertBackbone


@keras.saving.register_keras_serializable(package="keras_theseus")
class ExactGeluBertTextClassifierPreprocessor(keras_hub.models.BertTextClassifierPreprocessor):
    """keras-hub's `BertTextClassifierPreprocessor` for `ExactGeluBertBackbone` presets."""

    backbone_cls = ExactGeluBertBackbone
    tokenizer_cls = ExactGeluBertTokenizer


@keras.saving.register_keras_serializable(package="keras_theseus")
class ExactGeluBertTextClassifier(keras_hub.models.BertTextClassifier):
    """A keras-hub `BertTextClassifier` whose backbone is `ExactGeluBertBackbone`.

    Only `backbone_cls` (and `preprocessor_cls`) differ from keras-hub's
    class: `save_keras_hub_preset` writes students as this class so that
    keras-hub's `from_preset` finds a task class for the backbone.

    Example:
    ```python
    import keras_hub
    import keras_theseus  # registers this class

    keras_theseus.export.save_keras_hub_preset(student, "student_preset", preprocessor)
    classifier = keras_hub.models.BertTextClassifier.from_preset("student_preset")
    classifier.predict(["a great movie"])
    ```
    """

    backbone_cls = ExactGeluBertBackbone
    preprocessor_cls = ExactGeluBertTextClassifierPreprocessor
