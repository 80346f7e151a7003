"""Compare compression methods over seeds: cached cells, intervals, paired tests.

`run_comparison` trains every cell of a `ComparisonConfig` grid (dataset ×
student depth × method variant × seed) that is not already cached,
evaluates each student once on dev and once on test, and writes a run
directory with the per-cell CSV, the summary table (mean, std and 95% CI
per method and size), a paired test of every method against the baseline
on the same test sentences and seeds, and a plot of accuracy against
measured speedup.
"""

import dataclasses
import functools
import hashlib
import json
import os
import time
import warnings

import numpy as np
import pandas as pd

from keras_theseus.reporting.statistics import mcnemar_exact
from keras_theseus.reporting.statistics import mean_confidence_interval
from keras_theseus.reporting.statistics import paired_bootstrap
from keras_theseus.utils import write_json_atomically
from keras_theseus.workflows.comparison_config import comparison_config
from keras_theseus.workflows.comparison_config import resolve_bucket_widths
from keras_theseus.workflows.comparison_methods import train_student
from keras_theseus.workflows.comparison_methods import uses_layer_search
from keras_theseus.workflows.compress import new_run_dir
from keras_theseus.workflows.run_status import RunStatus

# Bumped when what a cell computes changes: older cells are not reused.
CELL_FORMAT = 1


