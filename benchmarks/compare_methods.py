"""Run a comparison grid with `keras-theseus compare` and record it in results.json.

    .venv/bin/python benchmarks/compare_methods.py benchmarks/grids/movie_reviews_6to3.yaml

A thin wrapper over `keras_theseus.workflows.run_comparison`: finished
cells come from the cell cache, so recording a grid that `keras-theseus
compare` already ran costs only the report. One record per method and
depth, with `seeds`, `mean`, `ci95_low`, `ci95_high` and `p_vs_truncated`;
re-recording a grid replaces its earlier records in place, in the grid's
order.

Cells are cached in `benchmarks/cells/` (`--cache-dir`), which the repo
keeps: each cell's JSON holds its full configuration, dev accuracy and
test predictions, so the paired tests behind a recorded row can be checked
and a grid resumed on a fresh machine (the teacher is re-trained there if
a new cell needs it; its weights are not kept).
"""

import argparse
import os

import keras_theseus as kt
from keras_theseus.workflows.comparison_report import comparison_records

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="YAML/JSON grid (see benchmarks/grids/)")
    p.add_argument("--seeds", type=int, default=None, help="override the grid's seeds")
    p.add_argument("--methods", nargs="+", default=None,
                   help="record only these of the grid's method labels")
    p.add_argument("--output-dir", default=os.path.join(HERE, "..", "keras_theseus_runs"))
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    p.add_argument("--cache-dir", default=os.path.join(HERE, "cells"),
                   help="cell cache (default benchmarks/cells, kept in the repo)")
    args = p.parse_args()
    config = kt.workflows.comparison_config(args.config, seeds=args.seeds,
                                               methods=args.methods)
    result = kt.workflows.run_comparison(config, output_dir=args.output_dir,
                                           cache_dir=args.cache_dir, verbose=2)
    # One write, and the grid's records in the grid's order.
    kt.reporting.append_records(comparison_records(config, result.summary, result.teacher),
                                args.results, replace=True)
    kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))
    print(f"recorded {len(result.summary)} rows; report {result.run_dir}/report.md")


if __name__ == "__main__":
    main()
