"""The `keras-theseus` command line."""

import argparse
import os
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

    table = benchmark_models(args.models, batch_size=args.batch_size,
                             sequence_length=args.sequence_length, warmup=args.warmup,
                             repeats=args.repeats, jit_compile=not args.no_xla)
    columns = ["params", "gflops", "latency_ms_p50", "latency_ms_p90", "latency_ms_p99",
               "throughput", "speedup"]
    print(f"{table['device'].iloc[0]}; batch {args.batch_size} × length "
          f"{args.sequence_length}; speedup relative to {table.index[0]}")
    print(table[columns].to_string(float_format=lambda v: f"{v:.2f}"))
    if args.csv:
        table.to_csv(args.csv)
    return 0


def build_parser():
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
    p.add_argument("--no-xla", action="store_true", help="time Keras models without XLA")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    p.set_defaults(func=_benchmark)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
