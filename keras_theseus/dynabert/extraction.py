"""Extract a (width, depth) DynaBERT sub-network as a genuinely smaller dense model."""

import warnings

from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.multipliers import depth_layers
from keras_theseus.dynabert.multipliers import width_sizes


def extract_subnetwork(model, width=1.0, depth=1.0, as_keras_hub=None):
    """A dense keras-hub model with only the heads, neurons and layers of `(width, depth)`.

    The kept heads are the first round(H·w) of each layer (after `rewire`,
    the most important), with BERT's head size unchanged; the FFN keeps its
    first int(heads/H·I) neurons; hidden size, embeddings, pooler and head
    are copied whole; the layers are `depth_layers(L, depth)`. Its outputs
    equal `model.forward(x, width, depth)` (and `model` after
    `set_subnetwork(width, depth)`).

    Args:
        model: a `DynaBertClassifier`.
        width, depth: multipliers in (0, 1].
        as_keras_hub: deprecated and ignored; the result is always a
            keras-hub model.

    Returns:
        A keras-hub `BertTextClassifier` on an `ExactGeluBertBackbone` (whose
        `key_dim` keeps the head size at width < 1), without preprocessor:
        it fine-tunes, saves, exports and times like any other student.

    Example:
    ```python
    small = extract_subnetwork(dynabert, width=0.5, depth=0.5)
    small.save("w050_d050.keras")
    ```
    """
    if as_keras_hub is not None:
        warnings.warn("`as_keras_hub` is deprecated and ignored: extract_subnetwork always "
                      "returns a keras-hub BertTextClassifier.", DeprecationWarning,
                      stacklevel=2)
    if not isinstance(model, DynaBertClassifier):
        raise TypeError("`model` must be a DynaBertClassifier. "
                        f"Received: {type(model).__name__}")
    heads, neurons = width_sizes(model.num_heads, model.intermediate_dim, width)
    return model.to_text_classifier(
        layers=depth_layers(model.num_layers, depth), num_heads=heads,
        intermediate_dim=neurons, name=f"dynabert_w{width:g}_d{depth:g}".replace(".", ""))
