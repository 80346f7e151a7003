"""The `keras-theseus` command line."""

import argparse
import os
import signal
import sys


def _fetch_assets(args):
    from keras_theseus.datasets import fetch_assets

    for name, path in fetch_assets(args.data_dir).items():
        print(f"{name}: {path}")
    return 0


def _presets(args):
    from keras_theseus.models import list_presets

    for name, description in list_presets().items():
        print(f"{name}: {description}")
    return 0


def _benchmark(args):
    from keras_theseus.timing import benchmark_models

    for path in args.models:
        check_model_file(path, directories=True)
    table = benchmark_models(args.models, batch_size=args.batch_size,
                             sequence_length=args.sequence_length, warmup=args.warmup,
                             repeats=args.repeats,
                             jit_compile=False if args.no_xla else "auto",
                             precision=args.precision)
    columns = ["params", "gflops", "latency_ms_p50", "latency_ms_p90", "latency_ms_p99",
               "throughput", "speedup"]
    print(f"{table['device'].iloc[0]}; batch {args.batch_size} × length "
          f"{args.sequence_length}; speedup relative to {table.index[0]}")
    print(table[columns].to_string(float_format=lambda v: f"{v:.2f}"))
    if args.csv:
        table.to_csv(args.csv)
    return 0


# Chinese data gets MiniLM on the bert-base-chinese vocabulary unless a
# checkpoint is named: the English vocabulary maps most Chinese text to [UNK].
CHINESE_DEFAULT_PRESET = "all_minilm_l6_v2_zh"


def _default_preset(args):
    from keras_theseus.models import DEFAULT_PRESET

    # `clue` sets `language="zh"`; for `compress` the dataset says it.
    chinese = args.language == "zh" or getattr(args, "dataset", None) == "chinese_sentiment"
    return CHINESE_DEFAULT_PRESET if chinese else DEFAULT_PRESET


def _config_from_args(args):
    return {
        "method": args.method, "preset": args.preset or _default_preset(args),
        "num_layers": args.layers,
        "width": args.width,
        "sequence_length": args.sequence_length, "batch_size": args.batch_size,
        "teacher_epochs": args.teacher_epochs, "epochs": args.epochs,
        "successor_epochs": args.successor_epochs, "learning_rate": args.learning_rate,
        "teacher_learning_rate": args.teacher_learning_rate,
        "seed": args.seed,
        "jit_compile": False if args.no_xla else (True if args.xla else "auto"),
        "cache_teacher": not args.no_cache,
        "precision": args.precision,
        "strategy": args.strategy,
    }


# `CompressionConfig` field -> the flag that sets it (the others are
# "--" + the field with dashes); errors raised by the library name fields.
_FLAG_OF_FIELD = {"num_layers": "--layers", "jit_compile": "--xla/--no-xla",
                  "cache_teacher": "--no-cache"}


def config_flag(field):
    """The `keras-theseus compress` flag that sets `CompressionConfig.<field>`."""
    return _FLAG_OF_FIELD.get(field, "--" + field.replace("_", "-"))


def _name_flags(message):
    """A library error with each `field` it names followed by its flag."""
    from keras_theseus.workflows import CompressionConfig

    for field in CompressionConfig.__dataclass_fields__:
        message = message.replace(f"`{field}`", f"`{field}` ({config_flag(field)})")
    return message


def _print_summary(run_dir, metrics, extra=()):
    from keras_theseus.workflows.report import summary_table

    if metrics is None:
        print(f"this worker's training is done; the chief writes the report to {run_dir}")
        return
    print()
    print(summary_table(metrics))
    for line in extra:
        print(line)
    print(f"report: {os.path.join(run_dir, 'report.md')}")


def _changed_flags(args, command, allowed=("resume", "verbose", "func")):
    """Flags given on the command line with a value other than their default."""
    defaults = vars(build_parser().parse_args([command]))
    return sorted(f"--{k.replace('_', '-')}" for k, v in vars(args).items()
                  if k not in allowed and defaults.get(k) != v)


