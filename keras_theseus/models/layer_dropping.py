"""Assemble smaller classifiers from a bigger one's layers."""

import inspect

import keras_hub

EMBEDDING_AND_POOLER_LAYERS = (
    "token_embedding", "position_embedding", "segment_embedding",
    "embeddings_layer_norm", "pooled_dense",
)


def assemble_classifier(source_backbone, transformer_layers, output_dense, dropout=0.1,
                        backbone_class=None):
    """A plain keras-hub classifier built from existing layers' weights.

    Embeddings and pooler come from `source_backbone`, the encoder stack is
    `transformer_layers` in the given order (weights copied), and the head
    from `output_dense`. The result shares nothing with its sources.

    Args:
        source_backbone: a `keras_hub.models.BertBackbone`.
        transformer_layers: keras-hub `TransformerEncoder` layers with the
            backbone's shapes.
        output_dense: the Dense classification layer to copy.
        dropout: head dropout of the new classifier.
        backbone_class: class of the new backbone; default
            `type(source_backbone)`. `keras_hub.models.BertBackbone` gives a
            model that loads without keras_theseus (with keras-hub's
            approximate GELU).

    Returns:
        A `keras_hub.models.BertTextClassifier` without preprocessor.
    """
    backbone_class = backbone_class or type(source_backbone)
    if not (isinstance(backbone_class, type)
            and issubclass(backbone_class, keras_hub.models.BertBackbone)):
        raise TypeError(
            "`backbone_class` must be a subclass of keras_hub.models.BertBackbone. "
            f"Received: {backbone_class!r}"
        )
    if not transformer_layers:
        raise ValueError("`transformer_layers` is empty; a backbone needs at least one layer.")
    config = source_backbone.get_config()
    config.pop("name", None)
    # A frozen source (e.g. a Distiller's teacher) must not give a frozen copy.
    config.pop("trainable", None)
    config["num_layers"] = len(transformer_layers)
    accepted = inspect.signature(backbone_class.__init__).parameters
    if "hidden_activation" not in accepted:
        config.pop("hidden_activation", None)
    if "key_dim" not in accepted:
        key_dim = config.pop("key_dim", None)
        if key_dim not in (None, config["hidden_dim"] // config["num_heads"]):
            raise ValueError(
                f"`backbone_class`={backbone_class.__name__} ties the head size to "
                f"hidden_dim / num_heads, but the source has key_dim={key_dim}; use "
                "keras_theseus.models.ExactGeluBertBackbone.")
    if "float32_residual" not in accepted and config.pop("float32_residual", False):
        raise ValueError(
            f"`backbone_class`={backbone_class.__name__} has no float32 residual stream, "
            "but the source keeps one (float32_residual=True); use "
            "keras_theseus.models.ExactGeluBertBackbone or convert the source with "
            "with_precision(..., float32_residual=False) first.")
    backbone = backbone_class.from_config(config)
    for name in EMBEDDING_AND_POOLER_LAYERS:
        backbone.get_layer(name).set_weights(source_backbone.get_layer(name).get_weights())
    for target, source in zip(backbone.transformer_layers, transformer_layers):
        target.set_weights(source.get_weights())
    classifier = keras_hub.models.BertTextClassifier(
        backbone=backbone, num_classes=output_dense.units, preprocessor=None, dropout=dropout,
    )
    classifier.output_dense.set_weights(output_dense.get_weights())
    return classifier


def drop_layers(classifier, layers, backbone_class=None):
    """Keep only the transformer layers `layers` of a fine-tuned classifier.

    Truncated / layer-dropped students (first-k, every other layer, an
    explicit list) and the same-size baseline of BERT-of-Theseus.

    Args:
        classifier: a `keras_hub.models.BertTextClassifier`.
        layers: list of distinct layer indices, kept in the given order.
        backbone_class: see `assemble_classifier`.

    Example:
    ```python
    student = drop_layers(teacher, [0, 2, 4])   # 6 -> 3 layers
    ```
    """
    if not isinstance(classifier, keras_hub.models.BertTextClassifier):
        raise TypeError(
            "`classifier` must be a keras_hub.models.BertTextClassifier. "
            f"Received: {type(classifier).__name__}"
        )
    n = classifier.backbone.num_layers
    layers = list(layers)
    if not layers or len(set(layers)) != len(layers) or not all(
        isinstance(i, int) and 0 <= i < n for i in layers
    ):
        raise ValueError(
            f"`layers` must list distinct layer indices in [0, {n}). Received: {layers!r}"
        )
    backbone = classifier.backbone
    return assemble_classifier(
        backbone, [backbone.transformer_layers[i] for i in layers], classifier.output_dense,
        dropout=classifier.dropout, backbone_class=backbone_class,
    )
