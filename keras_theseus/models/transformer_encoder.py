"""keras-hub's `TransformerEncoder` with a free head size."""

import keras
from keras_hub.layers import TransformerEncoder
from keras_hub.src.utils.keras_utils import clone_initializer

from keras_theseus.models.fused_attention import FusedSelfAttention
from keras_theseus.models.fused_dense import FusedDense
from keras_theseus.utils import check_bool
from keras_theseus.utils import is_int


def residual_dtype_policy(dtype, float32_residual):
    """The dtype policy of a model's residual path (embeddings, LayerNorms, dropouts).

    float32 (the variables' dtype) with `float32_residual`, else `dtype`
    itself (None, a policy name or a `keras.DTypePolicy`).
    """
    if not float32_residual:
        return dtype
    return keras.DTypePolicy(keras.dtype_policies.get(dtype).variable_dtype)


@keras.saving.register_keras_serializable(package="keras_theseus")
class HeadSizeTransformerEncoder(TransformerEncoder):
    """A keras-hub `TransformerEncoder` whose head size is an argument.

    keras-hub derives the head size as `hidden_dim // num_heads`, so a
    layer with fewer heads of BERT's size (a DynaBERT sub-network at width
    < 1, a searched sub-architecture) cannot be expressed. This subclass
    adds `key_dim` and changes nothing else: the same sub-layers, names,
    weight shapes and `call`, so with `key_dim=None` it is keras-hub's
    layer, weights copy across one to one, and every keras-hub model that
    holds it (`BertTextClassifier`, `model.export`) works unchanged. Its
    attention is `FusedSelfAttention` and its two FFN layers `FusedDense`:
    Keras' layers, with the same weights and outputs, spelled so that TF
    fuses them into oneDNN kernels.

    Args:
        intermediate_dim, num_heads, dropout, activation, layer_norm_epsilon,
            kernel_initializer, bias_initializer: as `TransformerEncoder`.
        key_dim: int or None. Head size (default `hidden_dim // num_heads`);
            the attention output is projected back to `hidden_dim` whatever
            `num_heads · key_dim` is.
        float32_residual: bool. Under a mixed policy, keep the residual
            stream in float32 as PyTorch's autocast does: the layer takes
            and returns float32, its LayerNorms and dropouts compute in
            float32, and only the attention and FFN (their matmuls) run in
            the compute dtype. Default False: Keras' mixed policy, where
            every sub-layer's output, the residual sums included, is
            rounded to bfloat16 / float16. No effect under `float32`.

    Example:
    ```python
    layer = HeadSizeTransformerEncoder(intermediate_dim=64, num_heads=2, key_dim=16)
    y = layer(np.zeros((1, 8, 64), "float32"))   # two heads of 16 in a hidden of 64
    ```
    """

    # The attention layer built for this encoder: Keras' multi-head attention
    # spelled for oneDNN fusion (same weights and outputs); the DynaBERT
    # encoder uses a head-masked subclass of Keras' own.
    attention_class = FusedSelfAttention

    def __init__(self, intermediate_dim, num_heads, key_dim=None, float32_residual=False,
                 **kwargs):
        check_bool("float32_residual", float32_residual)
        super().__init__(intermediate_dim, num_heads, **kwargs)
        if key_dim is not None and (not is_int(key_dim) or key_dim < 1):
            raise ValueError(f"`key_dim` must be a positive int or None. Received: {key_dim!r}")
        self.key_dim = None if key_dim is None else int(key_dim)
        self.float32_residual = float32_residual

    @property
    def input_dtype(self):
        # With a float32 residual stream Keras casts the layer's input to
        # float32 (not to the compute dtype); the attention and FFN
        # sub-layers cast their own inputs down.
        if self.float32_residual:
            return self.dtype_policy.variable_dtype
        return super().input_dtype

    @property
    def residual_dtype_policy(self):
        """The policy of the residual path: LayerNorms, dropouts (and the sums).

        float32 with `float32_residual` (then the dropouts cast the sub-layers'
        outputs up before the residual add), else the layer's own policy.
        """
        return residual_dtype_policy(self.dtype_policy, self.float32_residual)

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        key_dim = self.key_dim or int(hidden_dim // self.num_heads)
        if key_dim == 0:
            raise ValueError(f"`hidden_dim`={hidden_dim} is smaller than `num_heads`="
                             f"{self.num_heads}; pass `key_dim`.")

        def dense_args():
            return dict(kernel_initializer=clone_initializer(self.kernel_initializer),
                        bias_initializer=clone_initializer(self.bias_initializer),
                        dtype=self.dtype_policy)

        # Same sub-layers, names and build order as keras-hub's TransformerEncoder.
        self._self_attention_layer = self.attention_class(
            num_heads=self.num_heads, key_dim=key_dim, dropout=self.dropout,
            output_shape=hidden_dim, name="self_attention_layer", **dense_args())
        self._self_attention_layer.build(query_shape=inputs_shape, value_shape=inputs_shape)
        residual_policy = self.residual_dtype_policy
        self._self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=residual_policy,
            name="self_attention_layer_norm")
        self._self_attention_layer_norm.build(inputs_shape)
        self._self_attention_dropout = keras.layers.Dropout(
            rate=self.dropout, dtype=residual_policy, name="self_attention_dropout")
        self._feedforward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=residual_policy,
            name="feedforward_layer_norm")
        self._feedforward_layer_norm.build(inputs_shape)
        # FusedDense: keras.layers.Dense with the same weights and outputs,
        # spelled so that TF fuses MatMul + BiasAdd + activation into one
        # oneDNN kernel (2.2x faster FFN in bfloat16 on CPU, see its doc).
        self._feedforward_intermediate_dense = FusedDense(
            self.intermediate_dim, activation=self.activation,
            name="feedforward_intermediate_dense", **dense_args())
        self._feedforward_intermediate_dense.build(inputs_shape)
        self._feedforward_output_dense = FusedDense(
            hidden_dim, name="feedforward_output_dense", **dense_args())
        self._feedforward_output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self._feedforward_dropout = keras.layers.Dropout(
            rate=self.dropout, dtype=residual_policy, name="feedforward_dropout")
        self.built = True

    def compute_output_spec(self, inputs, *args, **kwargs):
        spec = super().compute_output_spec(inputs, *args, **kwargs)
        if self.float32_residual:
            spec = keras.KerasTensor(spec.shape, self.dtype_policy.variable_dtype)
        return spec

    def get_config(self):
        config = super().get_config()
        config["key_dim"] = self.key_dim
        config["float32_residual"] = self.float32_residual
        return config


