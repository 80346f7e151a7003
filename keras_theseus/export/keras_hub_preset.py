"""Students out as keras-hub preset directories (`from_preset` loads them)."""

import keras
import keras_hub

from keras_theseus.export.checks import check_vocabulary
from keras_theseus.export.checks import not_exportable
from keras_theseus.export.directory import staged_directory
from keras_theseus.models.bert_backbone import ExactGeluBertBackbone
from keras_theseus.models.exact_gelu_tasks import ExactGeluBertTextClassifier


def _preset_preprocessor(preprocessor, model, backbone):
    """A `BertTextClassifierPreprocessor` for the preset, or None."""
    if preprocessor is None:
        preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        return None
    if isinstance(preprocessor, keras_hub.models.BertTokenizer):
        return keras_hub.models.BertTextClassifierPreprocessor(
            preprocessor, sequence_length=min(512, backbone.max_sequence_length))
    if not isinstance(preprocessor, keras_hub.models.BertTextClassifierPreprocessor):
        raise TypeError("`preprocessor` must be a keras-hub BertTextClassifierPreprocessor "
                        f"or BertTokenizer. Received: {type(preprocessor).__name__}")
    check_vocabulary(preprocessor.tokenizer, backbone)
    return preprocessor


def save_keras_hub_preset(model, directory, preprocessor=None, overwrite=False):
    """Write a student as a keras-hub preset directory (`save_to_preset`).

    A classifier is written as a task preset: `keras_hub.models.
    BertTextClassifier.from_preset(directory)` returns it, preprocessor and
    trained head included, and `keras_hub.models.Backbone.from_preset` /
    `keras_theseus.models.load_backbone(directory)` return its backbone. A
    student on `ExactGeluBertBackbone` (every one keras_theseus returns) is
    written as an `ExactGeluBertTextClassifier`, the registered subclass
    keras-hub needs to find a task class for that backbone: `import
    keras_theseus` before `from_preset`.

    Args:
        model: a keras-hub `BertTextClassifier` or `BertBackbone`.
        directory: the preset directory to create.
        preprocessor: the keras-hub `BertTextClassifierPreprocessor` (or
            `BertTokenizer`) the student was trained with; default
            `model.preprocessor`. Without one the preset loads as a model
            of token ids (keras-hub needs a tokenizer for text).
        overwrite: replace an existing `directory`; otherwise
            `FileExistsError`.

    Returns:
        `directory`.

    Example:
    ```python
    save_keras_hub_preset(student, "student_preset", preprocessor)
    import keras_hub, keras_theseus
    keras_hub.models.BertTextClassifier.from_preset("student_preset").predict(["great!"])
    ```
    """
    if isinstance(model, keras_hub.models.BertTextClassifier):
        backbone = model.backbone
    elif isinstance(model, keras_hub.models.BertBackbone):
        backbone = model
    else:
        raise not_exportable(model, "a keras_hub.models.BertTextClassifier or BertBackbone")
    # keras-hub finds a preset's task class by its backbone class.
    if type(backbone) is keras_hub.models.BertBackbone:
        task_class = keras_hub.models.BertTextClassifier
    elif isinstance(backbone, ExactGeluBertBackbone):
        task_class = ExactGeluBertTextClassifier
    else:
        raise TypeError("A keras-hub preset needs a backbone class keras-hub can find a task "
                        "for: keras_hub.models.BertBackbone or ExactGeluBertBackbone. "
                        f"Received: {type(backbone).__name__}")
    preprocessor = _preset_preprocessor(preprocessor, model, backbone)
    task = None
    if model is not backbone:
        if task_class is ExactGeluBertTextClassifier and \
                type(backbone) is not ExactGeluBertBackbone:
            # e.g. the 0.1 `keras_theseus.models.BertBackbone`: same layers.
            backbone = ExactGeluBertBackbone.from_config(backbone.get_config())
            backbone.set_weights(model.backbone.get_weights())
        # A new task on the same backbone, with the head's trained weights.
        task = task_class(backbone=backbone, num_classes=model.num_classes,
                          preprocessor=preprocessor, activation=model.activation,
                          dropout=model.dropout)
        task.output_dense.set_weights(model.output_dense.get_weights())
    with staged_directory(directory, overwrite=overwrite) as staging:
        if task is not None:
            task.save_to_preset(staging)
        else:
            backbone.save_to_preset(staging)
            if preprocessor is not None:
                preprocessor.save_to_preset(staging)
    return directory
