"""CLUE classification tasks read from the official JSON-lines files.

CLUE (Xu et al., 2020, https://github.com/CLUEbenchmark/CLUE) ships each
task as a zip (`https://storage.googleapis.com/cluebenchmark/tasks/<task>_public.zip`)
of JSON-lines files: `train.json`, `dev.json`, `test.json` (unlabelled) and,
for TNEWS and IFLYTEK, `labels.json`. Nothing is downloaded here; point
`load_clue` at the unzipped directory.

Each task's quirks are handled as the CLUE baselines do:

| task | text_a | text_b | labels |
|---|---|---|---|
| `afqmc` | sentence1 | sentence2 | "0", "1" |
| `tnews` | sentence | – | codes 100–116 without 105, 111 (15) |
| `iflytek` | sentence | – | "0" … "118" (119) |
| `cmnli`, `ocnli` | sentence1 | sentence2 | contradiction, entailment, neutral; "-" rows dropped |
| `csl` | keywords joined with "；" | abst | "0", "1" |
| `cluewsc2020` | text, span1 marked `_…_`, span2 marked `[…]` | – | "true", "false" |
"""

import dataclasses
import hashlib
import json
import os

import pandas as pd

from keras_theseus.datasets.splits import TextClassificationData

# Labels TNEWS uses when `labels.json` is absent (its official contents).
TNEWS_LABELS = {
    "100": "news_story", "101": "news_culture", "102": "news_entertainment",
    "103": "news_sports", "104": "news_finance", "106": "news_house", "107": "news_car",
    "108": "news_edu", "109": "news_tech", "110": "news_military", "112": "news_travel",
    "113": "news_world", "114": "news_stock", "115": "news_agriculture", "116": "news_game",
}
NLI_LABELS = ("contradiction", "entailment", "neutral")
DOWNLOAD_URL = "https://storage.googleapis.com/cluebenchmark/tasks/{task}_public.zip"


@dataclasses.dataclass(frozen=True)
class ClueTask:
    """How one CLUE task's files are laid out and parsed.

    Attributes:
        name: task name (lower case, as in the zip name).
        labels: label codes as they appear in the files, in class-index order.
        label_names: human-readable names (same order).
        pair: whether examples are segment pairs (`text_a`, `text_b`).
        train_files: candidate train file names, first existing wins.
        labels_file_description: field naming a label in `labels.json`
            (`label_desc` for TNEWS, `label_des` for IFLYTEK), or None.
        no_majority_label: a label value meaning "annotators disagreed";
            such rows are dropped.
    """

    name: str
    labels: tuple
    label_names: tuple
    pair: bool
    train_files: tuple = ("train.json",)
    labels_file_description: str = None
    no_majority_label: str = None

    @property
    def submission_name(self):
        return f"{self.name}_predict.json"


CLUE_TASKS = {
    "afqmc": ClueTask("afqmc", ("0", "1"), ("different", "same"), pair=True),
    "tnews": ClueTask("tnews", tuple(TNEWS_LABELS), tuple(TNEWS_LABELS.values()), pair=False,
                      labels_file_description="label_desc"),
    "iflytek": ClueTask("iflytek", tuple(str(i) for i in range(119)),
                        tuple(str(i) for i in range(119)), pair=False,
                        labels_file_description="label_des"),
    "cmnli": ClueTask("cmnli", NLI_LABELS, NLI_LABELS, pair=True, no_majority_label="-"),
    "ocnli": ClueTask("ocnli", NLI_LABELS, NLI_LABELS, pair=True,
                      train_files=("train.50k.json", "train.3k.json", "train.json"),
                      no_majority_label="-"),
    "csl": ClueTask("csl", ("0", "1"), ("not_keywords", "keywords"), pair=True),
    "cluewsc2020": ClueTask("cluewsc2020", ("true", "false"), ("coreferent", "not_coreferent"),
                            pair=False),
}


def clue_task(task):
    """The `ClueTask` for a name (case-insensitive), or a clear error."""
    key = str(task).lower()
    if key not in CLUE_TASKS:
        raise ValueError(f"Unknown CLUE task {task!r}. Choose one of {sorted(CLUE_TASKS)}.")
    return CLUE_TASKS[key]


