"""DistilBERT-style masked-LM masking for task-agnostic distillation.

DistilBERT (Sanh et al., 2019; huggingface `examples/research_projects/
distillation`) trains its student with a masked-LM objective whose masked
positions are drawn with probability proportional to
`max(count(token), 1) ** -smoothing` (smoothing 0.7), so frequent tokens are
masked less often than under BERT's uniform selection, and special tokens are
never masked. Selected tokens are then replaced by `[MASK]` 80% of the time,
by a random token 10% of the time and kept unchanged 10% of the time.

`count_tokens` counts token ids over a corpus and `DistilBertMasker` turns
packed token ids into `(x, y, sample_weight)` batches in exactly the format
of keras-hub's `BertMaskedLMPreprocessor`, so its output feeds
`keras_hub.models.BertMaskedLM` (or a distillation model built on the same
inputs) directly.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_theseus.utils import is_int as _is_int
from keras_theseus.utils import is_number as _is_number

__all__ = ["DistilBertMasker", "count_tokens"]


def _check_vocabulary_size(vocabulary_size):
    if not _is_int(vocabulary_size) or vocabulary_size <= 0:
        raise ValueError(
            "`vocabulary_size` must be a positive int. "
            f"Received: vocabulary_size={vocabulary_size!r}")
    return int(vocabulary_size)


def _check_rate(name, value):
    if not (_is_number(value) and 0 <= value <= 1):
        raise ValueError(f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}")
    return float(value)


# ---------------------------------------------------------------------------
# Token counting.
# ---------------------------------------------------------------------------


def _to_numpy(value):
    if isinstance(value, tf.RaggedTensor):
        return value.flat_values.numpy()
    if hasattr(value, "flat_values"):  # tf.RaggedTensorValue from as_numpy_iterator.
        return np.asarray(value.flat_values)
    if isinstance(value, tf.Tensor):
        return value.numpy()
    return value


def _flatten_ids(value):
    """1-D array of the integers in an array / tensor / (ragged) nested list."""
    value = _to_numpy(value)
    if isinstance(value, np.ndarray) and value.dtype != object:
        return value.reshape(-1)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # Ragged nested list.
            array = None
        if array is not None and array.dtype != object:
            return array.reshape(-1)
        parts = [_flatten_ids(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros((0,), "int64")
    return np.asarray(value).reshape(-1)


def _element_ids(element):
    """Token ids of one corpus element (dict, `(x, y)` pair, or ids)."""
    if isinstance(element, tuple) and element and isinstance(element[0], dict):
        element = element[0]  # `(x, y)` / `(x, y, sample_weight)` pairs.
    if isinstance(element, dict):
        if "token_ids" not in element:
            raise ValueError(
                "`token_ids`: dict corpus elements must have a 'token_ids' key. "
                f"Received keys: {sorted(element)}")
        ids = _to_numpy(element["token_ids"])
        mask = element.get("padding_mask")
        if mask is not None:
            ids = np.asarray(ids)
            mask = np.asarray(_to_numpy(mask)).astype(bool)
            if mask.shape != ids.shape:
                raise ValueError(
                    "`token_ids`: 'padding_mask' must have the shape of 'token_ids'. "
                    f"Received shapes {mask.shape} and {ids.shape}.")
            return ids[mask]
        return _flatten_ids(ids)
    return _flatten_ids(element)


def _check_ids(ids, vocabulary_size):
    if ids.size == 0:
        return np.zeros((0,), "int64")
    if not (np.issubdtype(ids.dtype, np.integer)
            or (np.issubdtype(ids.dtype, np.floating) and np.all(ids == np.round(ids)))):
        raise ValueError(f"`token_ids` must hold integer token ids. Received dtype {ids.dtype}.")
    ids = ids.astype("int64")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocabulary_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"`token_ids` must lie in [0, vocabulary_size - 1] = [0, {vocabulary_size - 1}]. "
            f"Received token id {bad}.")
    return ids


def count_tokens(token_ids, vocabulary_size):
    """Count how often each token id occurs in a corpus.

    The counts are what `DistilBertMasker(token_counts=...)` needs (DistilBERT
    computes them once over the whole pretraining corpus).

    Args:
        token_ids: the corpus: an int array or tensor of any shape, a nested
            (possibly ragged) list of ints, a dict with `"token_ids"` (and
            optionally `"padding_mask"`: only positions where it is true are
            counted), or a `tf.data.Dataset` whose elements are any of these
            (elements that are `(x, y)` tuples with a dict `x` use `x`).
        vocabulary_size: int > 0; every id must lie in
            `[0, vocabulary_size - 1]`.

    Returns:
        int64 numpy array of shape `(vocabulary_size,)`.

    Raises:
        ValueError: `vocabulary_size` is not a positive int, or a token id is
            out of range.

    Example:
    ```python
    counts = count_tokens(train_ds.map(lambda x, y: x), vocabulary_size=30522)
    masker = DistilBertMasker(30522, mask_token_id=103, token_counts=counts)
    ```
    """
    vocabulary_size = _check_vocabulary_size(vocabulary_size)
    counts = np.zeros((vocabulary_size,), "int64")
    if isinstance(token_ids, tf.data.Dataset):
        elements = token_ids.as_numpy_iterator()
    else:
        elements = [token_ids]
    for element in elements:
        ids = _check_ids(_element_ids(element), vocabulary_size)
        counts += np.bincount(ids, minlength=vocabulary_size)
    return counts


# ---------------------------------------------------------------------------
# Masking.
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_theseus")
class DistilBertMasker(keras.layers.Layer):
    """DistilBERT masked-LM masking as a `tf.data`-friendly preprocessing layer.

    Takes packed BERT inputs and returns `(x, y, sample_weight)` in exactly the
    format of `keras_hub.models.BertMaskedLMPreprocessor`:

    - `x["token_ids"]` (int32): the corrupted token ids,
    - `x["segment_ids"]` (int32, zeros if not given), `x["padding_mask"]`
      (bool, all true if not given),
    - `x["mask_positions"]` (int32, `(..., max_selections)`): selected
      positions in ascending order; unused slots hold position 0,
    - `y` (int32, `(..., max_selections)`): the original ids at
      `mask_positions` (0 in unused slots),
    - `sample_weight` (float32, `(..., max_selections)`): 1.0 for real
      selections, 0.0 for unused slots.

    Selection follows DistilBERT: a position holding token `t` is selected with
    probability proportional to `max(token_counts[t], 1) ** -smoothing`;
    padding (`padding_mask` false) and `special_token_ids` are never selected.
    Positions are sampled without replacement (Gumbel-top-k, the same
    distribution as `torch.multinomial(..., replacement=False)`).

    DistilBERT draws `ceil(mask_rate * total)` positions over the whole
    batch. Here each sequence draws its own count, `n = mask_rate * S`
    stochastically rounded (floor or ceil, so `E[n] = mask_rate * S`) where
    `S` is its number of selectable tokens, at least 1 when `mask_rate > 0`
    and `S > 0`, and at most `min(S, max_selections)`. The expected fraction
    of masked tokens is the same (except for the at-least-one rule on very
    short sequences), and each sequence gets a fixed number of prediction
    slots, as `BertMaskedLM` needs.

    Each selected position is then replaced by `mask_token_id` with
    probability `mask_token_rate`, by a random token with probability
    `random_token_rate`, and left unchanged otherwise. Unlike DistilBERT,
    which draws random tokens uniformly over the whole vocabulary, random
    tokens are drawn uniformly from the non-special ids (all ids if every id
    is special), so corruption never inserts `[CLS]`, `[PAD]`, ... tokens.

    Every call draws fresh masks from a `tf.random.Generator` seeded with
    `seed`, so two maskers built with the same seed produce the same stream
    of masks (in `dataset.map`, use the default sequential map for an
    exactly reproducible order).

    Args:
        vocabulary_size: int > 0.
        mask_token_id: int in `[0, vocabulary_size - 1]`, the `[MASK]` id.
        token_counts: None (uniform selection, like BERT) or an array of
            `vocabulary_size` non-negative counts, e.g. from `count_tokens`.
        smoothing: float >= 0. Selection weight is
            `max(count, 1) ** -smoothing` (0 gives uniform selection).
        mask_rate: float in [0, 1]. Fraction of selectable tokens to select.
        special_token_ids: ids never selected and never used as random
            replacements, e.g. `[CLS]`, `[SEP]`, `[PAD]`, `[MASK]`, `[UNK]`.
            Padding is also excluded through `padding_mask`.
        mask_token_rate: float in [0, 1]. Probability that a selected token
            becomes `mask_token_id`.
        random_token_rate: float in [0, 1]. Probability that a selected token
            becomes a random token; `mask_token_rate + random_token_rate`
            must be <= 1, the rest is kept unchanged.
        max_selections: int > 0, the number of prediction slots per
            sequence (selections beyond it are dropped). Defaults to
            `max(1, ceil(mask_rate * sequence_length))` from the input's
            static sequence length; required when that length is unknown.
        seed: None (non-deterministic) or an int.
        **kwargs: `keras.layers.Layer` arguments (e.g. `name`).

    Call arguments:
        inputs: dict with `"token_ids"` (int, `(batch, seq)` or `(seq,)`),
            `"padding_mask"` (bool or int, same shape; optional) and
            `"segment_ids"` (optional). A bare token id tensor is accepted
            too.

    Example:
    ```python
    counts = count_tokens(unlabelled_ds, vocabulary_size=30522)
    masker = DistilBertMasker(
        30522, mask_token_id=103, token_counts=counts,
        special_token_ids=[0, 100, 101, 102, 103], seed=0)
    # unlabelled_ds yields {"token_ids", "padding_mask", "segment_ids"}.
    train_ds = unlabelled_ds.batch(32).map(masker).prefetch(tf.data.AUTOTUNE)
    masked_lm = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    masked_lm.fit(train_ds, epochs=1)
    ```
    """

    def __init__(self, vocabulary_size, mask_token_id, *, token_counts=None, smoothing=0.7,
                 mask_rate=0.15, special_token_ids=None, mask_token_rate=0.8,
                 random_token_rate=0.1, max_selections=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        # Preprocessing layer: inputs are int/bool tensors handled by `call`.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

        vocabulary_size = _check_vocabulary_size(vocabulary_size)
        if not _is_int(mask_token_id) or not 0 <= mask_token_id < vocabulary_size:
            raise ValueError(
                f"`mask_token_id` must be an int in [0, vocabulary_size - 1] = "
                f"[0, {vocabulary_size - 1}]. Received: mask_token_id={mask_token_id!r}")
        if not _is_number(smoothing) or smoothing < 0:
            raise ValueError(
                f"`smoothing` must be a number >= 0. Received: smoothing={smoothing!r}")
        mask_rate = _check_rate("mask_rate", mask_rate)
        mask_token_rate = _check_rate("mask_token_rate", mask_token_rate)
        random_token_rate = _check_rate("random_token_rate", random_token_rate)
        if mask_token_rate + random_token_rate > 1 + 1e-9:
            raise ValueError(
                "`mask_token_rate + random_token_rate` must be <= 1. Received: "
                f"mask_token_rate={mask_token_rate}, random_token_rate={random_token_rate}")
        if max_selections is not None and (not _is_int(max_selections) or max_selections < 1):
            raise ValueError(
                "`max_selections` must be None or an int >= 1. "
                f"Received: max_selections={max_selections!r}")
        if seed is not None and not _is_int(seed):
            raise ValueError(f"`seed` must be None or an int. Received: seed={seed!r}")

        special = [] if special_token_ids is None else list(special_token_ids)
        for token_id in special:
            if not _is_int(token_id) or not 0 <= token_id < vocabulary_size:
                raise ValueError(
                    "`special_token_ids` must hold ints in [0, vocabulary_size - 1] = "
                    f"[0, {vocabulary_size - 1}]. "
                    f"Received: special_token_ids={special_token_ids!r}")
        special = sorted({int(t) for t in special})

        if token_counts is None:
            counts = None
            weights = np.ones((vocabulary_size,), "float64")
        else:
            counts = np.asarray(_to_numpy(token_counts))
            if counts.shape != (vocabulary_size,):
                raise ValueError(
                    f"`token_counts` must have shape (vocabulary_size,) = ({vocabulary_size},). "
                    f"Received shape {counts.shape}.")
            if not (np.issubdtype(counts.dtype, np.number) and np.all(np.isfinite(counts))):
                raise ValueError("`token_counts` must hold finite numbers.")
            if np.any(counts < 0):
                raise ValueError(
                    "`token_counts` must be >= 0. Received a negative count at token id "
                    f"{int(np.argmax(counts < 0))}.")
            weights = np.maximum(counts.astype("float64"), 1.0) ** -float(smoothing)
        weights[special] = 0.0
        self._token_probs = weights / max(weights.sum(), np.finfo("float64").tiny)

        self.vocabulary_size = vocabulary_size
        self.mask_token_id = int(mask_token_id)
        self.token_counts = counts
        self.smoothing = float(smoothing)
        self.mask_rate = mask_rate
        self.special_token_ids = special
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.max_selections = None if max_selections is None else int(max_selections)
        self.seed = seed

        non_special = np.setdiff1d(np.arange(vocabulary_size), special)
        if non_special.size == 0:
            non_special = np.arange(vocabulary_size)
        self._random_token_ids = tf.constant(non_special, "int32")
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)  # -inf for special tokens.
        self._log_weights = tf.constant(log_weights, "float32")
        # On the host: tf.data runs `map` functions on the CPU.
        with tf.device("/CPU:0"):
            self._generator = (tf.random.Generator.from_seed(seed) if seed is not None
                               else tf.random.Generator.from_non_deterministic_state())
        self.built = True

    @property
    def token_probs(self):
        """Per-token selection probabilities (numpy, sums to 1 over the vocabulary)."""
        return self._token_probs.copy()

    def _num_slots(self, seq_len_static):
        if self.max_selections is not None:
            return self.max_selections
        if seq_len_static is None:
            raise ValueError(
                "`max_selections` is required when the sequence length is not static. "
                "Pass max_selections=<number of prediction slots per sequence>, "
                "e.g. ceil(mask_rate * sequence_length).")
        return max(1, math.ceil(self.mask_rate * seq_len_static - 1e-9))

    def call(self, inputs):
        if isinstance(inputs, dict):
            if "token_ids" not in inputs:
                raise ValueError(
                    "`inputs` must be a dict with a 'token_ids' key. "
                    f"Received keys: {sorted(inputs)}")
            token_ids = inputs["token_ids"]
            padding_mask = inputs.get("padding_mask")
            segment_ids = inputs.get("segment_ids")
        else:
            token_ids, padding_mask, segment_ids = inputs, None, None
        token_ids = tf.convert_to_tensor(token_ids)
        if not token_ids.dtype.is_integer:
            raise ValueError(
                f"`token_ids` must be an int tensor. Received dtype {token_ids.dtype}.")
        token_ids = tf.cast(token_ids, "int32")
        rank = token_ids.shape.rank
        if rank not in (1, 2):
            raise ValueError(
                "`token_ids` must have shape (batch, sequence_length) or (sequence_length,). "
                f"Received shape {token_ids.shape}.")
        if padding_mask is None:
            padding_mask = tf.ones_like(token_ids, "bool")
        else:
            padding_mask = tf.convert_to_tensor(padding_mask)
            if padding_mask.dtype != tf.bool:
                padding_mask = tf.not_equal(padding_mask, tf.zeros((), padding_mask.dtype))
        if segment_ids is None:
            segment_ids = tf.zeros_like(token_ids)
        else:
            segment_ids = tf.cast(segment_ids, "int32")

        unbatched = rank == 1
        if unbatched:
            token_ids = token_ids[tf.newaxis]
            mask_for_selection = padding_mask[tf.newaxis]
        else:
            mask_for_selection = padding_mask
        num_slots = self._num_slots(token_ids.shape[1])
        corrupted, positions, mask_ids, weights = self._mask(
            token_ids, mask_for_selection, num_slots)
        if unbatched:
            corrupted, positions, mask_ids, weights = (
                corrupted[0], positions[0], mask_ids[0], weights[0])
        x = {
            "token_ids": corrupted,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
            "mask_positions": positions,
        }
        return x, mask_ids, weights

    def _mask(self, token_ids, padding_mask, num_slots):
        """Batched masking of `(batch, seq)` ids; returns int32/float32 tensors."""
        shape = tf.shape(token_ids)
        batch, seq_len = shape[0], shape[1]
        log_w = tf.gather(self._log_weights, token_ids)
        selectable = tf.logical_and(padding_mask, log_w > -np.inf)
        num_selectable = tf.reduce_sum(tf.cast(selectable, "int32"), axis=1)

        # Per-sequence count: stochastic rounding of mask_rate * S, so that
        # E[count] = mask_rate * S; at least 1 (if mask_rate > 0), at most
        # min(S, num_slots).
        expected = self.mask_rate * tf.cast(num_selectable, "float32")
        jitter = self._generator.uniform(tf.shape(expected), dtype="float32")
        count = tf.cast(tf.floor(expected + jitter), "int32")
        if self.mask_rate > 0:
            count = tf.maximum(count, 1)
        count = tf.minimum(count, tf.minimum(num_selectable, num_slots))

        # Gumbel-top-k: the top-k of log(w) + Gumbel noise is a sample of k
        # positions without replacement with probability proportional to w.
        uniform = self._generator.uniform(
            shape, minval=np.finfo("float32").tiny, maxval=1.0, dtype="float32")
        keys = tf.where(selectable, log_w - tf.math.log(-tf.math.log(uniform)), -np.inf)
        k = tf.minimum(num_slots, seq_len)
        _, top = tf.math.top_k(keys, k=k)
        top = tf.pad(top, [[0, 0], [0, num_slots - k]])
        valid = tf.range(num_slots)[tf.newaxis] < count[:, tf.newaxis]
        # Sort the selected positions ascending; unused slots go last, at 0.
        positions = tf.sort(tf.where(valid, top, seq_len), axis=1)
        positions = tf.where(valid, positions, 0)
        positions = tf.ensure_shape(positions, [None, num_slots])

        mask_ids = tf.where(valid, tf.gather(token_ids, positions, batch_dims=1), 0)

        # Replacement kind per slot: [MASK], random token, or unchanged.
        kind = self._generator.uniform(tf.shape(positions), dtype="float32")
        random_index = self._generator.uniform(
            tf.shape(positions), maxval=tf.shape(self._random_token_ids)[0], dtype="int32")
        random_ids = tf.gather(self._random_token_ids, random_index)
        new_ids = tf.where(
            kind < self.mask_token_rate, self.mask_token_id,
            tf.where(kind < self.mask_token_rate + self.random_token_rate, random_ids, mask_ids))
        batch_index = tf.broadcast_to(tf.range(batch)[:, tf.newaxis], tf.shape(positions))
        index = tf.stack([batch_index, positions], axis=-1)
        # Unused slots add 0 at position 0, so they change nothing.
        valid_int = tf.cast(valid, "int32")
        replaced = tf.scatter_nd(index, valid_int, shape) > 0
        values = tf.scatter_nd(index, new_ids * valid_int, shape)
        corrupted = tf.where(replaced, values, token_ids)
        return corrupted, positions, mask_ids, tf.cast(valid, "float32")

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "mask_token_id": self.mask_token_id,
            "token_counts": None if self.token_counts is None else self.token_counts.tolist(),
            "smoothing": self.smoothing,
            "mask_rate": self.mask_rate,
            "special_token_ids": list(self.special_token_ids),
            "mask_token_rate": self.mask_token_rate,
            "random_token_rate": self.random_token_rate,
            "max_selections": self.max_selections,
            "seed": self.seed,
        })
        return config
