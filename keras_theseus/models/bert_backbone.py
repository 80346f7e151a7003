"""A keras-hub `BertBackbone` whose feed-forward activation is configurable."""

import keras
import keras_hub
from keras_hub.src.utils.keras_utils import gelu_approximate


@keras.saving.register_keras_serializable(package="keras_theseus")
def gelu_erf(x):
    """Exact GELU, `0.5·x·(1 + erf(x/√2))`.

    The same function as `keras.activations.gelu(approximate=False)`, but
    written with `erf`: TensorFlow's own exact GELU uses `erfc`, which the
    ONNX converter (tf2onnx) cannot translate, while `Erf` is an ONNX op.
    """
    x = keras.ops.convert_to_tensor(x)
    return 0.5 * x * (1.0 + keras.ops.erf(x * 0.7071067811865476))


def _resolve_activation(name):
    """Map a Hugging Face `hidden_act` name to a Keras activation callable."""
    if name in ("gelu", "gelu_exact"):
        # HF's "gelu" is the exact, erf-based GELU.
        return gelu_erf
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_approximate"):
        return gelu_approximate
    if name in ("relu", "silu", "swish", "tanh"):
        return keras.activations.get(name)
    raise ValueError(
        "`hidden_activation` must be one of 'gelu' (exact), 'gelu_approximate' "
        "(also accepted as 'gelu_new' / 'gelu_pytorch_tanh'), 'relu', 'silu', "
        f"'swish' or 'tanh'. Received: hidden_activation={name!r}"
    )


@keras.saving.register_keras_serializable(package="keras_theseus")
class BertBackbone(keras_hub.models.BertBackbone):
    """keras-hub's `BertBackbone` with the checkpoint's own FFN activation.

    keras-hub's `BertBackbone` always uses the tanh-approximated GELU, while
    original BERT checkpoints (and MiniLM, and most Hugging Face BERTs, whose
    `config.json` says `"hidden_act": "gelu"`) use the exact erf GELU. With
    the approximation, hidden states drift from the reference by up to ~1e-2;
    with the exact GELU they match to ~1e-6. This subclass adds one argument,
    `hidden_activation`, and is otherwise the keras-hub class (so
    `isinstance(model, keras_hub.models.BertBackbone)` holds and every
    keras-hub task, preprocessor and converter works with it).

    Args:
        hidden_activation: str. `"gelu"` (exact, default, as in HF BERT),
            `"gelu_approximate"` (keras-hub's default), `"relu"`, `"silu"`,
            `"swish"` or `"tanh"`.
        **kwargs: every `keras_hub.models.BertBackbone` argument
            (`vocabulary_size`, `num_layers`, `num_heads`, `hidden_dim`,
            `intermediate_dim`, `dropout`, `max_sequence_length`,
            `num_segments`, `dtype`).

    Example:
    ```python
    backbone = keras_theseus.models.BertBackbone(
        vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32,
        intermediate_dim=64, max_sequence_length=16,
    )
    outputs = backbone({
        "token_ids": np.ones((1, 8), "int32"),
        "segment_ids": np.zeros((1, 8), "int32"),
        "padding_mask": np.ones((1, 8), "int32"),
    })
    outputs["sequence_output"].shape  # (1, 8, 32)
    ```
    """

    def __init__(self, *args, hidden_activation="gelu", **kwargs):
        activation = _resolve_activation(hidden_activation)
        super().__init__(*args, **kwargs)
        # The functional graph re-runs each layer's `call`, which reads
        # `activation` at call time, so swapping it after construction
        # changes the computation without rebuilding any weight.
        for layer in self.transformer_layers:
            layer.activation = activation
            layer._feedforward_intermediate_dense.activation = activation
        self.hidden_activation = hidden_activation

    def get_config(self):
        config = super().get_config()
        config["hidden_activation"] = self.hidden_activation
        return config