def _reject_flags_with_resume(args, command, allowed=()):
    changed = _changed_flags(args, command, ("resume", "verbose", "func", *allowed))
    if changed:
        raise ValueError(f"--resume continues a run with the settings it was started "
                         f"with; drop {' '.join(changed)}.")


def _start_strategy(name, run_name=None, resume=False):
    # MultiWorkerMirroredStrategy must exist before TensorFlow runs any op
    # (tokenizers and datasets do): create the named strategy first.
    if name == "multi_worker" and run_name is None and not resume:
        raise ValueError("--strategy multi_worker needs --run-name: every worker must write "
                         "to the same run directory.")
    if name is not None:
        from keras_theseus.distribute import resolve_strategy

        resolve_strategy(name)


def _compress(args):
    from keras_theseus.datasets import load_dataset
    from keras_theseus.workflows import run_compress_job

    if args.resume:
        from keras_theseus.workflows.main_job import read_run_config

        _reject_flags_with_resume(args, "compress")
        saved = read_run_config(args.resume)
        _start_strategy(saved["config"].get("strategy"), resume=True)
        data = load_dataset(saved["dataset"])
        run_dir, metrics, run = run_compress_job(data, resume=args.resume, verbose=args.verbose)
        args.quick = saved["quick"]
    else:
        _start_strategy(args.strategy, args.run_name)
        data = load_dataset(args.dataset)
        run_dir, metrics, run = run_compress_job(
            data, output_dir=args.output_dir, run_name=args.run_name, overwrite=args.overwrite,
            quick=args.quick, export=not args.no_export, verbose=args.verbose,
            **_config_from_args(args))
    extra = []
    if args.quick:
        from keras_theseus.workflows.main_job import quick_subset
        from keras_theseus.workflows.main_job import smoke_test_note

        extra.append(smoke_test_note(quick_subset(data), run.config).replace("**", ""))
    _print_summary(run_dir, metrics, extra)
    return 0


def _clue(args):
    from keras_theseus.workflows import run_clue_baseline

    if args.resume:
        from keras_theseus.workflows.main_job import read_run_config

        # TASK and --data-dir may be given again (the data may have moved).
        _reject_flags_with_resume(args, "clue", allowed=("task", "data_dir"))
        saved = read_run_config(args.resume)
        _start_strategy(saved["config"].get("strategy"), resume=True)
        if args.task is not None and args.task != saved.get("task"):
            raise ValueError(f"--resume: {args.resume} was started on CLUE task "
                             f"{saved.get('task')!r}; received {args.task!r}.")
        run_dir, metrics, submission = run_clue_baseline(
            saved["task"], args.data_dir or saved["data_dir"], resume=args.resume,
            verbose=args.verbose)
    else:
        missing = [name for name, value in (("TASK", args.task), ("--data-dir", args.data_dir))
                   if value is None]
        if missing:
            raise ValueError(f"{' and '.join(missing)} required (or --resume RUN_DIR).")
        _start_strategy(args.strategy, args.run_name)
        run_dir, metrics, submission = run_clue_baseline(
            args.task, args.data_dir, output_dir=args.output_dir, run_name=args.run_name,
            overwrite=args.overwrite, export=args.export, verbose=args.verbose,
            **_config_from_args(args))
    _print_summary(run_dir, metrics, [f"submission: {submission}"])
    return 0