def iter_json_lines(path):
    """Yield `(line_number, record)` for each non-blank line of a JSON-lines file.

    Lines are split on "\\n" only: IFLYTEK sentences contain raw U+2028
    characters, which `str.splitlines()` would wrongly treat as line breaks.

    Raises:
        ValueError: naming the file and line that is not UTF-8 or not a
            JSON object.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}: line {lineno}: not valid UTF-8 ({e}).") from e
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{path}: line {lineno}: invalid JSON ({e.msg} at column {e.colno})."
                ) from e
            if not isinstance(record, dict):
                raise ValueError(f"{path}: line {lineno}: expected a JSON object, got "
                                 f"{type(record).__name__}.")
            yield lineno, record


def _field(record, name, path, lineno, kind=str):
    if name not in record:
        raise ValueError(f"{path}: line {lineno}: missing field {name!r} "
                         f"(fields: {sorted(record)}).")
    value = record[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{path}: line {lineno}: field {name!r} must be "
                         f"{getattr(kind, '__name__', kind)}, got {value!r}.")
    return value


def mark_wsc_spans(text, target, path="<text>", lineno=0):
    """CLUEWSC2020 text with the candidate marked `_…_` and the pronoun `[…]`.

    This is the CLUE baseline's input (its `WSCProcessor`): span indices are
    character offsets into `text`, checked against the span texts.
    """
    spans = {}
    for key in ("span1", "span2"):
        start = _field(target, f"{key}_index", path, lineno, int)
        span = _field(target, f"{key}_text", path, lineno, str)
        if text[start:start + len(span)] != span:
            raise ValueError(
                f"{path}: line {lineno}: {key}_text {span!r} is not at {key}_index {start} "
                f"of the text (found {text[start:start + len(span)]!r}).")
        spans[key] = (start, span)
    marks = {"span1": ("_", "_"), "span2": ("[", "]")}
    # Insert from the right so earlier offsets stay valid.
    out = text
    for key in sorted(spans, key=lambda k: spans[k][0], reverse=True):
        start, span = spans[key]
        left, right = marks[key]
        out = out[:start] + left + span + right + out[start + len(span):]
    return out


def _parse(task, record, path, lineno, labelled):
    """One CLUE record -> dict(id, text_a, text_b, label_code)."""
    name = task.name
    if name in ("afqmc", "cmnli", "ocnli"):
        text_a = _field(record, "sentence1", path, lineno)
        text_b = _field(record, "sentence2", path, lineno)
    elif name in ("tnews", "iflytek"):
        text_a, text_b = _field(record, "sentence", path, lineno), None
    elif name == "csl":
        keywords = _field(record, "keyword", path, lineno, list)
        if not all(isinstance(k, str) for k in keywords):
            raise ValueError(f"{path}: line {lineno}: field 'keyword' must be a list of "
                             f"strings, got {keywords!r}.")
        text_a, text_b = "；".join(keywords), _field(record, "abst", path, lineno)
    else:  # cluewsc2020
        text = _field(record, "text", path, lineno)
        text_a = mark_wsc_spans(text, _field(record, "target", path, lineno, dict), path, lineno)
        text_b = None
    # Test files carry "id" (WSC dev/train use "idx"; AFQMC dev has none).
    row_id = record.get("id", record.get("idx", lineno - 1))
    code = None
    if labelled:
        code = _field(record, "label", path, lineno)
    return {"id": row_id, "text_a": text_a, "text_b": text_b, "label_code": code,
            "line": lineno}


def read_labels_file(path, description_field):
    """`labels.json` -> `{code: description}` in file order."""
    labels = {}
    for lineno, record in iter_json_lines(path):
        code = _field(record, "label", path, lineno)
        labels[code] = _field(record, description_field, path, lineno)
    if not labels:
        raise ValueError(f"{path}: no labels found.")
    return labels


def read_clue_split(path, task, labelled=True, labels=None):
    """Read one CLUE file into a DataFrame.

    Args:
        path: a JSON-lines file.
        task: task name or `ClueTask`.
        labelled: whether lines carry a `label` (False for `test.json`).
        labels: allowed label codes (default the task's).

    Returns:
        `(frame, dropped)`: columns `id`, `text_a`, (`text_b` for pair
        tasks), `label` (class index, -1 when unlabelled), `label_code`,
        `line`; `dropped` counts rows whose label means "no majority".

    Raises:
        ValueError: naming file and line for invalid JSON, a missing field,
            a misplaced WSC span or a label outside the task's label set.
    """
    task = task if isinstance(task, ClueTask) else clue_task(task)
    labels = tuple(labels or task.labels)
    index = {code: i for i, code in enumerate(labels)}
    rows, dropped = [], 0
    for lineno, record in iter_json_lines(path):
        row = _parse(task, record, path, lineno, labelled)
        if labelled:
            code = row["label_code"]
            if task.no_majority_label is not None and code == task.no_majority_label:
                dropped += 1
                continue
            if code not in index:
                raise ValueError(f"{path}: line {lineno}: label {code!r} is not one of "
                                 f"{task.name}'s labels {list(labels)}.")
            row["label"] = index[code]
        else:
            row["label"] = -1
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no examples found.")
    frame = pd.DataFrame(rows)
    if not task.pair:
        frame = frame.drop(columns="text_b")
    frame["label"] = frame["label"].astype("int32")
    return frame, dropped


@dataclasses.dataclass
class ClueData(TextClassificationData):
    """A CLUE task: `train`, `dev` (labelled) and `test` (labels -1).

    Attributes (beyond `TextClassificationData`'s):
        task: the `ClueTask`.
        label_codes: label strings as the files and submissions write them;
            class index i is `label_codes[i]`.
    """

    task: ClueTask = None
    label_codes: list = dataclasses.field(default_factory=list)

    def tf_dataset(self, split, preprocessor, batch_size=32, shuffle=None, seed=0,
                   drop_remainder=None, bucket_widths=None):
        """Like `TextClassificationData.tf_dataset`; `test` yields inputs only."""
        if split != "test":
            return super().tf_dataset(split, preprocessor, batch_size, shuffle, seed,
                                      drop_remainder, bucket_widths)
        from keras_theseus.datasets.pipeline import make_tf_dataset

        return make_tf_dataset(self.test, preprocessor, text_columns=self.text_columns,
                               label_column=None, batch_size=batch_size,
                               drop_remainder=bool(drop_remainder),
                               bucket_widths=bucket_widths)

    def summary(self):
        """Counts per labelled split and label, plus the test size."""
        rows = {}
        for s in ("train", "dev"):
            counts = self.split(s)["label"].value_counts().sort_index()
            rows[s] = {self.label_codes[i]: int(c) for i, c in counts.items()}
        table = pd.DataFrame(rows).T.reindex(columns=self.label_codes).fillna(0).astype(int)
        table = table.loc[:, table.sum(axis=0) > 0]
        table["total"] = table.sum(axis=1)
        table.loc["test", "total"] = len(self.test)
        return table.fillna(0).astype(int)

    def label_code(self, index):
        """The official label string of class `index`."""
        return self.label_codes[int(index)]


def _find(directory, names, task):
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"{directory}: none of {list(names)} found for CLUE task {task!r}. Unzip "
        f"{DOWNLOAD_URL.format(task=task)} there (see README, 'CLUE').")


def resolve_task_dir(data_dir, task):
    """`data_dir` itself if it holds the task's files, else `data_dir/<task>`."""
    task = clue_task(task)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"CLUE data directory {data_dir!r} does not exist.")
    candidates = [data_dir, os.path.join(data_dir, task.name),
                  os.path.join(data_dir, f"{task.name}_public")]
    for directory in candidates:
        if os.path.isfile(os.path.join(directory, "dev.json")):
            return directory
    raise FileNotFoundError(
        f"No dev.json for CLUE task {task.name!r} in {candidates}. Unzip "
        f"{DOWNLOAD_URL.format(task=task.name)} into {os.path.join(data_dir, task.name)}.")


def load_clue(task, data_dir):
    """Load a CLUE classification task from its official files.

    Args:
        task: `afqmc`, `tnews`, `iflytek`, `cmnli`, `ocnli`, `csl` or
            `cluewsc2020`.
        data_dir: the unzipped task directory (with `train.json`,
            `dev.json`, `test.json`), or its parent holding `<task>/`.

    Returns:
        `ClueData` with `train`, `dev`, `test` DataFrames (`text_a`
        [, `text_b`], `label`, `label_code`, `id`, `line`), `label_codes`,
        `label_names`, and `text_columns` ready for `tf_dataset`. TNEWS and
        IFLYTEK take their labels from `labels.json` when present.

    Raises:
        FileNotFoundError: the directory or a split is missing (the message
            names the official download).
        ValueError: a malformed line (file and line number in the message).

    Example:
    ```python
    data = keras_theseus.datasets.load_clue("afqmc", "clue/afqmc")
    train = data.tf_dataset("train", preprocessor)   # [CLS] s1 [SEP] s2 [SEP]
    ```
    """
    task = clue_task(task)
    directory = resolve_task_dir(data_dir, task.name)
    codes, names = list(task.labels), list(task.label_names)
    labels_path = os.path.join(directory, "labels.json")
    if task.labels_file_description and os.path.isfile(labels_path):
        from_file = read_labels_file(labels_path, task.labels_file_description)
        unknown = sorted(set(from_file) - set(task.labels), key=str)
        if unknown:
            raise ValueError(f"{labels_path}: label codes {unknown} are not {task.name} labels "
                             f"{list(task.labels)}.")
        codes, names = list(from_file), list(from_file.values())
    train_path = _find(directory, task.train_files, task.name)
    train, dropped_train = read_clue_split(train_path, task, labels=codes)
    dev, dropped_dev = read_clue_split(_find(directory, ("dev.json",), task.name), task,
                                       labels=codes)
    test_path = _find(directory, ("test.json",), task.name)
    test, _ = read_clue_split(test_path, task, labelled=False, labels=codes)
    digest = hashlib.sha1()
    for frame in (train, dev):
        digest.update(pd.util.hash_pandas_object(frame.drop(columns=["id", "line"]),
                                                 index=False).to_numpy().tobytes())
    info = {"source": directory, "train_file": os.path.basename(train_path),
            "no_majority_dropped": {"train": dropped_train, "dev": dropped_dev},
            "fingerprint": digest.hexdigest()[:10]}
    return ClueData(
        # The name keys the teacher cache, so it carries the data fingerprint:
        # a teacher tuned on a sample is never reused for the full task.
        name=f"clue_{task.name}-{info['fingerprint']}", train=train, dev=dev, test=test,
        label_names=names, text_columns=("text_a", "text_b") if task.pair else ("text_a",),
        info=info, task=task, label_codes=codes,
    )


def write_clue_submission(path, data, predictions, overwrite=False):
    """Write CLUE's `<task>_predict.json`: one `{"id", "label"}` line per test row.

    Args:
        path: output file (by convention `data.task.submission_name`).
        data: the `ClueData` whose test split was predicted.
        predictions: class indices (or logits / probabilities, arg-maxed),
            one per test row, in test order.
        overwrite: replace an existing file.

    Returns:
        `path`.

    Example:
    ```python
    logits = model.predict(data.tf_dataset("test", preprocessor))
    write_clue_submission("afqmc_predict.json", data, logits)
    ```
    """
    import numpy as np

    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=-1)
    if predictions.ndim != 1 or len(predictions) != len(data.test):
        raise ValueError(f"`predictions` must hold one class per test row ({len(data.test)}); "
                         f"received shape {predictions.shape}.")
    if predictions.min(initial=0) < 0 or predictions.max(initial=0) >= len(data.label_codes):
        raise ValueError(f"`predictions` must be class indices in [0, {len(data.label_codes)}).")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    with open(path, "w", encoding="utf-8") as f:
        for row_id, pred in zip(data.test["id"].tolist(), predictions.tolist()):
            f.write(json.dumps({"id": row_id, "label": data.label_codes[pred]},
                               ensure_ascii=False) + "\n")
    return path


def validate_clue_submission(path, data):
    """Check a submission file against a task's test set.

    Every test id must appear exactly once, each with a label from the
    task's label codes.

    Returns:
        The number of predictions.

    Raises:
        ValueError: naming the line at fault, or the missing ids.
    """
    allowed = set(data.label_codes)
    seen = set()
    for lineno, record in iter_json_lines(path):
        if set(record) != {"id", "label"}:
            raise ValueError(f"{path}: line {lineno}: expected keys id and label, got "
                             f"{sorted(record)}.")
        if record["label"] not in allowed:
            raise ValueError(f"{path}: line {lineno}: label {record['label']!r} is not one of "
                             f"{sorted(allowed)}.")
        if record["id"] in seen:
            raise ValueError(f"{path}: line {lineno}: duplicate id {record['id']!r}.")
        seen.add(record["id"])
    expected = set(data.test["id"].tolist())
    if seen != expected:
        missing, extra = sorted(expected - seen)[:5], sorted(seen - expected)[:5]
        raise ValueError(f"{path}: ids differ from the test set (missing e.g. {missing}, "
                         f"unknown e.g. {extra}).")
    return len(seen)
