"""Evaluate a compression run and write its report directory."""

import datetime
import os

import pandas as pd

from keras_theseus.timing.latency import count_params
from keras_theseus.timing.latency import device_info
from keras_theseus.timing.latency import measure_latency
from keras_theseus.timing.latency import synthetic_inputs




def evaluate_run(run, data, split="test", batch_size=64, latency_batch_sizes=(32, 1),
                 latency_length=128, latency_repeats=10, verbose=0):
    """Accuracy, params, latency and speedup of a run's teacher and student.

    Latency is measured interleaved in this process on synthetic
    full-length batches (`measure_latency`: XLA for float32 models, TF
    graph mode for bfloat16 ones on a CPU), in the precision the models
    were trained in, so the speedup is a ratio from one run on one machine.

    Args:
        run: a `CompressionRun`.
        data: the dataset it was trained on.
        split: labelled split to score (`test`; `dev` for CLUE, whose test
            set is unlabelled).
        batch_size: evaluation batch size.
        latency_batch_sizes: batch sizes to time.
        latency_length: sequence length to time (capped at the model's
            maximum).
        latency_repeats: timed rounds per shape.

    Returns:
        DataFrame indexed by `teacher` / `student` with `layers`, `params`,
        `<split>_accuracy`, `retention`, `latency_ms_b{B}x{L}`,
        `speedup_b{B}x{L}` and `train_wall_s`.
    """
    models = {"teacher": run.teacher, "student": run.student}
    rows = {name: {"layers": m.backbone.num_layers, "params": count_params(m)}
            for name, m in models.items()}
    ds = data.tf_dataset(split, run.preprocessor, batch_size=batch_size)
    for name, model in models.items():
        rows[name][f"{split}_accuracy"] = model.evaluate(ds, verbose=verbose,
                                                         return_dict=True)["accuracy"]
    teacher_acc = rows["teacher"][f"{split}_accuracy"]
    for name in models:
        rows[name]["retention"] = (rows[name][f"{split}_accuracy"] / teacher_acc
                                   if teacher_acc else float("nan"))
    length = min(latency_length, run.teacher.backbone.max_sequence_length)
    vocab = run.teacher.backbone.vocabulary_size
    for batch in latency_batch_sizes:
        stats = measure_latency(models, synthetic_inputs(batch, length, vocab),
                                warmup=2, repeats=latency_repeats,
                                # "auto": XLA for float32 (it wins at b1 on
                                # CPU), oneDNN graph mode for bfloat16 on a
                                # CPU (XLA ignores AMX).
                                jit_compile=run.config.jit_compile)
        key = f"b{batch}x{length}"
        for name in models:
            rows[name][f"latency_ms_{key}"] = stats[name]["median_ms"]
            rows[name][f"speedup_{key}"] = (stats["teacher"]["median_ms"]
                                            / stats[name]["median_ms"])
    rows["teacher"]["train_wall_s"] = run.wall_s.get("teacher", float("nan"))
    rows["student"]["train_wall_s"] = run.wall_s.get("compress", float("nan"))
    frame = pd.DataFrame(rows).T
    frame.index.name = "model"
    for column in ("layers", "params"):
        frame[column] = frame[column].astype(int)
    return frame