def _compare(args):
    from keras_theseus.workflows import comparison_config
    from keras_theseus.workflows import run_comparison

    overrides = {"seeds": args.seeds, "methods": args.methods, "num_layers": args.layers,
                 "datasets": args.datasets, "name": args.name, "baseline": args.baseline}
    if args.limit_train_rows:
        source = comparison_config(args.config) if args.config else comparison_config()
        overrides["training"] = {**source.training, "limit_train_rows": args.limit_train_rows}
    config = comparison_config(args.config, **overrides)
    result = run_comparison(config, output_dir=args.output_dir, cache_dir=args.cache_dir,
                            run_name=args.run_name, overwrite=args.overwrite,
                            verbose=args.verbose)
    columns = ["dataset", "num_layers", "method", "seeds", "mean", "ci95_low", "ci95_high",
               "speedup"] + [c for c in ("difference", "p_vs_baseline")
                             if c in result.summary]
    print()
    print(result.summary[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"report: {os.path.join(result.run_dir, 'report.md')}")
    return 0


def check_model_file(path, directories=False):
    """Raise a clear error unless `path` is a `.keras` archive (or, if allowed, a directory)."""
    import zipfile

    if directories and os.path.isdir(path):
        return path
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist.")
    if not os.path.isfile(path) or not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a Keras archive (the .keras zip file that "
                         "`model.save` writes)" + (" nor a SavedModel directory."
                                                   if directories else "."))
    return path


def _export(args):
    import keras

    import keras_theseus  # noqa: F401  (registers keras_theseus classes)
    from keras_theseus import export

    model = keras.saving.load_model(check_model_file(args.model), compile=False)
    formats = ["serving", "tflite", "onnx"] if args.format == "all" else [args.format]
    stem = os.path.splitext(os.path.basename(args.model))[0]
    preprocessor = None
    if args.preset:
        from keras_theseus.models import load_preprocessor

        preprocessor = load_preprocessor(args.preset, sequence_length=args.sequence_length)
    elif args.format in ("hf", "keras_hub_preset"):
        raise ValueError(f"--format {args.format} needs --preset: the checkpoint whose "
                         "vocabulary the student was trained with (it goes into the "
                         "exported tokenizer).")
    label_names = args.label_names.split(",") if args.label_names else None
    if label_names is not None and args.format != "hf":
        raise ValueError("--label-names is written into a Hugging Face config; use it with "
                         "--format hf.")
    os.makedirs(args.output, exist_ok=True)
    for fmt in formats:
        if fmt == "serving":
            path = export.export_for_serving(
                model, args.output, model_name=args.model_name or stem,
                version="next" if args.version == "next" else int(args.version),
                preprocessor=preprocessor)
        elif fmt == "tflite":
            suffix = "_int8" if args.quantize else ""
            path = export.export_tflite(
                model, os.path.join(args.output, f"{stem}{suffix}.tflite"),
                quantization="dynamic_range" if args.quantize else None,
                overwrite=args.overwrite)
        elif fmt == "hf":
            path = export.save_hf_checkpoint(
                model, os.path.join(args.output, f"{stem}_hf"), preprocessor,
                label_names=label_names, overwrite=args.overwrite)
        elif fmt == "keras_hub_preset":
            path = export.save_keras_hub_preset(
                model, os.path.join(args.output, f"{stem}_preset"), preprocessor,
                overwrite=args.overwrite)
        else:
            path = export.export_onnx(model, os.path.join(args.output, f"{stem}.onnx"),
                                      overwrite=args.overwrite)
        print(f"{fmt}: {path}")
    return 0


def _add_compression_args(p, default_length=None, default_epochs=None):
    """The `CompressionConfig` fields as flags, with its defaults.

    `default_length` / `default_epochs` override the config's sequence
    length and (teacher and compression) epochs for a subcommand (CLUE).
    """
    from keras_theseus.models import DEFAULT_PRESET
    from keras_theseus.workflows import METHODS
    from keras_theseus.workflows import CompressionConfig as C

    default_length = default_length or C.sequence_length
    g = p.add_argument_group("compression")
    g.add_argument("--method", choices=METHODS, default=C.method,
                   help="theseus: module replacement, then the successor alone; "
                        "distill: KD (T 2 + hard labels) into a layer-dropped student; "
                        "dynabert: train all width/depth sub-networks, extract "
                        "(--width, --layers)")
    g.add_argument("--preset", default=None,
                   help="teacher checkpoint: registered name or HF-format directory "
                        f"(default {DEFAULT_PRESET}; {CHINESE_DEFAULT_PRESET}, MiniLM on the "
                        "bert-base-chinese vocabulary, for chinese_sentiment and CLUE)")
    g.add_argument("--layers", type=int, default=C.num_layers,
                   help="student depth (default %(default)s)")
    g.add_argument("--width", type=float, default=C.width,
                   help="dynabert: width multiplier of the extracted student "
                        "(default %(default)s)")
    g.add_argument("--sequence-length", type=int, default=default_length,
                   help="default %(default)s")
    g.add_argument("--batch-size", type=int, default=C.batch_size, help="default %(default)s")
    g.add_argument("--teacher-epochs", type=int, default=default_epochs or C.teacher_epochs,
                   help="teacher fine-tuning epochs (cached teachers are reused; "
                        "default %(default)s)")
    g.add_argument("--epochs", type=int, default=default_epochs or C.epochs,
                   help="compression epochs (Theseus: replacing epochs; default %(default)s)")
    g.add_argument("--successor-epochs", type=int, default=C.successor_epochs,
                   help="Theseus: epochs of the successor alone afterwards "
                        "(default %(default)s)")
    g.add_argument("--learning-rate", type=float, default=C.learning_rate,
                   help="compression peak learning rate (default %(default)s)")
    g.add_argument("--teacher-learning-rate", type=float, default=C.teacher_learning_rate,
                   help="default %(default)s")
    g.add_argument("--seed", type=int, default=C.seed, help="default %(default)s")
    xla = g.add_mutually_exclusive_group()
    xla.add_argument("--xla", action="store_true",
                     help="force XLA train steps (default: XLA on GPU/TPU, off on CPU, "
                          "where it measured slower)")
    xla.add_argument("--no-xla", action="store_true", help="train without XLA")
    g.add_argument("--no-cache", action="store_true",
                   help="always fine-tune the teacher; neither read nor write the cache")
    from keras_theseus.models.precision import PRECISION_CHOICES

    g.add_argument("--precision", choices=PRECISION_CHOICES, default=C.precision,
                   help="train (and time) teacher and student in this precision; auto: "
                        "mixed_bfloat16 on AMX / AVX512-BF16 CPUs, Ampere+ GPUs and TPUs, "
                        "float32 elsewhere (default %(default)s)")
    from keras_theseus.distribute import STRATEGY_NAMES

    g.add_argument("--strategy", choices=STRATEGY_NAMES, default=None,
                   help="train under a tf.distribute strategy: mirrored (this machine's GPUs), "
                        "multi_worker (the cluster in $TF_CONFIG; run the same command on "
                        "every worker, with --run-name) or tpu; --batch-size is the global "
                        "batch (default: one device; docs/distributed.md)")
    g = p.add_argument_group("output")
    g.add_argument("--run-name", default=None,
                   help="run directory name (default: numbered, never reused)")
    g.add_argument("--overwrite", action="store_true",
                   help="replace an existing --run-name directory")
    g.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                   help="Keras fit verbosity: 0 silent, 1 progress bars, 2 one line per epoch "
                        "(default: 1 on a terminal, 2 when output is redirected)")


