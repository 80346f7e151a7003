"""The comparison runner's outputs: report.md, cells.csv, summary.csv, plots."""

import os

from keras_theseus.version import __version__
from keras_theseus.workflows.report import save_figure


def _pct(value):
    return "" if value != value else f"{100 * value:.2f}"


def plot_accuracy_vs_speedup(summary, teacher_accuracy, path, title=""):
    """PNG: test accuracy (mean ± 95% CI over seeds) against measured speedup."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    for _, row in summary.iterrows():
        mean = 100 * row["mean"]
        err = [[mean - 100 * row["ci95_low"]], [100 * row["ci95_high"] - mean]]
        ax.errorbar(row["speedup"], mean, yerr=err, fmt="o", capsize=4)
        ax.annotate(f"{row['method']} ({int(row['num_layers'])}L)", (row["speedup"], mean),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.axhline(100 * teacher_accuracy, color="grey", linestyle="--", linewidth=1)
    ax.annotate("teacher", (ax.get_xlim()[0], 100 * teacher_accuracy), fontsize=8,
                textcoords="offset points", xytext=(2, 3), color="grey")
    ax.set_xlabel("speedup over the teacher (measured latency ratio)")
    ax.set_ylabel("test accuracy (%), mean ± 95% CI over seeds")
    return save_figure(fig, ax, path, title, margins=0.2)


def summary_markdown(summary, baseline):
    """The summary as a Markdown table (accuracies in %)."""
    lines = ["| dataset | layers | method | seeds | dev mean | test mean ± std | 95% CI | "
             "retention | speedup | Δ vs " + baseline + " [95% CI] | p (bootstrap) | "
             "McNemar p (median) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        has_test = "p_vs_baseline" in r and r["p_vs_baseline"] == r["p_vs_baseline"]
        diff = (f"{100 * r['difference']:+.2f} [{100 * r['difference_ci95_low']:+.2f}, "
                f"{100 * r['difference_ci95_high']:+.2f}]" if has_test else "—")
        p = f"{r['p_vs_baseline']:.3f}" if has_test else "—"
        mcnemar = f"{r['mcnemar_p_median']:.3f}" if has_test else "—"
        lines.append(
            f"| {r['dataset']} | {int(r['num_layers'])} | {r['method']} | {int(r['seeds'])} | "
            f"{_pct(r['dev_mean'])} | {_pct(r['mean'])} ± {_pct(r['std'])} | "
            f"[{_pct(r['ci95_low'])}, {_pct(r['ci95_high'])}] | {_pct(r['retention'])}% | "
            f"{r['speedup']:.2f}× | {diff} | {p} | {mcnemar} |")
    return "\n".join(lines)


def write_comparison_report(run_dir, config, cells, summary, teacher):
    """Write report.md, cells.csv, summary.csv and one plot per dataset.

    Returns:
        `{name: path}` of what was written.
    """
    paths = {"cells": os.path.join(run_dir, "cells.csv"),
             "summary": os.path.join(run_dir, "summary.csv"),
             "report": os.path.join(run_dir, "report.md")}
    cells.to_csv(paths["cells"], index=False)
    summary.to_csv(paths["summary"], index=False)
    plots = []
    for dataset in config.datasets:
        part = summary[summary.dataset == dataset]
        name = f"accuracy_vs_speedup_{dataset}.png"
        plot_accuracy_vs_speedup(part, teacher[dataset], os.path.join(run_dir, name),
                                 title=f"{dataset}: {len(config.seeds)} seeds per cell")
        plots.append(name)
        paths[f"plot_{dataset}"] = os.path.join(run_dir, name)
    best = []
    for (dataset, k), part in summary.groupby(["dataset", "num_layers"], sort=False):
        top = part.sort_values("dev_mean", ascending=False).iloc[0]
        best.append(f"- {dataset}, {int(k)} layers: **{top['method']}** has the best dev "
                    f"mean ({_pct(top['dev_mean'])}%); its test mean is {_pct(top['mean'])}% "
                    f"({_pct(top['retention'])}% of the teacher).")
    tr = config.training
    lines = [
        f"# Method comparison: {config.name}", "",
        f"keras_theseus {__version__}. Seeds {config.seeds}; every method trains "
        f"{tr['epochs']} epochs (unless its options say otherwise) at learning rate "
        f"{tr['learning_rate']:g}, batch {tr['batch_size']}, length {tr['sequence_length']}"
        + (f", length buckets {tr['bucket_widths']}" if tr["bucket_widths"] else "")
        + (f", on the first {tr['limit_train_rows']} training rows only (a smoke grid)"
           if tr["limit_train_rows"] else "") + ".", "",
        "Teacher test accuracy: " + ", ".join(f"{d} {_pct(a)}%" for d, a in teacher.items())
        + ".", "",
        "## Summary", "",
        summary_markdown(summary, config.baseline), "",
        "Mean ± sample std over seeds; 95% CI of the mean (Student t over seeds: it "
        "covers seed-to-seed spread, not test-sample noise, which the paired test adds). "
        f"Δ is the mean test-accuracy difference to `{config.baseline}` on the same test "
        "sentences and seeds, with a paired bootstrap (10,000 resamples of seeds and "
        "sentences) interval and two-sided p-value; the McNemar column is the median over "
        "seeds of the exact per-seed test. Speedup: teacher / student latency at batch "
        f"{config.latency['batch_size']} × {config.latency['sequence_length']}, measured "
        "interleaved on this machine.", "",
        "## Chosen on dev", "", *best, "",
        "Each cell's model is the one at the end of its fixed budget; dev picks among "
        "variants, test was read once per cell.", "",
        "## Plots", "", *[f"![{p}]({p})" for p in plots], "",
        "## Files", "",
        "- `cells.csv`: one row per cell (dataset, layers, method, seed, dev/test accuracy, "
        "speedup, train seconds, cached).",
        "- `summary.csv`: the table above with full precision.",
        "- `config.json`: the grid as run.", "",
    ]
    with open(paths["report"], "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return paths


def comparison_records(config, summary, teacher):
    """`benchmarks/results.json` records of a comparison, one per method and depth.

    Each record's `student_metric` is the mean test accuracy over `seeds`,
    with `ci95_low` / `ci95_high` and `p_vs_truncated` (the paired bootstrap
    p-value against the baseline; None for the baseline itself).
    """
    from keras_theseus.reporting import make_record

    records = []
    for _, r in summary.iterrows():
        has_test = "p_vs_baseline" in r and r["p_vs_baseline"] == r["p_vs_baseline"]
        diff = (f"; Δ vs {config.baseline} {100 * r['difference']:+.2f} points "
                f"[{100 * r['difference_ci95_low']:+.2f}, {100 * r['difference_ci95_high']:+.2f}]"
                f", paired bootstrap p {r['p_vs_baseline']:.3f}" if has_test else "")
        # A method may override the grid's epochs / learning rate: the note
        # names what that method's cells were trained with.
        spec = next(m for m in config.methods if m.label == r["method"])
        tr = {**config.training, **{k: spec.options[k] for k in ("epochs", "learning_rate")
                                    if k in spec.options}}
        records.append(make_record(
            experiment=f"compare_{config.name}", method=r["method"], dataset=r["dataset"],
            teacher=config.preset(r["dataset"]), metric="test_accuracy",
            teacher_metric=teacher[r["dataset"]], student_metric=float(r["mean"]),
            student_config={"layers": int(r["num_layers"])},
            teacher_params=int(r["teacher_params"]), student_params=int(r["params"]),
            latency_ms_teacher=float(r["latency_ms_teacher"]),
            latency_ms_student=float(r["latency_ms_student"]),
            batch_size=config.latency["batch_size"],
            sequence_length=config.latency["sequence_length"], split="test",
            seeds=list(config.seeds), mean=float(r["mean"]), ci95_low=float(r["ci95_low"]),
            ci95_high=float(r["ci95_high"]),
            p_vs_truncated=float(r["p_vs_baseline"]) if has_test else None,
            notes=(f"{r['method']} {int(r['num_layers'])} layers over seeds {list(config.seeds)}: "
                   f"test {100 * r['mean']:.2f} ± {100 * r['std']:.2f} (95% CI "
                   f"{100 * r['ci95_low']:.2f}–{100 * r['ci95_high']:.2f}), dev mean "
                   f"{100 * r['dev_mean']:.2f}{diff}; {tr['epochs']} epochs at lr "
                   f"{tr['learning_rate']:g}, len {tr['sequence_length']}"
                   + (f" bucketed {'/'.join(map(str, tr['bucket_widths']))}"
                      if tr["bucket_widths"] else "") + "."),
            extra={"std": float(r["std"]), "dev_mean": float(r["dev_mean"]),
                   **({"difference": float(r["difference"]),
                       "difference_ci95": [float(r["difference_ci95_low"]),
                                           float(r["difference_ci95_high"])],
                       "mcnemar_p_median": float(r["mcnemar_p_median"])} if has_test else {})}))
    return records
