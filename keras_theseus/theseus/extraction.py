"""Extract the compact successor as a plain keras-hub classifier."""

import inspect

import keras_hub

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
    old = model.backbone
    backbone_class = backbone_class or type(old)
    if not issubclass(backbone_class, keras_hub.models.BertBackbone):
        raise TypeError(
            "`backbone_class` must be a subclass of keras_hub.models.BertBackbone. "
            f"Received: {backbone_class!r}"
        )
    config = old.get_config()
    config["num_layers"] = model.num_successor_layers
    config.pop("name", None)
    if "hidden_activation" not in inspect.signature(backbone_class.__init__).parameters:
        config.pop("hidden_activation", None)
    backbone = backbone_class(**config)
    for name in ("token_embedding", "position_embedding", "segment_embedding",
                 "embeddings_layer_norm", "pooled_dense"):
        backbone.get_layer(name).set_weights(old.get_layer(name).get_weights())
    for target, source in zip(backbone.transformer_layers, model.successor_layers):
        target.set_weights(source.get_weights())
    successor = keras_hub.models.BertTextClassifier(
        backbone=backbone, num_classes=model.num_classes, preprocessor=None,
        dropout=model.dropout,
    )
    successor.output_dense.set_weights(model.output_dense.get_weights())
    return successor
