"""Extract a (width, depth) DynaBERT sub-network as a genuinely smaller dense model."""

from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.maskable_encoder import copy_encoder_weights
from keras_theseus.dynabert.multipliers import depth_layers
from keras_theseus.dynabert.multipliers import width_sizes
from keras_theseus.models.layer_dropping import EMBEDDING_AND_POOLER_LAYERS


def extract_subnetwork(model, width=1.0, depth=1.0, as_keras_hub=False):
    """A dense model with only the heads, neurons and layers of `(width, depth)`.

    The kept heads are the first round(H·w) of each layer (after `rewire`,
    the most important), with BERT's head size unchanged; the FFN keeps its
    first int(heads/H·I) neurons; hidden size, embeddings, pooler and head
    are copied whole; the layers are `depth_layers(L, depth)`. Its outputs
    equal `model.forward(x, width, depth)` (and `model` after
    `set_subnetwork(width, depth)`).

    Args:
        model: a `DynaBertClassifier`.
        width, depth: multipliers in (0, 1].
        as_keras_hub: return a keras-hub `BertTextClassifier` (only at
            width 1: keras-hub ties head size to hidden / heads).

    Returns:
        A `DynaBertClassifier` without masks (a registered Keras model that
        loads with `keras.saving.load_model` once keras_theseus is
        imported), or a keras-hub `BertTextClassifier`.

    Example:
    ```python
    small = extract_subnetwork(dynabert, width=0.5, depth=0.5)
    small.save("w050_d050.keras")
    ```
    """
    if not isinstance(model, DynaBertClassifier):
        raise TypeError("`model` must be a DynaBertClassifier. "
                        f"Received: {type(model).__name__}")
    heads, neurons = width_sizes(model.num_heads, model.intermediate_dim, width)
    layers = depth_layers(model.num_layers, depth)
    small = DynaBertClassifier(
        vocabulary_size=model.vocabulary_size, num_layers=len(layers), num_heads=heads,
        hidden_dim=model.hidden_dim, intermediate_dim=neurons, num_classes=model.num_classes,
        max_sequence_length=model.max_sequence_length, num_segments=model.num_segments,
        key_dim=model.key_dim, hidden_activation=model.hidden_activation,
        dropout=model.dropout, use_masks=False,
        name=f"dynabert_w{width:g}_d{depth:g}".replace(".", ""))
    for name in EMBEDDING_AND_POOLER_LAYERS + ("output_dense",):
        getattr(small, name).set_weights(getattr(model, name).get_weights())
    for target, index in zip(small.encoder_layers, layers):
        copy_encoder_weights(model.encoder_layers[index], target, heads=range(heads),
                             neurons=range(neurons))
    if as_keras_hub:
        return small.to_text_classifier()
    return small
