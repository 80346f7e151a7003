"""What a method-comparison grid runs: datasets × methods × sizes × seeds."""

import copy
import dataclasses
import json
import os

# Method name -> its options and their defaults. A grid entry is a name or
# a dict `{"method": name, "label": ..., **options}`; the label (default
# the name) identifies the variant in tables and caches.
METHOD_OPTIONS = {
    # Teacher layers fine-tuned directly. `layers`: "first" (the papers'
    # truncated student), "spread", "every_other", "searched" (the layer
    # search's pick on dev) or a list; `source`: the fine-tuned teacher or
    # the pretrained checkpoint with a new head (the Theseus/PKD papers'
    # "fine-tuning" baseline).
    "truncated": {"layers": "first", "source": "finetuned"},
    # Distiller into a layer-dropped student: logit KD (kd_weight) + hard
    # labels, optionally hidden-state MSE / cosine terms.
    "kd": {"layers": "spread", "temperature": 2.0, "kd_weight": 1.0, "label_weight": 1.0,
           "hidden_mse_weight": 0.0, "cosine_weight": 0.0},
    # BERT-of-Theseus: replacing epochs, then `successor_epochs` alone.
    # `schedule`: "linear" (p from `base` reaching 1 at `reach_one_at` of
    # stage 2) or "constant" (p = `base`); `kd_weight` > 0 is Theseus + KD.
    "theseus": {"init": "first", "schedule": "linear", "base": 0.3, "reach_one_at": 0.8,
                "successor_epochs": 1, "kd_weight": 0.0, "temperature": 2.0,
                "train_embeddings": False, "train_classifier": False},
    # DynaBERT_w then DynaBERT, then the (width, k/L) sub-network extracted
    # and fine-tuned for the remaining epochs. width 1.0: the same FLOPs as
    # a k-layer student.
    "dynabert": {"width": 1.0, "finetune_epochs": 1},
}
# Options a variant may set that enter its identity (and cache key) only
# when set: added after cells were cached, they keep those cells valid.
# `successor_kd_weight` > 0 distils Theseus' stage 3 from the predecessor;
# `precision` ("float32", "mixed_bfloat16", "mixed_float16") trains the
# student (and the teacher pass of KD / Theseus) in that precision, for every
# method; unset, the models' own (float32). `float32_residual: true` (with a
# mixed `precision`) keeps the residual stream in float32, as PyTorch's
# autocast does (`with_precision(..., float32_residual=True)`).
OPTIONAL_METHOD_OPTIONS = {"theseus": {"successor_kd_weight": 0.0}}
OPTIONAL_ANY_METHOD = {"precision": None, "float32_residual": None}
# Shorthands for common variants.
METHOD_ALIASES = {
    "pretrained_truncated": {"method": "truncated", "source": "pretrained"},
    "searched_truncated": {"method": "truncated", "layers": "searched"},
    "kd_hidden": {"method": "kd", "hidden_mse_weight": 1.0},
    "theseus_kd": {"method": "theseus", "kd_weight": 1.0},
}
DEFAULT_METHODS = ("truncated", "kd", "theseus", "theseus_kd")
DEFAULT_TRAINING = {"epochs": 3, "learning_rate": 1e-4, "batch_size": 32,
                    "sequence_length": 64, "bucket_widths": "auto", "limit_train_rows": None}
DEFAULT_TEACHER = {"epochs": 3, "learning_rate": 5e-5, "seed": 0}
DEFAULT_LATENCY = {"batch_size": 32, "sequence_length": 128, "repeats": 5}
DEFAULT_SEARCH = {"steps": 60, "max_candidates": None}
_LAYER_STRATEGIES = ("first", "last", "spread", "every_other", "searched")


def _fail(key, expected, value):
    raise ValueError(f"Comparison config `{key}` must be {expected}. Received: {value!r}")


