"""Head and FFN-neuron importance, and rewiring by importance (DynaBERT §3.1)."""

import numpy as np
import tensorflow as tf
from keras import ops

from keras_theseus.distill.losses import sparse_cross_entropy
from keras_theseus.dynabert.maskable_encoder import copy_encoder_weights


def compute_importance(model, dataset, max_batches=None):
    """Importance of every attention head and FFN neuron on labelled data.

    Following DynaBERT (and Michel et al., 2019), on each batch of `(x, y)`
    the task loss is differentiated with respect to

    - a head mask of ones: head h of layer l scores Σ_batches |∂L/∂m_lh|;
    - the FFN weights: neuron j scores Σ_batches (|Σ_i W1_ij ∂W1_ij + b1_j ∂b1_j|
      + |Σ_k W2_jk ∂W2_jk|), the first-order Taylor estimate of the loss
      change when the neuron is removed.

    Args:
        model: a `DynaBertClassifier` (full width and depth are scored).
        dataset: batches of `(inputs, labels)` (e.g. the dev split).
        max_batches: stop after this many batches (default: all).

    Returns:
        `(head_importance (L, H), neuron_importance (L, I))` numpy arrays.

    Example:
    ```python
    heads, neurons = compute_importance(model, dev.take(16))
    rewire(model, heads, neurons)
    ```
    """
    layers = model.encoder_layers
    ffn = [(l._feedforward_intermediate_dense.kernel, l._feedforward_intermediate_dense.bias,
            l._feedforward_output_dense.kernel) for l in layers]
    ffn_vars = [v for triple in ffn for v in triple]

    @tf.function
    def batch_scores(x, y):
        head_masks = [tf.ones((model.num_heads,)) for _ in layers]
        with tf.GradientTape() as tape:
            tape.watch(head_masks)
            # Explicit all-ones masks: the full network is scored whatever
            # sub-network the mask variables currently select.
            logits = model.run_layers(
                x, head_masks=head_masks,
                neuron_masks=[tf.ones((model.intermediate_dim,))] * len(layers))
            loss = sparse_cross_entropy(y, logits)
        grads = tape.gradient(loss, head_masks + ffn_vars)
        head_grads, ffn_grads = grads[:len(layers)], grads[len(layers):]
        heads = tf.stack([tf.abs(g) for g in head_grads])
        neurons = []
        for k, (w1, b1, w2) in enumerate(ffn):
            g1, gb1, g2 = ffn_grads[3 * k:3 * k + 3]
            neurons.append(tf.abs(tf.reduce_sum(w1 * g1, axis=0) + b1 * gb1)
                           + tf.abs(tf.reduce_sum(w2 * g2, axis=1)))
        return heads, tf.stack(neurons)

    head_importance = np.zeros((len(layers), model.num_heads))
    neuron_importance = np.zeros((len(layers), model.intermediate_dim))
    seen = 0
    for batch in dataset:
        x, y = batch[0], batch[1]
        heads, neurons = batch_scores(x, ops.convert_to_tensor(y))
        head_importance += heads.numpy()
        neuron_importance += neurons.numpy()
        seen += 1
        if max_batches and seen >= max_batches:
            break
    if not seen:
        raise ValueError("`dataset` yielded no batches.")
    return head_importance, neuron_importance


def rewire(model, head_importance, neuron_importance):
    """Reorder heads and FFN neurons by descending importance, in place.

    Q/K/V kernels and biases are permuted on the head axis, the attention
    output kernel on its head axis, the FFN input kernel/bias on its output
    axis and the FFN output kernel on its input axis. Attention sums over
    heads and the FFN over neurons, so the model computes exactly the same
    function (the tests check outputs to 1e-5); afterwards every width
    keeps the most important heads and neurons.

    Args:
        model: a `DynaBertClassifier`.
        head_importance: `(L, H)` scores (`compute_importance`).
        neuron_importance: `(L, I)` scores.

    Returns:
        `(head_order, neuron_order)`: the permutations applied per layer.
    """
    head_importance = np.asarray(head_importance)
    neuron_importance = np.asarray(neuron_importance)
    expected = ((model.num_layers, model.num_heads), (model.num_layers, model.intermediate_dim))
    if (head_importance.shape, neuron_importance.shape) != expected:
        raise ValueError(f"Importance shapes must be {expected[0]} and {expected[1]}; "
                         f"received {head_importance.shape} and {neuron_importance.shape}.")
    head_order = np.argsort(-head_importance, axis=1, kind="stable")
    neuron_order = np.argsort(-neuron_importance, axis=1, kind="stable")
    for layer, heads, neurons in zip(model.encoder_layers, head_order, neuron_order):
        copy_encoder_weights(layer, layer, heads=heads, neurons=neurons)
    return head_order, neuron_order
