"""Extract the compact successor as a plain keras-hub classifier."""

from keras_theseus.models.layer_dropping import assemble_classifier
from keras_theseus.theseus.theseus_classifier import TheseusClassifier


def extract_successor(model, backbone_class=None):
    """The successor alone, as a standard keras-hub `BertTextClassifier`.

    Copies the embeddings, the n successor layers (as
    `transformer_layer_0..n-1`), the pooler and the head into a new
    n-layer backbone. Its outputs equal `model(x, training=False)`.

    Args:
        model: a `TheseusClassifier`.
        backbone_class: the backbone class of the result; by default the
            predecessor's. Pass `keras_hub.models.BertBackbone` for a model
            that loads without keras_theseus installed (it uses keras-hub's
            tanh-approximate GELU, so outputs then differ slightly from a
            model trained with the exact GELU).

    Returns:
        A `keras_hub.models.BertTextClassifier` with no preprocessor.

    Example:
    ```python
    successor = extract_successor(theseus)
    successor.save("successor.keras")
    ```
    """
    if not isinstance(model, TheseusClassifier):
        raise TypeError(
            f"`model` must be a TheseusClassifier. Received: {type(model).__name__}"
        )
    return assemble_classifier(
        model.backbone, model.successor_layers, model.output_dense, dropout=model.dropout,
        backbone_class=backbone_class,
    )