def plot_accuracy_vs_latency(metrics, path, accuracy_column, latency_column, title=""):
    """Save a PNG scatter of accuracy against latency, one labelled point per model."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    for name, row in metrics.iterrows():
        ax.scatter(row[latency_column], 100 * row[accuracy_column], s=60)
        ax.annotate(f"{name} ({int(row['layers'])}L)",
                    (row[latency_column], 100 * row[accuracy_column]),
                    textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel(f"latency, ms ({latency_column.split('_')[-1]}, median)")
    ax.set_ylabel(f"{accuracy_column.replace('_', ' ')} (%)")
    return save_figure(fig, ax, path, title, margins=0.25)


def save_figure(fig, ax, path, title="", margins=0.25):
    """Title, grid and margins as every report plot has them; save the PNG and close."""
    import matplotlib.pyplot as plt

    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.margins(margins)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _format(column, value):
    if column in ("layers", "params"):
        return f"{int(value):,}"
    if column.endswith("_accuracy") or column == "retention":
        return f"{100 * value:.2f}%"
    if column.startswith("speedup"):
        return f"{value:.2f}×"
    return f"{value:.1f}"


def _markdown_table(frame):
    lines = ["| model | " + " | ".join(frame.columns) + " |",
             "|---|" + "---|" * len(frame.columns)]
    for name, row in frame.iterrows():
        lines.append(f"| {name} | "
                     + " | ".join(_format(c, row[c]) for c in frame.columns) + " |")
    return "\n".join(lines)


def write_report(run_dir, metrics, run, data, files=None, title=None, notes=(), preface=()):
    """Write `report.md`, `metrics.csv` and `accuracy_vs_latency.png` into `run_dir`.

    Args:
        run_dir: the run directory (see `new_run_dir`).
        metrics: `evaluate_run`'s DataFrame.
        run: the `CompressionRun` (its config goes into the report).
        data: the dataset (name and sizes go into the report).
        files: `{description: path}` of other artefacts to list.
        title: report heading.
        notes: extra Markdown lines at the end.
        preface: Markdown lines right under the heading (e.g. that a run is a
            smoke test).

    Returns:
        `{"report", "metrics", "plot"}` paths.
    """
    accuracy = next(c for c in metrics.columns if c.endswith("_accuracy"))
    latency = next(c for c in metrics.columns if c.startswith("latency_ms_b"))
    speedup = "speedup_" + latency[len("latency_ms_"):]
    paths = {"metrics": os.path.join(run_dir, "metrics.csv"),
             "plot": os.path.join(run_dir, "accuracy_vs_latency.png"),
             "report": os.path.join(run_dir, "report.md")}
    metrics.to_csv(paths["metrics"])
    c = run.config
    title = title or f"{c.method} compression of {os.path.basename(str(c.preset))} on {data.name}"
    plot_accuracy_vs_latency(metrics, paths["plot"], accuracy, latency, title)
    teacher, student = metrics.loc["teacher"], metrics.loc["student"]
    lines = [
        f"# {title}", "",
        f"{datetime.datetime.now().isoformat(timespec='seconds')} on {device_info()['name']}.", "",
        *([*preface, ""] if preface else []),
        f"The {int(student['layers'])}-layer student keeps {100 * student['retention']:.1f}% of the "
        f"teacher's {accuracy.replace('_', ' ')} ({100 * student[accuracy]:.2f}% vs "
        f"{100 * teacher[accuracy]:.2f}%) and runs {student[speedup]:.2f}× faster at "
        f"{latency[len('latency_ms_'):]} with {student['params'] / teacher['params']:.0%} of "
        "its parameters.", "",
        _markdown_table(metrics), "",
        "Latency: median over interleaved rounds in one process on synthetic full-length "
        "batches; speedup = teacher latency / model latency.", "",
        "## Configuration", "",
        f"- data: {data.name} ({len(data.train)} train / {len(data.dev)} dev / "
        f"{len(data.test)} test rows)",
        f"- method: {c.method}; student layers: {c.num_layers}"
        + (f", width {c.width:g}" if c.method == "dynabert" else "") + f"; teacher: {c.preset}",
        f"- sequence length {c.sequence_length}, batch {c.batch_size}, teacher epochs "
        f"{c.teacher_epochs}, compression epochs {c.epochs}"
        + (f" + {c.successor_epochs} successor epoch(s)" if c.method == "theseus" else "")
        + (" per DynaBERT phase" if c.method == "dynabert" else "")
        + f", learning rate {c.learning_rate}, seed {c.seed}, XLA {c.jit_compile}, "
        f"precision {_precision_text(c.precision, run)}"
        + ("" if c.strategy is None else _strategy_text(c.strategy)),
        f"- wall time: teacher {run.wall_s['teacher']:.0f} s, compression "
        f"{run.wall_s['compress']:.0f} s", "",
        "## Files", "",
        "- `metrics.csv`: the table above",
        "- `accuracy_vs_latency.png`: accuracy against latency",
    ]
    for description, path in (files or {}).items():
        lines.append(f"- `{os.path.relpath(path, run_dir)}`: {description}")
    lines += ["", *notes]
    with open(paths["report"], "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    return paths


def _strategy_text(name):
    from keras_theseus.distribute import resolve_strategy

    replicas = resolve_strategy(name).num_replicas_in_sync
    plural = "s" if replicas != 1 else ""
    return f", strategy {name} ({replicas} replica{plural}; the batch above is the global batch)"


def _precision_text(setting, run):
    from keras_theseus.models.precision import model_precision

    actual = model_precision(run.student)
    return actual if setting == actual else f"{setting} → {actual}"


def summary_table(metrics):
    """The metrics as a fixed-width string for the terminal."""
    shown = metrics.copy().astype(object)
    for column in shown.columns:
        shown[column] = [_format(column, v) for v in metrics[column]]
    return shown.to_string()
