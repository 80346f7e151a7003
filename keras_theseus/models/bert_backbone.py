"""A keras-hub `BertBackbone` whose FFN activation and head size are configurable."""

import functools

import keras
import keras_hub
from keras_hub.src.models.bert.bert_backbone import bert_kernel_initializer
from keras_hub.src.utils.keras_utils import gelu_approximate

from keras_theseus.models.transformer_encoder import FusedTransformerEncoder
from keras_theseus.models.transformer_encoder import HeadSizeTransformerEncoder
from keras_theseus.models.transformer_encoder import residual_dtype_policy
from keras_theseus.utils import check_bool


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
class ExactGeluBertBackbone(keras_hub.models.BertBackbone):
    """keras-hub's `BertBackbone` with the checkpoint's FFN activation and head size.

    keras-hub's `BertBackbone` always uses the tanh-approximated GELU, while
    original BERT checkpoints (and MiniLM, and most Hugging Face BERTs, whose
    `config.json` says `"hidden_act": "gelu"`) use the exact erf GELU. With
    the approximation, hidden states drift from the reference by up to ~1e-2;
    with the exact GELU they match to ~1e-6. keras-hub also ties the head
    size to `hidden_dim // num_heads`; a DynaBERT sub-network or a searched
    sub-architecture keeps BERT's head size with fewer heads.

    This subclass adds two arguments, `hidden_activation` and `key_dim`, and
    is otherwise the keras-hub class: the same layers, names, weights and
    functional graph, so `isinstance(model, keras_hub.models.BertBackbone)`
    holds and every keras-hub task (`BertTextClassifier`), preprocessor,
    `model.export` and converter works with it. Every student the toolkit
    returns (Theseus, distillation, DynaBERT, search) is a keras-hub
    `BertTextClassifier` on this backbone.

    Args:
        hidden_activation: str. `"gelu"` (exact, default, as in HF BERT),
            `"gelu_approximate"` (keras-hub's default), `"relu"`, `"silu"`,
            `"swish"` or `"tanh"`.
        key_dim: int or None. Attention head size (default
            `hidden_dim // num_heads`, keras-hub's).
        float32_residual: bool. Under a mixed precision policy, keep the
            residual stream in float32 as PyTorch's autocast does: the
            embeddings, every LayerNorm, dropout and residual sum compute in
            float32, and only the attention and FFN matmuls (and the pooler)
            in bfloat16 / float16 (see `HeadSizeTransformerEncoder`).
            Default False (Keras' mixed policy). Same weights either way.
            The token embedding computes in float32 too, so a masked-LM head
            tied to it (keras-hub's reverse embedding) runs its vocabulary
            projection in float32.
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
            dropout, max_sequence_length, num_segments, dtype: as
            `keras_hub.models.BertBackbone`.

    Example:
    ```python
    backbone = keras_theseus.models.ExactGeluBertBackbone(
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

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 dropout=0.1, max_sequence_length=512, num_segments=2, dtype=None,
                 hidden_activation="gelu", key_dim=None, float32_residual=False, **kwargs):
        activation = _resolve_activation(hidden_activation)
        init = bert_kernel_initializer
        check_bool("float32_residual", float32_residual)
        # The embeddings feed the residual stream: with float32_residual they
        # compute in the variables' dtype (no matmul there to speed up).
        embedding_dtype = residual_dtype_policy(dtype, float32_residual)
        # keras-hub's BertBackbone graph, layer for layer (its constructor has
        # no hook for the encoder layer), with `HeadSizeTransformerEncoder`.
        self.token_embedding = keras_hub.layers.ReversibleEmbedding(
            input_dim=vocabulary_size, output_dim=hidden_dim, embeddings_initializer=init(),
            dtype=embedding_dtype, name="token_embedding")
        self.position_embedding = keras_hub.layers.PositionEmbedding(
            initializer=init(), sequence_length=max_sequence_length, dtype=embedding_dtype,
            name="position_embedding")
        self.segment_embedding = keras.layers.Embedding(
            input_dim=num_segments, output_dim=hidden_dim, embeddings_initializer=init(),
            dtype=embedding_dtype, name="segment_embedding")
        self.embeddings_add = keras.layers.Add(dtype=embedding_dtype, name="embeddings_add")
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            axis=-1, epsilon=1e-12, dtype=embedding_dtype, name="embeddings_layer_norm")
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=embedding_dtype,
                                                       name="embeddings_dropout")
        # keras-hub's TransformerEncoder with FFN layers that TF fuses into
        # oneDNN kernels (same sub-layers, names and weights; at BERT's head
        # size under keras-hub's class name, so the weights file names every
        # layer as a keras-hub backbone does), with a free head size otherwise.
        if key_dim is None or key_dim == hidden_dim // num_heads:
            encoder = FusedTransformerEncoder
        else:
            encoder = functools.partial(HeadSizeTransformerEncoder, key_dim=key_dim)
        self.transformer_layers = [
            encoder(num_heads=num_heads, intermediate_dim=intermediate_dim,
                    activation=activation, dropout=dropout, layer_norm_epsilon=1e-12,
                    kernel_initializer=init(), dtype=dtype, float32_residual=float32_residual,
                    name=f"transformer_layer_{i}")
            for i in range(num_layers)
        ]
        self.pooled_dense = keras.layers.Dense(
            hidden_dim, kernel_initializer=init(), activation="tanh", dtype=dtype,
            name="pooled_dense")

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        tokens = self.token_embedding(token_ids)
        x = self.embeddings_add((tokens, self.position_embedding(tokens),
                                 self.segment_embedding(segment_ids)))
        x = self.embeddings_dropout(self.embeddings_layer_norm(x))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        # Skip BertBackbone.__init__ (it would build its own layers again).
        keras_hub.models.Backbone.__init__(
            self,
            inputs={"token_ids": token_ids, "segment_ids": segment_ids,
                    "padding_mask": padding_mask},
            outputs={"sequence_output": x, "pooled_output": self.pooled_dense(x[:, 0, :])},
            dtype=dtype, **kwargs)
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.cls_token_index = 0
        self.hidden_activation = hidden_activation
        self.key_dim = None if key_dim is None else int(key_dim)
        self.float32_residual = float32_residual

    @property
    def head_size(self):
        """The attention head size (`key_dim`, or hidden / heads)."""
        return self.key_dim or self.hidden_dim // self.num_heads

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_activation": self.hidden_activation, "key_dim": self.key_dim,
                       "float32_residual": self.float32_residual})
        return config