@keras.saving.register_keras_serializable(package="keras_theseus",
                                          name="FusedTransformerEncoder")
class FusedTransformerEncoder(HeadSizeTransformerEncoder):
    """keras-hub's `TransformerEncoder` (BERT's head size) with fused FFN kernels.

    `HeadSizeTransformerEncoder` at `key_dim=None`, under keras-hub's class
    name: Keras names a layer's weights inside a model file after its class
    name, so `.keras` / `.weights.h5` files written with keras-hub's
    `TransformerEncoder` (every teacher and student saved before this class
    existed, and keras-hub's own `BertBackbone`) load into it, and files it
    writes load into keras-hub's. `ExactGeluBertBackbone` uses it whenever
    the head size is `hidden_dim // num_heads`.

    Example:
    ```python
    layer = FusedTransformerEncoder(intermediate_dim=64, num_heads=2)
    y = layer(np.zeros((1, 8, 32), "float32"))
    ```
    """

    def __init__(self, intermediate_dim, num_heads, key_dim=None, **kwargs):
        if key_dim is not None:
            raise ValueError("`FusedTransformerEncoder` keeps keras-hub's head size; for "
                             f"another `key_dim` use HeadSizeTransformerEncoder. Received: "
                             f"key_dim={key_dim!r}")
        super().__init__(intermediate_dim, num_heads, **kwargs)


# Weight paths in Keras files come from the class name (see the docstring).
FusedTransformerEncoder.__name__ = "TransformerEncoder"