def default_cell_cache_dir():
    """`$KERAS_HOME/keras_theseus/comparison_cells` (next to the teacher cache)."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(home, "keras_theseus", "comparison_cells")


def _digest(key):
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _write_json(path, payload):
    # Write, then rename: a killed run never leaves a half-written cell.
    write_json_atomically(path, payload, default=float)


def _read_json(path, key):
    """The cached payload for `key`, or None (missing, torn or stale)."""
    try:
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
    except (OSError, ValueError):
        return None
    return payload if payload.get("key") == key else None


def check_grid(config):
    """Refuse depths the teachers cannot give before anything trains.

    Raises:
        ValueError: naming `num_layers`, the teacher's depth and the method.
    """
    from keras_theseus.models.presets import preset_num_layers
    from keras_theseus.theseus.theseus_classifier import successor_depths

    for dataset in config.datasets:
        total = preset_num_layers(config.preset(dataset))
        for k in config.num_layers:
            if k > total:
                raise ValueError(f"Comparison config `num_layers` must be at most the "
                                 f"teacher's {total} layers ({config.preset(dataset)}). "
                                 f"Received: {k}")
            for spec in config.methods:
                if spec.method == "theseus" and total % k:
                    raise ValueError(
                        f"Comparison config `num_layers` {k} does not divide the teacher's "
                        f"{total} layers, which Theseus ({spec.label!r}) needs (choose from "
                        f"{successor_depths(total)}).")
                if spec.method == "dynabert" and k / total not in _dynabert_depths(total):
                    raise ValueError(f"Comparison config `num_layers` {k}: DynaBERT keeps "
                                     f"evenly dropped layers; use a depth in "
                                     f"{[int(d * total) for d in _dynabert_depths(total)]}.")


def _dynabert_depths(total):
    # Any k/L whose dropped layers DynaBERT can spread evenly.
    return [k / total for k in range(1, total + 1)]


class _DatasetContext:
    """A dataset's data, cached teacher and splits, loaded only when a cell needs them."""

    def __init__(self, config, dataset, cache_dir, verbose, data=None):
        self.config, self.dataset, self.cache_dir, self.verbose = config, dataset, cache_dir, \
            verbose
        self._data = data
        self.preset = config.preset(dataset)
        t, tr = config.teacher, config.training
        self._teacher_settings = {
            "format": CELL_FORMAT, "dataset": dataset, "preset": self.preset, "teacher": t,
            "sequence_length": tr["sequence_length"], "batch_size": tr["batch_size"],
            "limit_train_rows": tr["limit_train_rows"]}

    @functools.cached_property
    def teacher_key(self):
        # The rows themselves are part of the identity: edited data (or a
        # changed built-in split) never reuses a cell.
        return {**self._teacher_settings, "data": data_fingerprint(self.data)}

    @functools.cached_property
    def data(self):
        from keras_theseus.datasets import load_dataset
        from keras_theseus.workflows.main_job import quick_subset

        data = self._data if self._data is not None else load_dataset(self.dataset)
        rows = self.config.training["limit_train_rows"]
        if rows:
            data = quick_subset(data, {"train": rows})
            data.name = f"{self.dataset}-first{rows}"
        return data

    @functools.cached_property
    def teacher(self):
        from keras_theseus.models.teacher import finetune_teacher

        t, tr = self.config.teacher, self.config.training
        teacher, self._preprocessor, _ = finetune_teacher(
            self.data, preset=self.preset, sequence_length=tr["sequence_length"],
            epochs=t["epochs"], batch_size=tr["batch_size"], learning_rate=t["learning_rate"],
            seed=t["seed"], verbose=self.verbose)
        self._check_same_teacher(teacher)
        return teacher

    def _check_same_teacher(self, teacher):
        """Score the teacher once; warn if the cache's cells had another one."""
        # Cells are keyed by the teacher's settings, not its weights: a cell
        # cache carried to another machine (benchmarks/cells/) can hold cells
        # of a teacher whose weights were not carried. The teacher fine-tuned
        # here must then be the one those cells were trained with, or the
        # grid would pair students of two teachers without saying so.
        # Its scores are written as soon as it exists (the report needs them
        # anyway), so even a grid stopped before its report can be checked.
        cached = _read_json(self._teacher_scores_path, self.teacher_key)
        self._teacher_scores_now = scores = _score(teacher, self)
        if cached is None:
            self._keep_teacher_scores()
        elif scores["test_predictions"] != cached["test_predictions"]:
            warnings.warn(
                f"The {self.dataset} teacher fine-tuned now differs from the one this cell "
                f"cache's cells were trained with (dev accuracy {scores['dev_accuracy']:.4f} "
                f"vs {cached['dev_accuracy']:.4f}; test predictions differ). New cells will "
                f"use this teacher and old cells keep theirs: use a fresh `cache_dir` for a "
                f"grid from one teacher. Cache: {self._teacher_scores_path}", stacklevel=2)

    @property
    def _teacher_scores_path(self):
        return os.path.join(self.cache_dir, self.dataset,
                            f"teacher-{_digest(self.teacher_key)}.json")

    @property
    def preprocessor(self):
        if getattr(self, "_preprocessor", None) is None:
            self.teacher  # noqa: B018  (loads the preprocessor with it)
        return self._preprocessor

    def split(self, name):
        # Never bucketed: buckets reorder rows, and predictions are matched
        # to the split's labels (and across methods) by position.
        return self.data.tf_dataset(name, self.preprocessor, batch_size=64)

    def train(self, seed):
        tr = self.config.training
        widths = resolve_bucket_widths(tr["bucket_widths"], tr["sequence_length"])
        return self.data.tf_dataset("train", self.preprocessor, batch_size=tr["batch_size"],
                                    seed=seed, bucket_widths=widths)

    @functools.cached_property
    def labels(self):
        return {name: self.data.split(name)["label"].to_numpy().astype(int)
                for name in ("dev", "test")}

    def teacher_scores(self):
        cached = _read_json(self._teacher_scores_path, self.teacher_key)
        if cached is None:
            self.teacher  # noqa: B018  (loading it scores it once, see _check_same_teacher)
            # Re-read: a kept file from another teacher is reported as kept;
            # a file removed after the teacher loaded is written again.
            cached = _read_json(self._teacher_scores_path, self.teacher_key) or \
                self._keep_teacher_scores()
        return cached

    def _keep_teacher_scores(self):
        kept = {"key": self.teacher_key, **self._teacher_scores_now}
        _write_json(self._teacher_scores_path, kept)
        return kept

    def searched_layers(self, k):
        from keras_theseus.distill.layer_selection import search_layer_subsets

        key = {**self.teacher_key, "layer_search": self.config.search, "num_layers": k}
        path = os.path.join(self.cache_dir, self.dataset, f"layer-search-k{k}-{_digest(key)}"
                            ".json")
        cached = _read_json(path, key)
        if cached is None:
            import keras

            # Its candidates' dropout and the seeded shuffle draw from the
            # global seed: set it once the teacher exists (fine-tuning it
            # draws too) and before the datasets, or the ranking would depend
            # on what ran before the search in this process.
            teacher, seed = self.teacher, self.config.teacher["seed"]
            keras.utils.set_random_seed(seed)
            table = search_layer_subsets(
                teacher, self.train(seed), self.split("dev"), k,
                steps=self.config.search["steps"],
                max_candidates=self.config.search["max_candidates"], verbose=int(
                    self.verbose != 0))
            cached = {"key": key, "layers": [int(i) for i in table.iloc[0]["layers"]],
                      "table": table.assign(layers=table["layers"].map(str)).to_dict("records")}
            _write_json(path, cached)
        return cached["layers"]


