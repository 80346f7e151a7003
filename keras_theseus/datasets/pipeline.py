"""Tokenized `tf.data` pipelines from DataFrames."""

import numpy as np
import tensorflow as tf


def make_tf_dataset(frame, preprocessor, text_columns=("text",), label_column="label",
                    batch_size=32, shuffle=False, seed=0, drop_remainder=False,
                    bucket_widths=None):
    """Turn a DataFrame into a batched `tf.data.Dataset` of model inputs.

    Tokenization runs inside the pipeline with a keras-hub preprocessor
    (e.g. `BertTextClassifierPreprocessor`), batched then mapped in
    parallel, and prefetched, so the model only ever sees int tensors.

    Args:
        frame: DataFrame holding `text_columns` and `label_column`.
        preprocessor: a keras-hub text classifier preprocessor.
        text_columns: one column for single sentences, two for pairs
            (packed as `[CLS] a [SEP] b [SEP]` with segment ids 0/1).
        label_column: int label column, or None for unlabelled data.
        batch_size: int > 0.
        shuffle: shuffle rows each epoch (seeded).
        seed: shuffle seed.
        drop_remainder: drop the last partial batch.
        bucket_widths: optional increasing sequence lengths, e.g.
            `(32, 64, 96, 128)`, the last one the preprocessor's
            `sequence_length`. Sentences are grouped by length and each batch
            is padded only to the smallest width that holds all its
            sentences, instead of to `sequence_length`: the model computes
            the same outputs (padding is masked) on far fewer tokens. Batches
            then come in bucket order, not row order, so use it for `fit`
            and `evaluate`, not where `predict` rows must line up with the
            frame. Each width is one more input shape (one more XLA
            compilation).

    Returns:
        Dataset of `(inputs, labels)` (or `inputs` alone) batches.

    Example:
    ```python
    ds = make_tf_dataset(data.train, preprocessor, batch_size=32, shuffle=True)
    model.fit(ds, epochs=2)
    ```
    """
    _check_batch_size(batch_size)
    text_columns = tuple(text_columns)
    if len(text_columns) not in (1, 2):
        raise ValueError(
            "`text_columns` must name one column (single sentences) or two "
            f"(sentence pairs). Received: {text_columns!r}"
        )
    widths = _check_bucket_widths(bucket_widths, preprocessor)
    missing = [c for c in text_columns + ((label_column,) if label_column else ())
               if c not in frame.columns]
    if missing:
        raise KeyError(f"DataFrame lacks column(s) {missing}; it has {list(frame.columns)}.")
    texts = tuple(frame[c].astype(str).tolist() for c in text_columns)
    features = texts[0] if len(texts) == 1 else texts
    if label_column:
        ds = tf.data.Dataset.from_tensor_slices(
            (features, frame[label_column].to_numpy().astype("int32"))
        )
    else:
        ds = tf.data.Dataset.from_tensor_slices(features)
    if shuffle:
        ds = ds.shuffle(len(frame), seed=seed, reshuffle_each_iteration=True)
    # Tokenize in large batches either way; bucketing re-batches afterwards.
    ds = ds.batch(batch_size if widths is None else 256,
                  drop_remainder=drop_remainder and widths is None)

    # keras-hub preprocessors read a lone positional tuple as `(x, y)`, so a
    # sentence pair must be passed as `x=(first, second)`; `map` unpacks tuple
    # elements into arguments.
    if label_column:
        def tokenize(x, y):
            return preprocessor(x=tuple(x) if isinstance(x, (tuple, list)) else x, y=y)
    else:
        def tokenize(*x):
            return preprocessor(x=x if len(x) > 1 else x[0])

    ds = ds.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
    if widths is not None:
        ds = bucket_by_length(
            ds.unbatch(), widths, batch_size, drop_remainder,
            getattr(getattr(preprocessor, "tokenizer", None), "pad_token_id", 0) or 0)
    if drop_remainder:
        # Tokenization loses the static batch size that `batch` gave; put it
        # back so compiled (XLA) steps see fully static shapes.
        def static_batch(*batch):
            fixed = tf.nest.map_structure(
                lambda t: tf.ensure_shape(t, [batch_size] + list(t.shape[1:])), batch
            )
            return fixed if len(fixed) > 1 else fixed[0]

        ds = ds.map(static_batch)
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")


