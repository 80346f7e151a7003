"""A keras-hub `TransformerEncoder` with head and FFN-neuron masks."""

import keras
import tensorflow as tf
from keras import ops
from keras_hub.src.layers.modeling.transformer_layer_utils import (
    merge_padding_and_attention_mask,
)

from keras_theseus.models.fused_attention import fused_self_attention
from keras_theseus.models.fused_dense import matmul_bias_add
from keras_theseus.models.transformer_encoder import HeadSizeTransformerEncoder


class _Slot:
    """Holds the head mask of the call in progress."""

    value = None


@keras.saving.register_keras_serializable(package="keras_theseus")
class HeadMaskedAttention(keras.layers.MultiHeadAttention):
    """`MultiHeadAttention` whose per-head outputs are scaled by a head mask.

    `_compute_attention` is Keras' documented hook for custom attention; the
    mask multiplies each head's context vectors before the output
    projection, which is exactly the same as removing the masked heads'
    slices from the projection (`mask` 0) or keeping them (`mask` 1).
    The owning encoder sets the mask for the duration of one call.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A plain holder: Keras would track a variable assigned as an attribute.
        self._head_mask_slot = _Slot()

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, **kwargs):
        output, scores = super()._compute_attention(
            query, key, value, attention_mask, training, return_attention_scores, **kwargs)
        head_mask = self._head_mask_slot.value
        if head_mask is not None:
            mask = ops.cast(ops.reshape(head_mask, (1, 1, -1, 1)), output.dtype)
            output = output * mask
        return output, scores


@keras.saving.register_keras_serializable(package="keras_theseus")
class MaskableTransformerEncoder(HeadSizeTransformerEncoder):
    """Post-LN BERT encoder layer with per-head and per-FFN-neuron masks.

    A `HeadSizeTransformerEncoder` (keras-hub's layer with a free head size:
    the same sub-layers, names and shapes, so weights copy across one to
    one) with, when `use_masks=True`, two non-trainable variables:
    `head_mask` `(num_heads,)` and `neuron_mask` `(intermediate_dim,)`
    (ones at first). They are read inside the call, so assigning them (e.g.
    from a callback) changes the active width of an already compiled step.
    Explicit `head_mask=` / `neuron_mask=` call arguments override them.

    `active_heads=` / `active_neurons=` (Python ints) instead run only the
    first heads and FFN neurons, on slices of the kernels: the same result
    as masks that keep that prefix (what a width multiplier keeps after
    rewiring), at that fraction of the attention and FFN cost. The mask
    variables are then not read.

    Args:
        intermediate_dim, num_heads, key_dim, dropout, activation,
            layer_norm_epsilon, kernel_initializer, bias_initializer: as
            `HeadSizeTransformerEncoder`.
        use_masks: create the mask variables.

    Example:
    ```python
    layer = MaskableTransformerEncoder(intermediate_dim=64, num_heads=4)
    y = layer(x)                                     # x: (batch, length, 32)
    layer.head_mask.assign([1.0, 1.0, 0.0, 0.0])     # two heads from now on
    y = layer(x, active_heads=2, active_neurons=32)  # half width, sliced
    ```
    """

    attention_class = HeadMaskedAttention

    def __init__(self, intermediate_dim, num_heads, key_dim=None, use_masks=True, **kwargs):
        super().__init__(intermediate_dim, num_heads, key_dim=key_dim, **kwargs)
        self.use_masks = bool(use_masks)

    def build(self, inputs_shape):
        super().build(inputs_shape)
        if self.use_masks:
            self.head_mask = self.add_weight(shape=(self.num_heads,), initializer="ones",
                                             trainable=False, name="head_mask")
            self.neuron_mask = self.add_weight(shape=(self.intermediate_dim,),
                                               initializer="ones", trainable=False,
                                               name="neuron_mask")

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None,
             head_mask=None, neuron_mask=None, active_heads=None, active_neurons=None):
        if active_heads is not None or active_neurons is not None:
            if head_mask is not None or neuron_mask is not None:
                raise ValueError("Pass masks (`head_mask`, `neuron_mask`) or active sizes "
                                 "(`active_heads`, `active_neurons`), not both.")
            return self._sliced_call(inputs, padding_mask, attention_mask, training,
                                     active_heads, active_neurons)
        if self.use_masks:
            head_mask = self.head_mask if head_mask is None else head_mask
            neuron_mask = self.neuron_mask if neuron_mask is None else neuron_mask
        x = inputs
        mask = merge_padding_and_attention_mask(x, padding_mask, attention_mask)
        residual = x
        slot = self._self_attention_layer._head_mask_slot
        slot.value = head_mask  # read by HeadMaskedAttention during this call only
        try:
            x = self._self_attention_layer(query=x, value=x, attention_mask=mask,
                                           training=training)
        finally:
            slot.value = None
        x = self._self_attention_dropout(x, training=training)
        x = self._self_attention_layer_norm(x + residual)
        residual = x
        x = self._feedforward_intermediate_dense(x)
        if neuron_mask is not None:
            x = x * ops.cast(neuron_mask, x.dtype)
        x = self._feedforward_output_dense(x)
        x = self._feedforward_dropout(x, training=training)
        return self._feedforward_layer_norm(x + residual)

    def _sliced_call(self, x, padding_mask, attention_mask, training, heads, neurons):
        # Why slices and not masks: a masked head or neuron costs as much as
        # a kept one, so DynaBERT's narrower sub-networks trained at full
        # cost; sliced kernels make width w cost about w of the encoder.
        for name, value, total in (("active_heads", heads, self.num_heads),
                                   ("active_neurons", neurons, self.intermediate_dim)):
            if value is not None and not 0 < value <= total:
                raise ValueError(f"`{name}` must be an int in [1, {total}]. "
                                 f"Received: {value!r}")
        neurons = self.intermediate_dim if neurons is None else int(neurons)
        mask = merge_padding_and_attention_mask(x, padding_mask, attention_mask)
        if mask is None:
            shape = ops.shape(x)
            mask = ops.ones((shape[0], shape[1], shape[1]), "bool")
        residual = x
        x = fused_self_attention(self._self_attention_layer, x, mask, training=training,
                                 heads=heads)
        x = self._self_attention_dropout(x, training=training)
        x = self._self_attention_layer_norm(x + residual)
        residual = x
        intermediate, output = (self._feedforward_intermediate_dense,
                                self._feedforward_output_dense)
        # The FFN's compute dtype (x is float32 with `float32_residual`).
        dtype = intermediate.compute_dtype
        shape = tf.shape(x)
        rows = tf.reshape(tf.cast(x, dtype), [-1, x.shape[-1]])
        y = matmul_bias_add(rows, tf.cast(intermediate.kernel[:, :neurons], dtype),
                            tf.cast(intermediate.bias[:neurons], dtype))
        if intermediate.activation is not None:
            y = intermediate.activation(y)
        y = matmul_bias_add(y, tf.cast(output.kernel[:neurons], dtype),
                            tf.cast(output.bias, dtype))
        y = tf.reshape(y, shape)
        y.set_shape(residual.shape)
        y = self._feedforward_dropout(y, training=training)
        return self._feedforward_layer_norm(y + residual)

    def get_config(self):
        config = super().get_config()
        config["use_masks"] = self.use_masks
        return config


def copy_encoder_weights(source, target, heads=None, neurons=None, hidden=None):
    """Copy a (maskable or keras-hub) encoder layer's weights into `target`.

    Args:
        source, target: built `TransformerEncoder`s (either class).
        heads: indices of the heads to copy (default all); `target` must
            have that many heads of the same size.
        neurons: indices of the FFN neurons to copy (default all).
        hidden: indices of the hidden units to keep (default all); used by
            the subarchitecture search to start a narrower model from the
            teacher. Layer-norm statistics then run over fewer units, so the
            result is an initialization, not an equivalent network.
    """
    import numpy as np

    sa, ta = source._self_attention_layer, target._self_attention_layer
    h = slice(None) if heads is None else np.asarray(heads)
    n = slice(None) if neurons is None else np.asarray(neurons)
    d = slice(None) if hidden is None else np.asarray(hidden)
    for name in ("_query_dense", "_key_dense", "_value_dense"):
        kernel, bias = getattr(sa, name).get_weights()
        getattr(ta, name).set_weights([kernel[d][:, h, :], bias[h, :]])
    kernel, bias = sa._output_dense.get_weights()
    ta._output_dense.set_weights([kernel[h][:, :, d], bias[d]])
    for name in ("_self_attention_layer_norm", "_feedforward_layer_norm"):
        getattr(target, name).set_weights([w[d] for w in getattr(source, name).get_weights()])
    kernel, bias = source._feedforward_intermediate_dense.get_weights()
    target._feedforward_intermediate_dense.set_weights([kernel[d][:, n], bias[n]])
    kernel, bias = source._feedforward_output_dense.get_weights()
    target._feedforward_output_dense.set_weights([kernel[n][:, d], bias[d]])