def build_parser():
    from keras_theseus.datasets import CLUE_TASKS
    from keras_theseus.datasets import LOADERS

    parser = argparse.ArgumentParser(
        prog="keras-theseus",
        description="Compress BERT-style encoders with Keras 3 (Theseus, distillation, ...).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fetch-assets", help="Cache the datasets that set-up needs (offline later).")
    p.add_argument("--data-dir", default=None,
                   help="Cache root (default $KERAS_THESEUS_DATA_DIR or ~/.keras/datasets/keras_theseus).")
    p.set_defaults(func=_fetch_assets)
    p = sub.add_parser("presets", help="List the registered pretrained checkpoints.")
    p.set_defaults(func=_presets)
    p = sub.add_parser(
        "benchmark", help="Latency, throughput, params, FLOPs and speedup of saved models.",
        description="Time .keras files or SavedModel directories interleaved in one process; "
                    "the first model is the speedup reference.")
    p.add_argument("models", nargs="+", help=".keras files or SavedModel directories")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sequence-length", type=int, default=128)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--no-xla", action="store_true",
                   help="time Keras models without XLA (default: XLA for float32, TF graph "
                        "mode for bfloat16 on a CPU)")
    from keras_theseus.models.precision import PRECISION_CHOICES

    p.add_argument("--precision", choices=PRECISION_CHOICES, default=None,
                   help="time .keras models in this precision (default: as saved)")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    p.set_defaults(func=_benchmark)

    p = sub.add_parser(
        "compress", help="Main job: fine-tune a teacher, compress it, evaluate, export.",
        description="Fine-tune (or reuse the cached) teacher on a built-in dataset, compress "
                    "it, score both on the test split, time both, save the student (.keras, "
                    "a Hugging Face checkpoint and a TF Serving SavedModel) and write report.md, metrics.csv and "
                    "accuracy_vs_latency.png into a new run directory. With no arguments: "
                    "MiniLM-L6 on movie reviews, Theseus 6→3 (about 12 minutes on 2 CPU "
                    "cores; --quick about 3).")
    p.add_argument("--dataset", default="movie_reviews", choices=sorted(LOADERS))
    p.add_argument("--output-dir", default="keras_theseus_runs",
                   help="parent of the run directories (default %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test (~3 min): 2048/128/256 rows, length 32, teacher and "
                        "Theseus successor at least 2 epochs, no XLA, no teacher cache; "
                        "the run dir is <dataset>-quick-<method><layers>-NNN")
    p.add_argument("--no-export", action="store_true", help="skip the SavedModel")
    p.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue an interrupted run (Ctrl-C, SIGTERM, a crash) from its last "
                        "finished epoch, with the settings it was started with")
    _add_compression_args(p)
    p.set_defaults(func=_compress, language=None)

    p = sub.add_parser(
        "clue", help="CLUE baseline: fine-tune, compress, score dev, write <task>_predict.json.",
        description="Run one CLUE classification task from its official files: fine-tune "
                    "the teacher, compress it, score teacher and student on dev, and write "
                    "the submission file <task>_predict.json with the student's test "
                    "predictions. Download the task zip from "
                    "https://storage.googleapis.com/cluebenchmark/tasks/<task>_public.zip "
                    "and unzip it into DATA_DIR/<task>/.")
    p.add_argument("task", nargs="?", choices=tuple(CLUE_TASKS),
                   help="the CLUE task (not needed with --resume)")
    p.add_argument("--data-dir", default=None,
                   help="directory holding <task>/train.json, dev.json, test.json "
                        "(required unless --resume)")
    p.add_argument("--output-dir", default="clue_runs")
    p.add_argument("--export", action="store_true", help="also write the SavedModel")
    p.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue an interrupted CLUE run from its last finished epoch, "
                        "with the settings (task, data dir, compression flags) it was "
                        "started with")
    _add_compression_args(p, default_length=128, default_epochs=3)
    p.set_defaults(func=_clue, language="zh")

    p = sub.add_parser(
        "compare", help="Compare methods over seeds: cached cells, CIs, paired tests, plot.",
        description="Train every cell of a grid (datasets × student depths × methods × "
                    "seeds) that is not cached yet, score each once on dev and test, and "
                    "write report.md, cells.csv, summary.csv and an accuracy-vs-speedup "
                    "plot: mean, std and 95% CI per method and depth, and a paired "
                    "bootstrap test (seeds × sentences) of each method against the "
                    "baseline. Re-running skips finished cells; an interrupted grid "
                    "resumes. Flags override the --config file's keys.")
    p.add_argument("--config", default=None,
                   help="YAML or JSON grid (keys: name, datasets, presets, num_layers, seeds, "
                        "methods, baseline, teacher, training, latency, search); default: "
                        "movie reviews, 3 layers, 3 seeds, truncated/kd/theseus/theseus_kd")
    p.add_argument("--datasets", nargs="+", default=None, choices=sorted(LOADERS))
    p.add_argument("--methods", nargs="+", default=None,
                   help="labels of the --config file's methods, or method names and "
                        "aliases (truncated, pretrained_truncated, searched_truncated, kd, "
                        "kd_hidden, theseus, theseus_kd, dynabert)")
    p.add_argument("--layers", type=int, nargs="+", default=None, help="student depths")
    p.add_argument("--seeds", type=int, default=None, help="seeds per cell: 0..N-1")
    p.add_argument("--baseline", default=None,
                   help="the method label the others are tested against (default truncated)")
    p.add_argument("--limit-train-rows", type=int, default=None,
                   help="train on the first N rows only (a smoke grid)")
    p.add_argument("--name", default=None, help="names the run directory compare-<name>-NNN")
    p.add_argument("--output-dir", default="keras_theseus_runs",
                   help="parent of the run directories (default %(default)s)")
    p.add_argument("--cache-dir", default=None,
                   help="cell cache (default ~/.keras/keras_theseus/comparison_cells)")
    p.add_argument("--run-name", default=None,
                   help="run directory name (default: numbered, never reused)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --run-name directory")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                   help="Keras fit verbosity (default: 1 on a terminal, 2 otherwise)")
    p.set_defaults(func=_compare)

    p = sub.add_parser(
        "export", help="Export a saved .keras classifier for TF Serving, TFLite, ONNX, "
                       "Hugging Face transformers or keras-hub.",
        description="Export a .keras text classifier. serving: OUTPUT/<name>/<version>/ "
                    "SavedModel (TF Serving layout); tflite: OUTPUT/<stem>.tflite "
                    "(--quantize for dynamic-range int8 weights); onnx: OUTPUT/<stem>.onnx "
                    "(needs the [export] extra); hf: OUTPUT/<stem>_hf, a Hugging Face BERT "
                    "checkpoint (transformers' AutoModelForSequenceClassification and "
                    "AutoTokenizer load it); keras_hub_preset: OUTPUT/<stem>_preset "
                    "(keras_hub.models.BertTextClassifier.from_preset after `import "
                    "keras_theseus`). hf and keras_hub_preset need --preset for the "
                    "vocabulary; all = serving, tflite and onnx. Nothing existing is "
                    "overwritten without --overwrite (SavedModel versions never).")
    p.add_argument("model", help="a .keras classifier")
    p.add_argument("--format", choices=("serving", "tflite", "onnx", "hf", "keras_hub_preset",
                                        "all"), default="serving")
    p.add_argument("--output", default="exported", help="output directory")
    p.add_argument("--model-name", default=None, help="served model name (default: file stem)")
    p.add_argument("--version", default="next",
                   help="SavedModel version number, or 'next' (default)")
    p.add_argument("--preset", default=None,
                   help="the checkpoint whose tokenizer the student uses: serving adds the "
                        "serve_text signature; hf and keras_hub_preset write its vocabulary")
    p.add_argument("--sequence-length", type=int, default=128,
                   help="serve_text's / the exported tokenizer's sequence length")
    p.add_argument("--label-names", default=None,
                   help="hf: comma-separated class names for id2label (default LABEL_0, ...)")
    p.add_argument("--quantize", action="store_true", help="TFLite dynamic-range int8 weights")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing TFLite/ONNX files and hf/preset directories")
    p.set_defaults(func=_export)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM (a scheduler, `kill`) ends a run like Ctrl-C: run directories
    # record "interrupted" in status.json instead of dying mid-write.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    if getattr(args, "verbose", 0) is None:
        # Progress bars rewrite one line with carriage returns: fine on a
        # terminal, noise in a redirected log.
        args.verbose = 1 if sys.stdout.isatty() else 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        hint = (f" `keras-theseus {args.command} --resume RUN_DIR` continues it from its "
                "last finished epoch." if args.command in ("compress", "clue") else "")
        print(f"keras-theseus {args.command}: interrupted (a run directory's status.json "
              f"says so; it is not a finished run).{hint}", file=sys.stderr)
        return 130
    except (FileNotFoundError, FileExistsError, ValueError, ModuleNotFoundError) as e:
        # Input problems get one clear line; KERAS_THESEUS_DEBUG=1 shows the traceback.
        if os.environ.get("KERAS_THESEUS_DEBUG"):
            raise
        message = str(e)
        if args.command in ("compress", "clue"):
            message = _name_flags(message)
        print(f"keras-theseus {args.command}: error: {message}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
