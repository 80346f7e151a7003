"""Deterministic, leak-free train/dev/test splits of labelled text."""

import dataclasses
import re

import numpy as np
import pandas as pd

_WS = re.compile(r"\s+")

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
DEFAULT_SEED = 20260101


def normalize_text(text):
    """Strip and collapse whitespace: the key used to find duplicates."""
    return _WS.sub(" ", text).strip()


def deduplicate(frame, text_columns=("text",), label_column="label"):
    """Drop repeated texts; drop texts that occur with different labels.

    Texts are compared after `normalize_text`. A text seen with two labels
    is ambiguous, so every copy of it is removed.

    Returns:
        `(frame, stats)` where `stats` counts `duplicates` and `conflicts`.
    """
    if frame.empty:
        return frame.reset_index(drop=True), {
            "duplicates": 0, "conflicts": 0, "conflicting_rows": 0}
    key = frame[list(text_columns)].apply(
        lambda row: "\x1f".join(normalize_text(t) for t in row), axis=1
    )
    labels_per_key = frame.groupby(key)[label_column].nunique()
    conflicting = set(labels_per_key[labels_per_key > 1].index)
    keep = ~key.isin(conflicting)
    n_conflict = int((~keep).sum())
    frame, key = frame[keep], key[keep]
    first = ~key.duplicated()
    stats = {"duplicates": int((~first).sum()), "conflicts": len(conflicting),
             "conflicting_rows": n_conflict}
    return frame[first].reset_index(drop=True), stats


def split_frame(frame, fractions=DEFAULT_FRACTIONS, seed=DEFAULT_SEED, label_column="label"):
    """Split a de-duplicated frame into train/dev/test, stratified by label.

    Each label's rows are shuffled with `numpy.random.default_rng(seed)` and
    cut by `fractions`, so the split is the same on every machine.

    Returns:
        dict `{"train", "dev", "test"}` of DataFrames with a fresh index.
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            "`fractions` must be three positive numbers (train, dev, test) "
            f"summing to 1. Received: fractions={fractions!r}"
        )
    rng = np.random.default_rng(seed)
    parts = {"train": [], "dev": [], "test": []}
    for label in sorted(frame[label_column].unique()):
        idx = np.flatnonzero((frame[label_column] == label).to_numpy())
        idx = idx[rng.permutation(len(idx))]
        n_train = int(round(fractions[0] * len(idx)))
        n_dev = int(round(fractions[1] * len(idx)))
        parts["train"].append(idx[:n_train])
        parts["dev"].append(idx[n_train:n_train + n_dev])
        parts["test"].append(idx[n_train + n_dev:])
    out = {}
    for name, chunks in parts.items():
        idx = np.concatenate(chunks)
        idx = idx[rng.permutation(len(idx))]  # mix labels within a split
        out[name] = frame.iloc[idx].reset_index(drop=True)
    return out


@dataclasses.dataclass
class TextClassificationData:
    """A labelled text dataset with fixed splits.

    Attributes:
        name: dataset name.
        train, dev, test: DataFrames with the text column(s) and an int
            `label` column.
        label_names: list of class names; `label` indexes into it.
        text_columns: the columns holding text (one, or two for pairs).
        info: how the data was built (source files, counts removed, seed).
    """

    name: str
    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame
    label_names: list
    text_columns: tuple = ("text",)
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def num_classes(self):
        return len(self.label_names)

    def split(self, name):
        """Return the DataFrame of split `name` (`train`, `dev` or `test`)."""
        if name not in ("train", "dev", "test"):
            raise ValueError(f"`split` must be 'train', 'dev' or 'test'. Received: {name!r}")
        return getattr(self, name)

    def tf_dataset(self, split, preprocessor, batch_size=32, shuffle=None, seed=0,
                   drop_remainder=None, bucket_widths=None):
        """A tokenized, batched, prefetched `tf.data.Dataset` of one split.

        The train split is shuffled and its last partial batch dropped by
        default (static batch shapes, which XLA-compiled steps with
        `tf.cond` need; reshuffling drops different rows each epoch); other
        splits keep every row, in order. `bucket_widths` pads each batch only
        to its sentences' length bucket (rows then come grouped by length).
        See `keras_theseus.datasets.make_tf_dataset`.
        """
        from keras_theseus.datasets.pipeline import make_tf_dataset

        training = split == "train"
        return make_tf_dataset(
            self.split(split),
            preprocessor,
            text_columns=self.text_columns,
            batch_size=batch_size,
            shuffle=training if shuffle is None else shuffle,
            seed=seed,
            drop_remainder=training if drop_remainder is None else drop_remainder,
            bucket_widths=bucket_widths,
        )

    def summary(self):
        """Counts per split and label, as a DataFrame."""
        rows = {}
        for s in ("train", "dev", "test"):
            counts = self.split(s)["label"].value_counts().sort_index()
            rows[s] = {self.label_names[i]: int(c) for i, c in counts.items()}
        return pd.DataFrame(rows).T.fillna(0).astype(int)


def build_dataset(name, frame, label_names, text_columns=("text",), info=None,
                  fractions=DEFAULT_FRACTIONS, seed=DEFAULT_SEED):
    """Deduplicate then split `frame` into a `TextClassificationData`."""
    frame, stats = deduplicate(frame, text_columns)
    splits = split_frame(frame, fractions=fractions, seed=seed)
    info = dict(info or {})
    info.update(stats)
    info.update({"seed": seed, "fractions": list(fractions), "rows": len(frame)})
    return TextClassificationData(
        name=name, label_names=list(label_names), text_columns=tuple(text_columns),
        info=info, **splits,
    )