def _positive_int(key, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(key, "a positive int", value)
    return value


def resolve_bucket_widths(value, sequence_length):
    """The training batches' length buckets for `training.bucket_widths`.

    `"auto"` is the quarters of `sequence_length` (64: 16, 32, 48, 64; 128:
    32, 64, 96, 128), the buckets of every published grid: on movie reviews
    at length 64 a 3-layer student trained in 0.62× the time of padding
    every batch to 64. None pads every batch to `sequence_length`; a list is
    used as given.

    Raises:
        ValueError: naming `training.bucket_widths` unless it is `"auto"`,
            None or strictly increasing positive ints ending at
            `sequence_length`.
    """
    if value is None:
        return None
    if value == "auto":
        quarters = [-(-sequence_length * i // 4) for i in (1, 2, 3, 4)]
        return sorted(set(quarters))
    from keras_theseus.datasets.pipeline import _check_bucket_widths

    expected = (f'"auto", null or strictly increasing positive ints ending at '
                f"sequence_length ({sequence_length})")
    if not isinstance(value, (list, tuple)):
        _fail("training.bucket_widths", expected, value)
    try:  # the pipeline's own rule for widths; the config's error names the key
        widths = _check_bucket_widths(value)
    except ValueError:
        _fail("training.bucket_widths", expected, value)
    if widths[-1] != sequence_length:
        _fail("training.bucket_widths", expected, value)
    return widths


def _positive_number(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        _fail(key, "a number > 0", value)
    return float(value)


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """One method variant of the grid: `method`, `label` and its options."""

    method: str
    label: str
    options: dict

    def as_dict(self):
        return {"method": self.method, "label": self.label, **self.options}


def method_spec(entry, key="methods"):
    """Resolve a grid entry (name, alias or dict) into a validated `MethodSpec`.

    Example:
    ```python
    method_spec({"method": "theseus", "init": "every_rth", "label": "theseus_rth"})
    ```
    """
    if isinstance(entry, str):
        label = entry
        entry = dict(METHOD_ALIASES.get(entry, {"method": entry}))
        entry.setdefault("label", label)
    if not isinstance(entry, dict) or "method" not in entry:
        _fail(key, "a method name or a dict with a `method` key", entry)
    entry = dict(entry)
    name = entry.pop("method")
    if name in METHOD_ALIASES:
        alias = dict(METHOD_ALIASES[name])
        name = alias.pop("method")
        entry = {**alias, **entry}
    if name not in METHOD_OPTIONS:
        _fail(f"{key}.method", f"one of {sorted(METHOD_OPTIONS)} or an alias "
              f"{sorted(METHOD_ALIASES)}", name)
    label = entry.pop("label", name)
    if not isinstance(label, str) or not label:
        _fail(f"{key}.label", "a non-empty string", label)
    options = copy.deepcopy(METHOD_OPTIONS[name])
    optional = {"learning_rate", "epochs", *OPTIONAL_METHOD_OPTIONS.get(name, {}),
                *OPTIONAL_ANY_METHOD}
    unknown = sorted(set(entry) - set(options) - optional)
    if unknown:
        _fail(f"{key}[{label}]",
              f"options among {sorted(options)} (+ {', '.join(sorted(optional))})", unknown)
    options.update(entry)
    for option in ("learning_rate",):
        if option in options:
            _positive_number(f"{key}[{label}].{option}", options[option])
    if "epochs" in options:
        _positive_int(f"{key}[{label}].epochs", options["epochs"])
    if "precision" in options:
        from keras_theseus.models.precision import PRECISIONS

        # A concrete name: "auto" would make the cell's cache key mean
        # different things on different machines.
        if options["precision"] not in PRECISIONS:
            _fail(f"{key}[{label}].precision", f"one of {list(PRECISIONS)}",
                  options["precision"])
    if "float32_residual" in options:
        if not isinstance(options["float32_residual"], bool):
            _fail(f"{key}[{label}].float32_residual", "true or false",
                  options["float32_residual"])
        if options["float32_residual"] and options.get("precision") not in (
                "mixed_bfloat16", "mixed_float16"):
            _fail(f"{key}[{label}].precision",
                  "'mixed_bfloat16' or 'mixed_float16' when `float32_residual` is set",
                  options.get("precision"))
    layers = options.get("layers")
    if layers is not None and not (layers in _LAYER_STRATEGIES or (
            isinstance(layers, list) and all(isinstance(i, int) for i in layers))):
        _fail(f"{key}[{label}].layers", f"one of {_LAYER_STRATEGIES} or a list of indices",
              layers)
    if name == "truncated" and options["source"] not in ("finetuned", "pretrained"):
        _fail(f"{key}[{label}].source", "'finetuned' or 'pretrained'", options["source"])
    if name == "theseus":
        if options["schedule"] not in ("linear", "constant"):
            _fail(f"{key}[{label}].schedule", "'linear' or 'constant'", options["schedule"])
        if not 0 < options["base"] <= 1:
            _fail(f"{key}[{label}].base", "a probability in (0, 1]", options["base"])
        if not isinstance(options["successor_epochs"], int) or options["successor_epochs"] < 0:
            _fail(f"{key}[{label}].successor_epochs", "an int >= 0",
                  options["successor_epochs"])
    if name == "dynabert" and not 0 < options["width"] <= 1:
        _fail(f"{key}[{label}].width", "a number in (0, 1]", options["width"])
    return MethodSpec(name, label, options)


@dataclasses.dataclass
class ComparisonConfig:
    """A comparison grid; `comparison_config` builds one from a dict or file.

    Attributes:
        name: names the run directory (`compare-<name>-NNN`).
        datasets: dataset names (`keras_theseus.datasets.LOADERS`).
        presets: teacher checkpoint per dataset (default MiniLM-L6, its
            bert-base-chinese-vocabulary variant for Chinese data).
        num_layers: student depths k.
        seeds: student seeds (weights init where random, data order,
            dropout, replacement draws); an int n means `0..n-1`.
        methods: `MethodSpec`s (see `METHOD_OPTIONS`, `METHOD_ALIASES`).
        baseline: label of the method every other is tested against.
        teacher: `epochs`, `learning_rate`, `seed` of the cached teacher.
        training: `epochs` (total budget per student), `learning_rate`,
            `batch_size`, `sequence_length`, `bucket_widths` (see
            `resolve_bucket_widths`; `comparison_config` resolves `"auto"`),
            `limit_train_rows` (first rows only: a smoke grid).
        latency: the `batch_size` × `sequence_length` shape and `repeats`
            of the teacher-vs-student latency measured in each cell.
        search: `steps`, `max_candidates` of the layer search behind
            `layers: searched`.
    """

    name: str = "comparison"
    datasets: list = dataclasses.field(default_factory=lambda: ["movie_reviews"])
    presets: dict = dataclasses.field(default_factory=dict)
    num_layers: list = dataclasses.field(default_factory=lambda: [3])
    seeds: list = dataclasses.field(default_factory=lambda: [0, 1, 2])
    methods: list = dataclasses.field(
        default_factory=lambda: [method_spec(m) for m in DEFAULT_METHODS])
    baseline: str = "truncated"
    teacher: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_TEACHER))
    training: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_TRAINING))
    latency: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_LATENCY))
    search: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_SEARCH))

    def preset(self, dataset):
        from keras_theseus.models.presets import DEFAULT_PRESET

        default = "all_minilm_l6_v2_zh" if dataset == "chinese_sentiment" else DEFAULT_PRESET
        return self.presets.get(dataset, default)

    def as_dict(self):
        out = dataclasses.asdict(self)
        out["methods"] = [m.as_dict() for m in self.methods]
        return out