def _check_bucket_widths(bucket_widths, preprocessor=None):
    if bucket_widths is None:
        return None
    widths = list(bucket_widths)
    if (not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0
                              for w in widths)
            or sorted(set(widths)) != widths):
        raise ValueError("`bucket_widths` must be strictly increasing positive ints. "
                         f"Received: {bucket_widths!r}")
    length = getattr(preprocessor, "sequence_length", None)
    if length is not None and widths[-1] != length:
        raise ValueError(
            f"The last of `bucket_widths` must be the preprocessor's sequence_length "
            f"({length}), so every sentence fits a bucket. Received: {bucket_widths!r}"
        )
    return widths


def bucket_by_length(dataset, bucket_widths, batch_size, drop_remainder=False, pad_id=0):
    """Batch tokenized examples by length, padding each batch to its bucket.

    `dataset` yields single (unbatched) examples: a dict of 1-D int tensors
    with a `padding_mask` (1 for real tokens), optionally followed by labels,
    as a keras-hub preprocessor produces them. Each example is cut to its
    real length; examples of similar length are batched together and padded
    to the smallest of `bucket_widths` that holds them (`token_ids` with
    `pad_id`, everything else with 0). The number of batches is computed in
    one pass over the lengths and set as the dataset's cardinality.

    Args:
        dataset: unbatched `tf.data.Dataset` of `x` or `(x, y, ...)`.
        bucket_widths: strictly increasing ints; no example may be longer
            than the last.
        batch_size: int > 0.
        drop_remainder: drop each bucket's last partial batch (static batch
            size, as XLA steps with `tf.cond` need).
        pad_id: the tokenizer's padding id.

    Returns:
        The batched dataset.

    Example:
    ```python
    tokenized = make_tf_dataset(frame, preprocessor, batch_size=256).unbatch()
    batches = bucket_by_length(tokenized, (32, 64, 128), batch_size=32)
    ```
    """
    widths = _check_bucket_widths(bucket_widths)
    _check_batch_size(batch_size)

    def trim(*example):
        x = example[0]
        length = tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32))
        trimmed = {k: v[:length] for k, v in x.items()}
        return (trimmed,) + tuple(example[1:]) if len(example) > 1 else trimmed

    def length_of(*example):
        return tf.shape(example[0]["token_ids"])[0]

    ds = dataset.map(trim, num_parallel_calls=tf.data.AUTOTUNE)
    sample = ds.element_spec
    x_spec = sample[0] if isinstance(sample, tuple) else sample
    pads = {k: tf.cast(pad_id if k == "token_ids" else 0, spec.dtype)
            for k, spec in x_spec.items()}
    padding_values = (pads,) + tuple(tf.cast(0, s.dtype) for s in sample[1:]) \
        if isinstance(sample, tuple) else pads
    # Bucket i holds lengths in [widths[i-1] + 1, widths[i]] and is padded to
    # widths[i] (`bucket_by_sequence_length` pads to boundary - 1); one more
    # bucket past the last width is required by the API and stays empty.
    batches = ds.bucket_by_sequence_length(
        length_of, bucket_boundaries=[w + 1 for w in widths],
        bucket_batch_sizes=[batch_size] * (len(widths) + 1),
        padding_values=padding_values, pad_to_bucket_boundary=True,
        drop_remainder=drop_remainder)
    # A bucket's size depends on lengths only, not on the shuffle order, so
    # the number of batches is fixed: one pass over the lengths finds it, and
    # Keras then shows a progress total instead of warning at every epoch
    # end that the input "ran out of data".
    lengths = np.concatenate([b for b in ds.map(length_of).batch(4096).as_numpy_iterator()]
                             or [np.zeros(0, "int32")])
    if lengths.size and lengths.max() > widths[-1]:
        raise ValueError(
            f"An example has {int(lengths.max())} tokens, more than the last of "
            f"`bucket_widths` ({widths[-1]}). Received: bucket_widths={bucket_widths!r}")
    counts = np.bincount(np.searchsorted(widths, lengths), minlength=len(widths))
    per_bucket = counts // batch_size if drop_remainder else -(-counts // batch_size)
    return batches.apply(tf.data.experimental.assert_cardinality(int(per_bucket.sum())))
