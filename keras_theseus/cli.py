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
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
