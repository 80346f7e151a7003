"""Does mixed_bfloat16 training change accuracy? Paired, over seeds, from a grid.

    .venv/bin/keras-theseus compare --config benchmarks/grids/movie_reviews_precision.yaml
    .venv/bin/python benchmarks/precision_accuracy.py benchmarks/grids/movie_reviews_precision.yaml

The grid trains each method in float32 and, as `<label>_bf16`, in
mixed_bfloat16 with the same seeds (and as `<label>_bf16_f32res` in
mixed_bfloat16 on a float32 residual stream, `float32_residual: true`). For every such pair this runs the
comparison runner (cached cells: only the reports are made) with the float32
variant as the baseline, so the bf16 row carries the paired test on the same
test sentences and seeds: mean difference, its 95% interval (paired bootstrap
over seeds and sentences) and p-value. One `precision_accuracy` record per
pair goes to results.json, replacing an earlier record of the same pair:
`student_metric` is the bf16 mean, `teacher_metric` the float32 mean of the
same cells.
"""

import argparse
import os

import keras_theseus as kt

HERE = os.path.dirname(os.path.abspath(__file__))
SUFFIX = "_bf16"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="a grid with `<label>` and `<label>_bf16` methods")
    p.add_argument("--output-dir", default=os.path.join(HERE, "..", "keras_theseus_runs"))
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    args = p.parse_args()
    config = kt.workflows.comparison_config(args.config)
    labels = [m.label for m in config.methods]
    specs = {m.label: m for m in config.methods}
    pairs = [(label, variant) for label in labels for variant in labels
             if variant.startswith(label + SUFFIX)
             and specs[variant].options.get("precision") == "mixed_bfloat16"
             and specs[label].options.get("precision") in (None, "float32")]
    if not pairs:
        raise SystemExit(f"{args.config} has no `<label>` / `<label>{SUFFIX}` method pairs.")
    for fp32, bf16 in pairs:
        residual = specs[bf16].options.get("float32_residual")
        what = "mixed_bfloat16, float32 residual" if residual else "mixed_bfloat16"
        result = kt.workflows.run_comparison(
            kt.workflows.comparison_config(args.config, baseline=fp32),
            output_dir=args.output_dir, verbose=0)
        for dataset in config.datasets:
            rows = result.summary[result.summary.dataset == dataset].set_index("method")
            a, b = rows.loc[fp32], rows.loc[bf16]
            note = (f"{bf16} {100 * b['mean']:.2f}% vs {fp32} {100 * a['mean']:.2f}% over "
                    f"{int(b['seeds'])} seeds: difference {100 * b['difference']:+.2f} points "
                    f"[{100 * b['difference_ci95_low']:+.2f}, "
                    f"{100 * b['difference_ci95_high']:+.2f}], p {b['p_vs_baseline']:.3f} "
                    "(paired bootstrap over seeds and test sentences).")
            print(note, flush=True)
            kt.reporting.append_record(kt.reporting.make_record(
                experiment="precision_accuracy", method=f"{fp32}: {what} vs float32",
                dataset=dataset, teacher=config.preset(dataset), metric="test_accuracy",
                teacher_metric=float(a["mean"]), student_metric=float(b["mean"]),
                seeds=list(config.seeds), mean=float(b["mean"]), ci95_low=float(b["ci95_low"]),
                ci95_high=float(b["ci95_high"]),
                student_config={"layers": int(b["num_layers"])}, notes=note,
                extra={"difference": float(b["difference"]),
                       "difference_ci95_low": float(b["difference_ci95_low"]),
                       "difference_ci95_high": float(b["difference_ci95_high"]),
                       "p_value": float(b["p_vs_baseline"]),
                       "float32": {k: float(a[k]) for k in ("mean", "std", "ci95_low",
                                                            "ci95_high", "dev_mean")},
                       "mixed_bfloat16": {k: float(b[k]) for k in ("mean", "std", "ci95_low",
                                                                   "ci95_high", "dev_mean")},
                       "speedup_float32": float(a["speedup"]),
                       "speedup_mixed_bfloat16": float(b["speedup"]),
                       "float32_residual": bool(residual),
                       "grid": os.path.basename(args.config)}), args.results, replace=True)
    kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))


if __name__ == "__main__":
    main()