def _score(model, context):
    """Dev accuracy and test predictions: each split read once."""
    from keras_theseus.models.classifier import compile_text_classifier

    compile_text_classifier(model)
    out = {}
    for split in ("dev", "test"):
        logits = model.predict(context.split(split), verbose=0)
        predictions = np.asarray(logits).argmax(-1)
        out[f"{split}_accuracy"] = float((predictions == context.labels[split]).mean())
        if split == "test":
            out["test_predictions"] = predictions.astype(int).tolist()
    return out


def _latency(context, student, cache_dir):
    """Teacher and student latency, measured interleaved, cached by architecture."""
    from keras_theseus.models.precision import model_float32_residual
    from keras_theseus.models.precision import model_precision
    from keras_theseus.timing import count_params
    from keras_theseus.timing import measure_latency
    from keras_theseus.timing import synthetic_inputs

    lat = context.config.latency
    shape = {k: v for k, v in student.backbone.get_config().items()
             if k in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                      "vocabulary_size")}
    precision = model_precision(student)
    if precision != "float32":
        # The student runs in its training precision against the float32
        # teacher; keyed only when not float32, so older cells stay valid.
        shape["precision"] = precision
    if model_float32_residual(student):
        shape["residual"] = "float32"
    key = {"format": CELL_FORMAT, "preset": context.preset, "student": shape, "latency": lat}
    path = os.path.join(cache_dir, "latency", f"{_digest(key)}.json")
    cached = _read_json(path, key)
    if cached is None:
        x = synthetic_inputs(lat["batch_size"], lat["sequence_length"],
                             context.teacher.backbone.vocabulary_size)
        ms = measure_latency({"teacher": context.teacher, "student": student}, x,
                             warmup=2, repeats=lat["repeats"])
        cached = {"key": key, "teacher_ms": ms["teacher"]["median_ms"],
                  "student_ms": ms["student"]["median_ms"],
                  "teacher_params": count_params(context.teacher),
                  "student_params": count_params(student)}
        _write_json(path, cached)
    return cached


def data_fingerprint(data):
    """A digest of every split's texts and labels."""
    digest = hashlib.sha256()
    for split in ("train", "dev", "test"):
        frame = data.split(split)
        columns = [*data.text_columns, "label"]
        digest.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
                      .tobytes())
    return digest.hexdigest()[:16]


def cell_key(context, spec, num_layers, seed):
    """Everything that determines a cell's result (its cache identity)."""
    config = context.config
    return {**context.teacher_key, "method": spec.as_dict(), "num_layers": num_layers,
            "seed": seed, "training": config.training,
            "search": config.search if uses_layer_search(spec) else None}


