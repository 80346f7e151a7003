"""Self-attention whose graph TensorFlow fuses into oneDNN kernels."""

import keras
import tensorflow as tf
from keras.src.layers.activations.softmax import _large_negative_number

from keras_theseus.models.fused_dense import matmul_bias_add


@keras.saving.register_keras_serializable(package="keras_theseus")
class FusedSelfAttention(keras.layers.MultiHeadAttention):
    """`keras.layers.MultiHeadAttention` with a fusable self-attention graph.

    The same layer (sub-layers, weights, config) as Keras' multi-head
    attention. For self-attention with an attention mask, as every BERT
    encoder layer runs it, the forward pass is spelled so that TensorFlow's
    oneDNN graph rewrites can fuse it:

    - the query, key and value projections are 2-D `matmul` + `bias_add`
      (one `_MklFusedMatMul` each) instead of `einsum` + a broadcasting
      `AddV2`;
    - the mask is an additive bias (`0` where attended, `-1e9` elsewhere,
      as Keras' masked softmax) added to the scaled scores, instead of two
      `SelectV2` passes around the softmax;
    - the output projection is a 2-D `matmul` + `bias_add`.

    Outputs equal Keras' up to float rounding (rows whose keys are all
    masked, which a BERT input with its `[CLS]` token never has, would get
    uniform instead of zero weights). Every other call (cross-attention,
    returned scores, causal masks, Keras masks, quantized or LoRA
    projections) takes Keras' own path. Why: on this project's AMX CPU,
    bfloat16 element-wise kernels cost more than the bfloat16 matmuls, and
    this spelling removes most of them (docs/precision.md has the numbers).

    Example:
    ```python
    layer = FusedSelfAttention(num_heads=2, key_dim=8)
    x = np.ones((1, 4, 16), "float32")
    y = layer(x, x, attention_mask=np.ones((1, 4, 4), "bool"))
    ```
    """

    def __call__(self, query, value=None, key=None, **kwargs):
        # Self-attention on an input of another dtype (a float32 residual
        # stream under a mixed policy): Keras would cast `query` and `value`
        # separately into two tensors, and `call` would no longer see
        # self-attention. Cast once so both stay the same tensor.
        if (value is query and (key is None or key is query) and query is not None
                and getattr(query, "_keras_mask", None) is None):
            query = self.dtype_policy.convert_input(query, self.autocast, self.input_dtype)
            value = query
            key = None if key is None else query
        return super().__call__(query, value=value, key=key, **kwargs)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        fast = (value is query and (key is None or key is query)
                and attention_mask is not None and not return_attention_scores
                and not use_causal_mask and query_mask is None and value_mask is None
                and key_mask is None and getattr(query, "_keras_mask", None) is None
                and all(d.quantization_mode is None and not getattr(d, "lora_enabled", False)
                        for d in (self._query_dense, self._key_dense, self._value_dense,
                                  self._output_dense))
                and self._output_dense.kernel.shape.rank == 3)
        if not fast:
            return super().call(query, value, key=key, query_mask=query_mask,
                                value_mask=value_mask, key_mask=key_mask,
                                attention_mask=attention_mask,
                                return_attention_scores=return_attention_scores,
                                training=training, use_causal_mask=use_causal_mask)
        return fused_self_attention(self, query, attention_mask, training=training)


def fused_self_attention(layer, x, attention_mask, training=None, heads=None):
    """`layer`'s self-attention on `x`, spelled for oneDNN fusion (see above).

    Args:
        layer: a built `keras.layers.MultiHeadAttention` (3-D output kernel,
            no quantization or LoRA).
        x: `(batch, length, hidden)`, the query, key and value.
        attention_mask: `(batch, length, length)` or `(batch, 1, length,
            length)`, true where attended.
        training: applies the attention-probability dropout.
        heads: a Python int: run only the first `heads` heads (slices of the
            projection kernels). This is what a head mask keeping the first
            `heads` heads computes, at `heads / num_heads` of the attention's
            cost: DynaBERT's width sub-networks after rewiring. None: all.
    """
    # The layer's compute dtype, whatever x's (a float32 residual stream).
    dtype = layer.compute_dtype
    x = tf.cast(tf.convert_to_tensor(x), dtype)
    shape = tf.shape(x)
    batch, length, hidden = shape[0], shape[1], x.shape[-1]
    total, key_dim = layer._num_heads, layer._key_dim
    heads = total if heads is None else int(heads)
    if not 0 < heads <= total:
        raise ValueError(f"`heads` must be in [1, {total}]. Received: {heads!r}")
    value_dim = layer._value_dim or key_dim
    rows = tf.reshape(x, [-1, hidden])

    def project(dense, size):
        # (rows, hidden) @ (hidden, heads·size) + bias → (batch, heads, length, size)
        kernel, bias = dense.kernel, dense.bias
        if heads < total:
            kernel = kernel[:, :heads]
            bias = None if bias is None else bias[:heads]
        bias = None if bias is None else tf.reshape(tf.cast(bias, dtype), [-1])
        y = matmul_bias_add(rows, tf.reshape(tf.cast(kernel, dtype), [hidden, -1]), bias)
        return tf.transpose(tf.reshape(y, [batch, length, heads, size]), [0, 2, 1, 3])

    q = project(layer._query_dense, key_dim)
    k = project(layer._key_dense, key_dim)
    v = project(layer._value_dense, value_dim)
    scores = tf.matmul(q, k, transpose_b=True) * tf.cast(layer._inverse_sqrt_key_dim, dtype)
    mask = tf.cast(attention_mask, dtype)
    if mask.shape.rank == 3:
        mask = mask[:, None]
    # Keras' masked-softmax value for this dtype (-1e9; -3e4 in float16),
    # as a bias: one add, which oneDNN fuses into the score matmul.
    scores = scores + (1.0 - mask) * tf.cast(_large_negative_number(dtype), dtype)
    probabilities = layer._dropout_layer(tf.nn.softmax(scores, axis=-1), training=training)
    context = tf.matmul(probabilities, v)                       # (batch, heads, length, v)
    context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [-1, heads * value_dim])
    out = layer._output_dense
    kernel = out.kernel if heads == total else out.kernel[:heads]
    bias = None if out.bias is None else tf.cast(out.bias, dtype)
    y = matmul_bias_add(context, tf.reshape(tf.cast(kernel, dtype), [heads * value_dim, -1]),
                        bias)
    y = tf.reshape(y, [batch, length, -1])
    y.set_shape(x.shape[:-1].concatenate([out.kernel.shape[-1]]))
    return y
