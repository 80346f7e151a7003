"""Tokenized `tf.data` pipelines from DataFrames."""

import tensorflow as tf


def make_tf_dataset(frame, preprocessor, text_columns=("text",), label_column="label",
                    batch_size=32, shuffle=False, seed=0, drop_remainder=False):
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

    Returns:
        Dataset of `(inputs, labels)` (or `inputs` alone) batches.

    Example:
    ```python
    ds = make_tf_dataset(data.train, preprocessor, batch_size=32, shuffle=True)
    model.fit(ds, epochs=2)
    ```
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")
    text_columns = tuple(text_columns)
    if len(text_columns) not in (1, 2):
        raise ValueError(
            "`text_columns` must name one column (single sentences) or two "
            f"(sentence pairs). Received: {text_columns!r}"
        )
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
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

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
    if drop_remainder:
        # Tokenization loses the static batch size that `batch` gave; put it
        # back so compiled (XLA) steps see fully static shapes.
        def static_batch(*batch):
            fixed = tf.nest.map_structure(
                lambda t: tf.ensure_shape(t, [batch_size] + t.shape[1:]), batch
            )
            return fixed if len(fixed) > 1 else fixed[0]

        ds = ds.map(static_batch)
    return ds.prefetch(tf.data.AUTOTUNE)