def run_cell(context, spec, num_layers, seed, cache_dir):
    """Train and evaluate one cell unless it is cached; return its payload."""
    key = cell_key(context, spec, num_layers, seed)
    path = os.path.join(cache_dir, context.dataset,
                        f"{spec.label}-k{num_layers}-seed{seed}-{_digest(key)}.json")
    cached = _read_json(path, key)
    if cached is not None:
        return cached, True
    import keras

    teacher = context.teacher
    if uses_layer_search(spec):
        # The layer search trains candidates (random draws): run it, or read
        # its cache, before seeding, so a searched cell trains the same
        # whether or not the search had run before.
        context.searched_layers(num_layers)
    # tf.data's seeded shuffle also depends on the global seed: set it
    # before the dataset exists, so a cell trains the same in any grid.
    keras.utils.set_random_seed(seed)
    train = context.train(seed)
    start = time.perf_counter()
    student, histories = train_student(
        spec, teacher, train, num_layers, seed, context.config.training,
        preset=context.preset, searched=context.searched_layers, verbose=context.verbose)
    wall = time.perf_counter() - start
    payload = {"key": key, **_score(student, context), "train_seconds": wall,
               "histories": histories, **_latency(context, student, cache_dir)}
    payload["key"] = key  # _latency's key must not replace the cell's
    _write_json(path, payload)
    return payload, False


@dataclasses.dataclass
class ComparisonResult:
    """What `run_comparison` returns.

    Attributes:
        cells: one row per trained cell (dataset, num_layers, method, seed,
            dev/test accuracy, speedup, ...).
        summary: per (dataset, num_layers, method): seeds, dev mean, test
            mean, std, 95% CI, retention, speedup, and the paired test
            against the baseline (`difference`, its CI, `p_vs_baseline`).
        run_dir: the directory with report.md, cells.csv, summary.csv and
            the plots.
        teacher: `{dataset: teacher test accuracy}`.
    """

    cells: pd.DataFrame
    summary: pd.DataFrame
    run_dir: str
    teacher: dict


def summarize(cells, predictions, baseline, teacher):
    """The summary table: intervals per method, paired tests against `baseline`.

    Args:
        cells: the per-cell DataFrame.
        predictions: `{(dataset, k, label, seed): correct 0/1 array}`.
        baseline: the baseline method label.
        teacher: `{dataset: teacher test accuracy}`.
    """
    rows = []
    for (dataset, k, label), group in cells.groupby(["dataset", "num_layers", "method"],
                                                    sort=False):
        group = group.sort_values("seed")
        test = mean_confidence_interval(group["test_accuracy"])
        row = {"dataset": dataset, "num_layers": k, "method": label, "seeds": test["n"],
               "dev_mean": group["dev_accuracy"].mean(), "mean": test["mean"],
               "std": test["std"], "ci95_low": test["ci_low"], "ci95_high": test["ci_high"],
               "retention": test["mean"] / teacher[dataset],
               "speedup": float(group["speedup"].median()),
               "latency_ms_teacher": float(group["latency_ms_teacher"].median()),
               "latency_ms_student": float(group["latency_ms_student"].median()),
               "teacher_params": int(group["teacher_params"].iloc[0]),
               "params": int(group["student_params"].iloc[0])}
        base = cells[(cells.dataset == dataset) & (cells.num_layers == k)
                     & (cells.method == baseline)]
        common = sorted(set(group["seed"]) & set(base["seed"]))
        if label != baseline and common:
            a = np.stack([predictions[(dataset, k, label, s)] for s in common])
            b = np.stack([predictions[(dataset, k, baseline, s)] for s in common])
            test_ = paired_bootstrap(a, b)
            mcnemar = [mcnemar_exact(x, y)["p_value"] for x, y in zip(a, b)]
            row.update({"difference": test_["mean_difference"],
                        "difference_ci95_low": test_["ci_low"],
                        "difference_ci95_high": test_["ci_high"],
                        "p_vs_baseline": test_["p_value"],
                        "mcnemar_p_median": float(np.median(mcnemar)),
                        "paired_seeds": len(common)})
        rows.append(row)
    return pd.DataFrame(rows)


