"""Distillation loss terms as plain tensor functions with token masks.

Each function returns one scalar and takes an optional mask / weight, so
the `Distiller` can restrict a term to real (non-pad) tokens or to the
masked-LM positions. They are written with `keras.ops` and are checked
against independent numpy computations in the tests.
"""

import tensorflow as tf
from keras import ops

EPSILON = 1e-9


def replica_share(weights):
    """The factor that turns this replica's weighted mean into its share of the global one.

    Under a `tf.distribute` strategy with R replicas, each replica computes
    a term as a mean over its own weights (real tokens, token pairs, sample
    weights) and the trainers divide its loss by R before the gradients are
    summed: that averages the replicas' means, which is not the mean over
    the global batch when the replicas hold different amounts of weight (a
    replica with more padding counts its few tokens more). Multiplying each
    replica's mean by `R * Σ w_replica / Σ w_all` makes that average exactly
    `Σ_all v·w / Σ_all w`, the one-device value. One scalar all-reduce;
    1.0 outside a strategy or with one replica (no op is added).

    Must be called inside the replica function (a `train_step` /
    `test_step`). The trainers call it once per step and mask and multiply
    the terms by it, rather than inside `_weighted_mean`: that would add one
    collective per term and layer pair (DynaBERT: per sub-network too).

    Example:
    ```python
    mask = x["padding_mask"]
    loss = masked_mse(teacher_h, student_h, mask) * replica_share(mask)
    ```
    """
    context = tf.distribute.get_replica_context()
    if weights is None or context is None or context.num_replicas_in_sync == 1:
        return 1.0
    local = ops.sum(ops.cast(weights, "float32"))
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, local)
    return local * context.num_replicas_in_sync / ops.maximum(total, EPSILON)


def _f32(*tensors):
    # Losses are computed in float32 whatever the models' compute dtype
    # (mixed_bfloat16 / mixed_float16 policies give half-precision outputs).
    return [ops.cast(t, "float32") for t in tensors]


def _weighted_mean(values, weights=None):
    """Mean of `values`, each weighted by `weights` (same leading shape)."""
    if weights is None:
        return ops.mean(values)
    weights = ops.cast(weights, "float32")
    return ops.sum(values * weights) / ops.maximum(ops.sum(weights), EPSILON)


def soft_target_kl(teacher_logits, student_logits, temperature=1.0, weights=None):
    """KL(softmax(t/T) ‖ softmax(s/T)) · T², averaged over examples.

    Hinton et al.'s soft-target loss with DistilBERT's `batchmean`
    reduction: the KL is summed over classes (or the vocabulary) and
    averaged over examples, or over tokens weighted by `weights` (e.g. the
    padding mask or masked-LM weights). The T² factor keeps its gradient
    scale independent of T.

    Args:
        teacher_logits: `(..., classes)` teacher logits (no gradient needed).
        student_logits: `(..., classes)` student logits, same shape.
        temperature: positive scalar (float or tensor).
        weights: optional `(...)` weights, e.g. a token mask.

    Returns:
        Scalar loss.

    Example:
    ```python
    loss = soft_target_kl(teacher(x), student(x), temperature=2.0)
    ```
    """
    teacher_logits, student_logits = _f32(teacher_logits, student_logits)
    temperature = ops.cast(temperature, "float32")
    teacher_log_probs = ops.log_softmax(teacher_logits / temperature, axis=-1)
    student_log_probs = ops.log_softmax(student_logits / temperature, axis=-1)
    kl = ops.sum(ops.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs), axis=-1)
    return _weighted_mean(kl, weights) * temperature**2


def soft_cross_entropy(teacher_logits, student_logits, weights=None):
    """−Σ softmax(t) · log softmax(s), averaged over examples (DynaBERT's soft CE).

    Equals `soft_target_kl` at T = 1 plus the teacher's entropy, a constant
    for the student, so both give the same gradients; this is the value
    DynaBERT reports.
    """
    teacher_logits, student_logits = _f32(teacher_logits, student_logits)
    ce = -ops.sum(ops.softmax(teacher_logits, axis=-1)
                  * ops.log_softmax(student_logits, axis=-1), axis=-1)
    return _weighted_mean(ce, weights)


def cosine_embedding_loss(teacher_hidden, student_hidden, mask=None):
    """DistilBERT's cosine loss: mean over tokens of `1 - cos(s, t)`.

    Args:
        teacher_hidden, student_hidden: `(batch, seq, hidden)` states of
            the same width (project the student's first if they differ).
        mask: optional `(batch, seq)` mask of real tokens.

    Returns:
        Scalar loss in `[0, 2]`.
    """
    teacher_hidden, student_hidden = _f32(teacher_hidden, student_hidden)
    dot = ops.sum(teacher_hidden * student_hidden, axis=-1)
    norms = ops.norm(teacher_hidden, axis=-1) * ops.norm(student_hidden, axis=-1)
    cosine = dot / ops.maximum(norms, EPSILON)
    return _weighted_mean(1.0 - cosine, mask)


def masked_mse(teacher_hidden, student_hidden, mask=None):
    """Mean squared error over hidden units of the tokens in `mask`.

    TinyBERT's hidden-state loss, averaged over real tokens only (TinyBERT
    itself averages over padded positions too, which makes the loss depend
    on how much padding a batch has).

    Args:
        teacher_hidden, student_hidden: `(batch, seq, hidden)`.
        mask: optional `(batch, seq)` mask of real tokens.
    """
    teacher_hidden, student_hidden = _f32(teacher_hidden, student_hidden)
    per_token = ops.mean(ops.square(student_hidden - teacher_hidden), axis=-1)
    return _weighted_mean(per_token, mask)


def attention_mse(teacher_scores, student_scores, padding_mask=None):
    """TinyBERT's attention loss: MSE between attention score maps.

    Pairs whose query or key is padding are excluded (TinyBERT zeroes them
    in both maps, which only dilutes the mean).

    Args:
        teacher_scores, student_scores: `(batch, heads, seq, seq)`
            pre-softmax scores (or probabilities); same number of heads.
        padding_mask: optional `(batch, seq)` mask of real tokens.
    """
    teacher_scores, student_scores = _f32(teacher_scores, student_scores)
    squared = ops.square(student_scores - teacher_scores)
    if padding_mask is None:
        return ops.mean(squared)
    mask = ops.cast(padding_mask, "float32")
    pair_mask = mask[:, :, None] * mask[:, None, :]          # (batch, q, k)
    per_pair = ops.mean(squared, axis=1)                       # mean over heads
    return _weighted_mean(per_pair, pair_mask)


def sparse_cross_entropy(labels, logits, weights=None):
    """Hard-label cross-entropy from logits, optionally weighted.

    Used for the task labels and for the masked-LM loss (weights = the
    masked-LM sample weights, so padding prediction slots count zero).
    """
    losses = ops.sparse_categorical_crossentropy(labels, ops.cast(logits, "float32"),
                                                 from_logits=True)
    return _weighted_mean(losses, weights)
