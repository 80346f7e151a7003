"""Moving a pretrained encoder onto another WordPiece vocabulary."""

import os

import keras
import numpy as np


def read_vocabulary(vocabulary):
    """A WordPiece vocabulary as a list of tokens, id order.

    Args:
        vocabulary: a `vocab.txt` path (one token per line) or a list of
            tokens.

    Raises:
        ValueError: empty, duplicated tokens, or `[UNK]` missing.
        TypeError: neither a path nor a list.

    Example:
    ```python
    tokens = read_vocabulary(keras_theseus.datasets.chinese_bert_vocabulary_path())
    len(tokens), tokens.index("[CLS]")  # (21128, 101)
    ```
    """
    if isinstance(vocabulary, (str, os.PathLike)):
        with open(vocabulary, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
        where = os.fspath(vocabulary)
    elif isinstance(vocabulary, (list, tuple)):
        tokens, where = list(vocabulary), "`vocabulary`"
    else:
        raise TypeError("`vocabulary` must be a vocab.txt path or a list of tokens. "
                        f"Received: {type(vocabulary).__name__}")
    if not tokens:
        raise ValueError(f"{where}: the vocabulary is empty.")
    seen = {}
    for i, token in enumerate(tokens):
        if token in seen:
            raise ValueError(f"{where}: token {token!r} appears twice (ids {seen[token]} "
                             f"and {i}).")
        seen[token] = i
    if "[UNK]" not in seen:
        raise ValueError(f"{where}: the vocabulary has no [UNK] token.")
    return tokens


def transplant_vocabulary(backbone, source_vocabulary, target_vocabulary, seed=0):
    """A copy of `backbone` that reads `target_vocabulary`'s token ids.

    Every weight is copied except the token embedding table, which gets one
    row per target token: the source row where the token is in both
    vocabularies (a `##` continuation piece missing from the source falls
    back to its bare form), and otherwise a draw from a normal distribution
    with the source table's per-dimension mean and standard deviation, so
    new rows have the scale the encoder's first LayerNorm expects. New rows
    carry no meaning yet: fine-tune the model (e.g. with
    `finetune_teacher`) before using it. This is how the
    `all_minilm_l6_v2_zh` preset gives the English MiniLM the
    bert-base-chinese vocabulary, for which no Chinese weights are shipped.

    Args:
        backbone: a keras-hub `BertBackbone` (or subclass) whose
            `vocabulary_size` equals `len(source_vocabulary)`.
        source_vocabulary: the backbone's vocabulary (path or token list).
        target_vocabulary: the new vocabulary (path or token list).
        seed: seed of the new rows.

    Returns:
        `(new_backbone, copied)`: a backbone of the same class and config
        with `vocabulary_size=len(target)`, and the number of target tokens
        whose row came from the source.

    Example:
    ```python
    backbone, copied = transplant_vocabulary(
        load_backbone("all_minilm_l6_v2"),
        os.path.join(resolve_preset("all_minilm_l6_v2"), "vocab.txt"),
        keras_theseus.datasets.chinese_bert_vocabulary_path())
    backbone.vocabulary_size  # 21128
    ```
    """
    source = read_vocabulary(source_vocabulary)
    target = read_vocabulary(target_vocabulary)
    if len(source) != backbone.vocabulary_size:
        raise ValueError(
            f"`source_vocabulary` has {len(source)} tokens but the backbone's "
            f"`vocabulary_size` is {backbone.vocabulary_size}: pass the vocabulary the "
            "backbone was trained with.")
    old_table = keras.ops.convert_to_numpy(backbone.token_embedding.embeddings)
    index = {token: i for i, token in enumerate(source)}
    rng = np.random.default_rng(seed)
    table = rng.normal(old_table.mean(0), old_table.std(0),
                       size=(len(target), old_table.shape[1])).astype(old_table.dtype)
    copied = 0
    for j, token in enumerate(target):
        i = index.get(token)
        if i is None and token.startswith("##"):
            i = index.get(token[2:])
        if i is not None:
            table[j] = old_table[i]
            copied += 1

    config = dict(backbone.get_config(), vocabulary_size=len(target))
    new = backbone.__class__.from_config(config)
    new_table = new.token_embedding.embeddings
    if len(new.weights) != len(backbone.weights):
        raise ValueError("The rebuilt backbone's weights do not line up with the original's.")
    for new_weight, old_weight in zip(new.weights, backbone.weights):
        if new_weight is new_table:
            new_weight.assign(table)
        else:
            new_weight.assign(old_weight)
    return new, copied


def unknown_token_rate(tokenizer, texts):
    """Fraction of a tokenizer's output on `texts` that is `[UNK]`.

    A quick check that a vocabulary fits a corpus: an English vocabulary on
    Chinese text gives well over half unknown tokens.

    Example:
    ```python
    unknown_token_rate(load_tokenizer("all_minilm_l6_v2"), ["一部好电影"])  # 1.0
    ```
    """
    texts = list(texts)
    if not texts:
        raise ValueError("`texts` is empty.")
    unk = tokenizer.token_to_id("[UNK]")
    ids = tokenizer(texts)
    # Unpadded output is a tf.RaggedTensor in graph code and nested lists in
    # eager keras-hub; either way, flatten to every token.
    if hasattr(ids, "flat_values"):
        flat = np.asarray(ids.flat_values)
    else:
        flat = np.asarray([i for row in ids for i in np.asarray(row).reshape(-1)])
    return float((flat == unk).mean()) if flat.size else 0.0
