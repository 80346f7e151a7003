"""Benchmark result records: `benchmarks/results.json` and `RESULTS.md`."""

import datetime
import json
import os
import platform

from keras_theseus.utils import write_json_atomically

REQUIRED_FIELDS = (
    "experiment", "method", "dataset", "teacher", "metric", "teacher_metric",
)
OPTIONAL_FIELDS = (
    "student_config", "teacher_params", "student_params", "student_metric",
    "latency_ms_teacher", "latency_ms_student", "batch_size", "sequence_length",
    "train_step_ratio", "notes", "split", "extra",
    # Results over seeds (the comparison runner): student_metric is the mean.
    "seeds", "mean", "ci95_low", "ci95_high", "p_vs_truncated",
)


def library_versions():
    """Versions of the libraries a result depends on."""
    import keras
    import keras_hub
    import numpy
    import tensorflow

    from keras_theseus.version import __version__

    return {
        "python": platform.python_version(), "tensorflow": tensorflow.__version__,
        "keras": keras.__version__, "keras_hub": keras_hub.__version__,
        "numpy": numpy.__version__, "keras_theseus": __version__,
    }


def make_record(**fields):
    """Build one result record; derive retention, speedup, device, versions, date.

    Required: `experiment`, `method`, `dataset`, `teacher`, `metric`,
    `teacher_metric`. Optional: `student_config`, `teacher_params`,
    `student_params`, `student_metric`, `latency_ms_teacher`,
    `latency_ms_student`, `batch_size`, `sequence_length`,
    `train_step_ratio`, `split`, `notes`, `extra`.

    `retention = student_metric / teacher_metric` and
    `speedup = latency_ms_teacher / latency_ms_student` when both are given.

    Example:
    ```python
    rec = make_record(experiment="teacher_finetune", method="fine-tune",
                      dataset="movie_reviews", teacher="all_minilm_l6_v2",
                      metric="test_accuracy", teacher_metric=0.88)
    append_record(rec, "benchmarks/results.json")
    ```
    """
    missing = [f for f in REQUIRED_FIELDS if fields.get(f) is None]
    if missing:
        raise ValueError(f"Result record lacks required field(s): {missing}.")
    unknown = set(fields) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS) - {"device"}
    if unknown:
        raise ValueError(
            f"Unknown result field(s) {sorted(unknown)}; put free-form data under `extra`."
        )
    record = {f: fields.get(f) for f in REQUIRED_FIELDS + OPTIONAL_FIELDS}
    if record["student_metric"] is not None and record["teacher_metric"]:
        record["retention"] = record["student_metric"] / record["teacher_metric"]
    else:
        record["retention"] = None
    if record["latency_ms_student"] and record["latency_ms_teacher"]:
        record["speedup"] = record["latency_ms_teacher"] / record["latency_ms_student"]
    else:
        record["speedup"] = None
    if "device" in fields:
        record["device"] = fields["device"]
    else:
        from keras_theseus.timing import device_info

        record["device"] = device_info()
    record["versions"] = library_versions()
    record["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return record


def load_records(path):
    """Records in a results JSON file ([] if it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        try:
            records = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {e.lineno}: invalid JSON ({e.msg}).") from e
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected a JSON list of records.")
    return records


def _to_json(value):
    # numpy scalars and arrays (e.g. from Keras logs) as plain JSON values.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_RECORD_IDENTITY = ("experiment", "method", "dataset", "student_config")


def _identity(record):
    return tuple(record.get(k) for k in _RECORD_IDENTITY)


def _merge(records, record, replace):
    # One record into the list: replaced where its first copy stood (further
    # copies dropped) when `replace` finds it, appended otherwise.
    same = ([i for i, r in enumerate(records) if _identity(r) == _identity(record)]
            if replace else [])
    if not same:
        return records + [record]
    merged = list(records)
    merged[same[0]] = record
    return [r for i, r in enumerate(merged) if i not in same[1:]]


def append_record(record, path, replace=False):
    """Append `record` to the JSON list at `path` (written atomically).

    Args:
        record: a dict from `make_record`.
        path: the results file; created with its folder if missing.
        replace: if True, a record already in the file with the same
            experiment, method, dataset and `student_config` (a grid's
            records differ by depth there) is replaced in place, and any
            further copies are dropped, instead of being kept beside the new
            one. Re-recording a grid with `replace=True` leaves one record
            per method and depth, where it was.

    Returns:
        The list of records now on disk.

    Example:

    >>> append_record(make_record(experiment="e", method="kd", dataset="d",
    ...     teacher="t", metric="accuracy", student_metric=0.9),
    ...     "results.json", replace=True)  # doctest: +SKIP
    """
    return append_records([record], path, replace=replace)


def append_records(records, path, replace=False):
    """Append several records to the JSON list at `path` in one atomic write.

    Each record is merged as `append_record` merges one. With
    `replace=True` the group also ends up in the order given: its records
    take the places in the file that the group holds, in `records`' order,
    so a grid recorded method by method over several runs still reads in
    the grid's order (`append_record` alone keeps the order in which
    methods were first recorded).

    Args:
        records: a sequence of dicts from `make_record`.
        path: the results file; created with its folder if missing.
        replace: as for `append_record`.

    Returns:
        The list of records now on disk.

    Example:

    >>> append_records([make_record(experiment="e", method=m, dataset="d",
    ...     teacher="t", metric="accuracy", student_metric=0.9)
    ...     for m in ("truncated", "kd")], "results.json", replace=True)  # doctest: +SKIP
    """
    records = list(records)
    merged = load_records(path)
    for record in records:
        merged = _merge(merged, record, replace)
    if replace:
        identities = [_identity(r) for r in records]
        places = [i for i, r in enumerate(merged) if _identity(r) in identities]
        # A record given twice keeps its first place and its last value, as
        # merging it into the file does.
        ordered = []
        for record in records:
            ordered = _merge(ordered, record, replace=True)
        for place, record in zip(places, ordered):
            merged[place] = record
    write_json_atomically(path, merged, default=_to_json)
    return merged


def _fmt(value, spec):
    if value is None:
        return "–"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def render_markdown(records, notes=None):
    """Render records as RESULTS.md: one table per experiment, newest last."""
    lines = ["# Benchmark results", "",
             "Generated from `benchmarks/results.json` by "
             "`python benchmarks/render_results.py`. Latency: median of interleaved "
             "rounds after warm-up, in one process.", ""]
    experiments = []
    for r in records:
        if r["experiment"] not in experiments:
            experiments.append(r["experiment"])
    header = ("| method | dataset | teacher | student | params T / S | metric | teacher | "
              "student | retention | latency ms T / S (batch×len) | speedup | train-step ratio "
              "| device | date |")
    for exp in experiments:
        lines += [f"## {exp}", "", header, "|" + "---|" * 14]
        for r in (r for r in records if r["experiment"] == exp):
            dev = r.get("device") or {}
            shape = (f" ({r['batch_size']}×{r['sequence_length']})"
                     if r.get("batch_size") else "")
            student = r.get("student_config")
            if isinstance(student, dict):
                student = ", ".join(f"{k}={v}" for k, v in student.items())
            score = _fmt(r.get("student_metric"), ".4f")
            if r.get("seeds"):
                score = (f"{r['mean']:.4f} [{r['ci95_low']:.4f}, {r['ci95_high']:.4f}] "
                         f"({len(r['seeds'])} seeds" + (
                             f", p {r['p_vs_truncated']:.3f}" if r.get("p_vs_truncated")
                             is not None else "") + ")")
            lines.append(
                "| " + " | ".join([
                    str(r["method"]), str(r["dataset"]), str(r["teacher"]), _fmt(student, ""),
                    f"{_fmt(r.get('teacher_params'), '')} / {_fmt(r.get('student_params'), '')}",
                    str(r["metric"]), _fmt(r["teacher_metric"], ".4f"),
                    score, _fmt(r.get("retention"), ".3f"),
                    f"{_fmt(r.get('latency_ms_teacher'), '.1f')} / "
                    f"{_fmt(r.get('latency_ms_student'), '.1f')}{shape}",
                    _fmt(r.get("speedup"), ".2f"), _fmt(r.get("train_step_ratio"), ".2f"),
                    f"{dev.get('kind', '?')} ({dev.get('count', '?')}×)",
                    str(r.get("date", ""))[:10],
                ]) + " |"
            )
        extra_notes = [r["notes"] for r in records if r["experiment"] == exp and r.get("notes")]
        if extra_notes:
            lines += [""] + [f"- {n}" for n in extra_notes]
        lines.append("")
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    return "\n".join(lines)


def write_markdown(json_path, md_path, notes=None):
    """Render `json_path` into `md_path`.

    `notes` (Markdown) is appended under "Notes"; by default the content of
    a `notes.md` file beside `json_path`, if there is one (the analysis that
    says where the time goes and why a target was missed).
    """
    if notes is None:
        notes_path = os.path.join(os.path.dirname(os.path.abspath(json_path)), "notes.md")
        if os.path.isfile(notes_path):
            with open(notes_path, encoding="utf-8") as f:
                notes = f.read()
    text = render_markdown(load_records(json_path), notes=notes)
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(text)
    return md_path