def run_comparison(config=None, output_dir="runs", cache_dir=None, run_name=None,
                   overwrite=False, verbose=2, data=None):
    """Run (or resume) a comparison grid and write its report.

    Finished cells are cached under `cache_dir` by their full
    configuration: re-running skips them, an interrupted grid resumes where
    it stopped, and a changed setting never reuses a stale cell. The
    teacher of a dataset is fine-tuned once (per teacher seed) and cached as
    by `finetune_teacher`.

    Args:
        config: a `ComparisonConfig`, a dict or a YAML/JSON path.
        output_dir: where the run directory `compare-<name>-NNN` is made.
        cache_dir: cell cache (default `default_cell_cache_dir()`).
        run_name, overwrite: see `new_run_dir`.
        verbose: `fit` verbosity.
        data: optional `{name: TextClassificationData}` of your own
            datasets, named in `datasets` beside the built-in ones. A cell's
            cache identity holds the name, not the rows: give changed data
            a new name.

    Returns:
        `ComparisonResult`.

    Example:
    ```python
    result = run_comparison({"methods": ["truncated", "theseus_kd"], "seeds": 5})
    result.summary[["method", "mean", "ci95_low", "ci95_high", "p_vs_baseline"]]
    ```
    """
    data = dict(data or {})
    if not hasattr(config, "methods"):
        config = comparison_config(config, known_datasets=data)
    check_grid(config)
    cache_dir = cache_dir or default_cell_cache_dir()
    run_dir = new_run_dir(output_dir, f"compare-{config.name}", run_name, overwrite)
    with open(os.path.join(run_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config.as_dict(), f, indent=1, ensure_ascii=False)
        f.write("\n")
    # Seeds outside methods: a grid stopped early holds every method at its
    # first seeds, which the paired tests can already use.
    grid = [(d, k, spec, seed) for d in config.datasets for k in config.num_layers
            for seed in config.seeds for spec in config.methods]
    rows, predictions, teacher = [], {}, {}
    with RunStatus(run_dir) as status:
        contexts = {d: _DatasetContext(config, d, cache_dir, verbose, data.get(d))
                    for d in config.datasets}
        for i, (dataset, k, spec, seed) in enumerate(grid):
            status.stage(f"cell {i + 1}/{len(grid)}: {dataset} k={k} {spec.label} seed {seed}")
            payload, cached = run_cell(contexts[dataset], spec, k, seed, cache_dir)
            labels = contexts[dataset].labels["test"]
            predictions[(dataset, k, spec.label, seed)] = (
                np.asarray(payload["test_predictions"]) == labels).astype(int)
            rows.append({"dataset": dataset, "num_layers": k, "method": spec.label,
                         "seed": seed, "dev_accuracy": payload["dev_accuracy"],
                         "test_accuracy": payload["test_accuracy"],
                         "speedup": payload["teacher_ms"] / payload["student_ms"],
                         "latency_ms_teacher": payload["teacher_ms"],
                         "latency_ms_student": payload["student_ms"],
                         "teacher_params": payload["teacher_params"],
                         "student_params": payload["student_params"],
                         "train_seconds": payload["train_seconds"], "cached": cached})
            print(f"[{i + 1}/{len(grid)}] {dataset} k={k} {spec.label} seed {seed}: dev "
                  f"{payload['dev_accuracy']:.4f} test {payload['test_accuracy']:.4f}"
                  f"{' (cached)' if cached else ''}", flush=True)
        status.stage("report")
        for dataset, context in contexts.items():
            teacher[dataset] = context.teacher_scores()["test_accuracy"]
        cells = pd.DataFrame(rows)
        summary = summarize(cells, predictions, config.baseline, teacher)
        from keras_theseus.workflows.comparison_report import write_comparison_report

        write_comparison_report(run_dir, config, cells, summary, teacher)
    return ComparisonResult(cells=cells, summary=summary, run_dir=run_dir, teacher=teacher)