def _section(raw, key, defaults):
    value = raw.get(key, {})
    if not isinstance(value, dict):
        _fail(key, "a mapping", value)
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        _fail(key, f"keys among {sorted(defaults)}", unknown)
    return {**defaults, **value}


def comparison_config(source=None, known_datasets=(), **overrides):
    """Build and validate a `ComparisonConfig`.

    Args:
        source: None (defaults), a dict, or a path to a YAML / JSON file.
        known_datasets: names of in-memory datasets accepted besides the
            built-in loaders (`run_comparison(data=...)`).
        **overrides: top-level keys replacing the source's (e.g. the CLI's
            `seeds=2, methods=[...]`); None values are ignored. A name in
            `methods` that is a label of the source's methods picks that
            variant (`methods=["truncated_024"]`); other names are methods or
            aliases.

    Raises:
        ValueError: naming the key, the expected value and what was given.

    Example:
    ```python
    config = comparison_config({"datasets": ["movie_reviews"], "num_layers": [3, 2],
                                "seeds": 5, "methods": ["truncated", "theseus_kd"]})
    ```
    """
    if source is None:
        raw = {}
    elif isinstance(source, dict):
        raw = copy.deepcopy(source)
    elif isinstance(source, (str, os.PathLike)):
        raw = _read_file(str(source))
    else:
        raise TypeError(f"`source` must be None, a dict or a file path. Received: {source!r}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "methods" in overrides and isinstance(raw.get("methods"), list):
        overrides["methods"] = _pick_source_methods(overrides["methods"], raw["methods"])
    raw.update(overrides)
    known = {f.name for f in dataclasses.fields(ComparisonConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        _fail("keys", f"among {sorted(known)}", unknown)
    from keras_theseus.datasets import LOADERS

    datasets = raw.get("datasets", ["movie_reviews"])
    if isinstance(datasets, str):
        datasets = [datasets]
    names = sorted({*LOADERS, *known_datasets})
    if not isinstance(datasets, list) or not datasets or any(d not in names for d in datasets):
        _fail("datasets", f"a non-empty list of {names}", datasets)
    presets = raw.get("presets", {})
    if not isinstance(presets, dict) or any(not isinstance(v, str) for v in presets.values()):
        _fail("presets", "a mapping of dataset name to preset", presets)
    layers = raw.get("num_layers", [3])
    layers = [layers] if isinstance(layers, int) and not isinstance(layers, bool) else layers
    if not isinstance(layers, list) or not layers:
        _fail("num_layers", "a positive int or a non-empty list of them", layers)
    for k in layers:
        _positive_int("num_layers", k)
    seeds = raw.get("seeds", 3)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        _positive_int("seeds", seeds)
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds) or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        _fail("seeds", "a positive int (that many seeds) or a list of distinct ints >= 0",
              seeds)
    entries = raw.get("methods", list(DEFAULT_METHODS))
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        _fail("methods", "a non-empty list", entries)
    methods = [method_spec(e) for e in entries]
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
        _fail("methods", "variants with distinct labels (add `label:`)", labels)
    baseline = raw.get("baseline", "truncated")
    if baseline not in labels:
        _fail("baseline", f"one of the method labels {labels}", baseline)
    name = raw.get("name", "comparison")
    if not isinstance(name, str) or not name:
        _fail("name", "a non-empty string", name)
    config = ComparisonConfig(
        name=name, datasets=datasets, presets=presets, num_layers=layers, seeds=seeds,
        methods=methods, baseline=baseline,
        teacher=_section(raw, "teacher", DEFAULT_TEACHER),
        training=_section(raw, "training", DEFAULT_TRAINING),
        latency=_section(raw, "latency", DEFAULT_LATENCY),
        search=_section(raw, "search", DEFAULT_SEARCH))
    for section, keys in (("teacher", ("epochs",)), ("training", ("epochs", "batch_size",
                                                                  "sequence_length")),
                          ("latency", ("batch_size", "sequence_length", "repeats")),
                          ("search", ("steps",))):
        for key in keys:
            _positive_int(f"{section}.{key}", getattr(config, section)[key])
    for section in ("teacher", "training"):
        _positive_number(f"{section}.learning_rate", getattr(config, section)["learning_rate"])
    # Resolved here, so a cell's key holds the widths it trained with.
    config.training["bucket_widths"] = resolve_bucket_widths(
        config.training["bucket_widths"], config.training["sequence_length"])
    rows = config.training["limit_train_rows"]
    if rows is not None:
        _positive_int("training.limit_train_rows", rows)
    return config


def _pick_source_methods(chosen, source_entries):
    """`chosen` with each name that is a label in the source's methods replaced by that
    entry, so `--config grid.yaml --methods truncated_024` runs the file's variant."""
    if isinstance(chosen, str):
        chosen = [chosen]
    if not isinstance(chosen, list):
        return chosen
    by_label = {method_spec(e).label: e for e in source_entries}
    return [by_label.get(e, e) if isinstance(e, str) else e for e in chosen]


def _read_file(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Comparison config file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        raw = json.loads(text)
    else:
        import yaml

        raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a comparison config must be a mapping at the top level.")
    return raw
