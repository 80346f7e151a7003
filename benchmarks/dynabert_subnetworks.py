"""DynaBERT on a fine-tuned teacher: accuracy, params, FLOPs and latency of every sub-network.

    .venv/bin/python benchmarks/dynabert_subnetworks.py          # MiniLM-L6, movie reviews

1. The cached fine-tuned teacher (same as the other benchmarks) is converted,
   its heads and neurons scored on dev batches and rewired.
2. DynaBERT_w (`--width-epochs`, widths 1/.75/.5/.25, λ2 0.1) then DynaBERT
   (`--depth-epochs`, depths 1/.75/.5 × widths, λ2 1), all through `fit`.
3. Every (w, d) sub-network is extracted as a smaller dense model and scored
   on dev and test; params, FLOPs (b1×128) and latency (b32×128, XLA,
   interleaved with the teacher) are measured.
4. Baselines for `--baselines` shapes: the same sub-network cut from the
   rewired teacher without DynaBERT training, fine-tuned on the labels for
   `--baseline-epochs`.
5. With `--final-finetune-epochs N`, DynaBERT's optional final fine-tune:
   the `--baselines` shapes extracted from the trained DynaBERT model and
   fine-tuned on the labels for N epochs (same recipe as the baselines).
Records go to results.json / RESULTS.md, the table to
`dynabert_<dataset>.csv` and the accuracy-vs-latency plot to
`dynabert_<dataset>.png`.
"""

import argparse
import os
import time

import keras
import pandas as pd

import keras_theseus as kt
from common import HERE
from common import accuracy
from common import add_teacher_arguments
from common import bucketing_note
from common import load_teacher_and_splits
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.dynabert import compute_importance
from keras_theseus.dynabert import extract_subnetwork
from keras_theseus.dynabert import rewire
from keras_theseus.dynabert import train_dynabert




def plot(table, teacher_row, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    dyn = table[table["kind"] == "dynabert"]
    for depth, group in dyn.groupby("depth"):
        group = group.sort_values("latency_ms")
        ax.plot(group["latency_ms"], 100 * group["test_accuracy"], "o-", label=f"DynaBERT d={depth:g}")
        for _, row in group.iterrows():
            ax.annotate(f"w{row['width']:g}", (row["latency_ms"], 100 * row["test_accuracy"]),
                        textcoords="offset points", xytext=(4, -10), fontsize=7)
    base = table[table["kind"] == "baseline"]
    if len(base):
        ax.scatter(base["latency_ms"], 100 * base["test_accuracy"], marker="x", s=60,
                   color="black", label="same shape, fine-tuned only")
    final = table[table["kind"] == "final_finetune"]
    if len(final):
        ax.scatter(final["latency_ms"], 100 * final["test_accuracy"], marker="P", s=60,
                   color="purple", label="DynaBERT + final fine-tune")
    ax.scatter([teacher_row["latency_ms"]], [100 * teacher_row["test_accuracy"]], marker="*",
               s=150, color="red", label="teacher")
    ax.set_xlabel("latency b32×128, ms (median)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_teacher_arguments(p)
    p.add_argument("--width-epochs", type=int, default=1)
    p.add_argument("--depth-epochs", type=int, default=1)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--importance-batches", type=int, default=16)
    p.add_argument("--baselines", nargs="*", default=["0.5,1.0", "0.5,0.5"],
                   help="width,depth shapes to fine-tune independently")
    p.add_argument("--baseline-epochs", type=int, default=2)
    p.add_argument("--final-finetune-epochs", type=int, default=0,
                   help="fine-tune the --baselines shapes extracted from DynaBERT on the "
                        "labels for this many epochs (DynaBERT's optional final fine-tune)")
    p.add_argument("--save-model", default=None,
                   help="save the trained DynaBERT model to this .keras file")
    p.add_argument("--load-model", default=None,
                   help="skip training: score the DynaBERT model saved in this .keras file "
                        "(the notes then record the training arguments given here)")
    p.add_argument("--limit-batches", type=int, default=None,
                   help="Smoke test: train on this many batches per epoch only.")
    args = p.parse_args()

    _, teacher, _, train, dev, test = load_teacher_and_splits(args)
    if args.limit_batches:
        train, dev, test = (d.take(args.limit_batches) for d in (train, dev, test))
    teacher_scores = {"dev": accuracy(teacher, dev), "test": accuracy(teacher, test)}
    print(f"teacher: {teacher_scores}", flush=True)

    start = time.time()
    if args.load_model:
        model = keras.saving.load_model(args.load_model, compile=False)
    else:
        model = train_dynabert(
            teacher, train, dev, importance_data=dev, width_epochs=args.width_epochs,
            depth_epochs=args.depth_epochs, learning_rate=args.learning_rate,
            importance_batches=args.importance_batches, verbose=2).model
        if args.save_model:
            model.save(args.save_model)
    wall = time.time() - start
    print(f"DynaBERT trained (or loaded) in {wall:.0f}s", flush=True)

    rows, models = [], {"teacher": teacher}
    for depth in kt.dynabert.DEFAULT_DEPTHS:
        for width in kt.dynabert.DEFAULT_WIDTHS:
            small = extract_subnetwork(model, width, depth)
            name = f"w{width:g}_d{depth:g}"
            models[name] = small
            rows.append({"name": name, "kind": "dynabert", "width": width, "depth": depth,
                         "dev_accuracy": accuracy(small, dev),
                         "test_accuracy": accuracy(small, test)})
            print(rows[-1], flush=True)

    # Baselines: the same shape cut from the rewired teacher, fine-tuned on labels only;
    # then (optionally) the same shape cut from DynaBERT, fine-tuned the same way.
    rewired = DynaBertClassifier.from_classifier(teacher)
    heads, neurons = compute_importance(rewired, dev, args.importance_batches)
    rewire(rewired, heads, neurons)
    shapes = [tuple(float(v) for v in spec.split(",")) for spec in args.baselines]
    for kind, source, epochs in (("baseline", rewired, args.baseline_epochs),
                                 ("final_finetune", model, args.final_finetune_epochs)):
        for width, depth in shapes if epochs else ():
            keras.utils.set_random_seed(0)
            small = extract_subnetwork(source, width, depth)
            total = int(train.cardinality()) * epochs
            kt.models.compile_text_classifier(small, args.learning_rate, total_steps=total)
            small.fit(train, validation_data=dev, epochs=epochs, verbose=2, shuffle=False)
            name = f"{kind}_w{width:g}_d{depth:g}"
            models[name] = small
            rows.append({"name": name, "kind": kind, "width": width, "depth": depth,
                         "dev_accuracy": accuracy(small, dev),
                         "test_accuracy": accuracy(small, test)})
            print(rows[-1], flush=True)

    teacher_flops = kt.timing.count_flops(teacher, 1, 128)
    students = {}
    for row in rows:
        m = models[row["name"]]
        row["gflops_b1x128"] = kt.timing.count_flops(m, 1, 128) / 1e9
        row["flops_ratio"] = teacher_flops / (row["gflops_b1x128"] * 1e9)
        students[_method(row)] = {"model": m, "metric": row["test_accuracy"],
                                  "config": {"width": row["width"], "depth": row["depth"]}}
    records = kt.reporting.measure_student_records(
        teacher, students, experiment=f"dynabert_{args.dataset}", dataset=args.dataset,
        teacher_name=args.preset, teacher_metric=teacher_scores["test"])
    for row, record in zip(rows, records):
        row["params"] = record["student_params"]
        row["latency_ms"] = record["latency_ms_student"]
        row["speedup"] = record["speedup"]
        row["speedup_over_flops_ratio"] = row["speedup"] / row["flops_ratio"]
        row["retention"] = record["retention"]
    table = pd.DataFrame(rows)
    teacher_row = {"latency_ms": records[0]["latency_ms_teacher"],
                   "test_accuracy": teacher_scores["test"]}
    csv = os.path.join(HERE, f"dynabert_{args.dataset}.csv")
    png = os.path.join(HERE, f"dynabert_{args.dataset}.png")
    if not args.limit_batches:
        table.to_csv(csv, index=False)
        plot(table, teacher_row, png,
             f"DynaBERT sub-networks of {args.preset} on {args.dataset}")
    print(table.to_string(), flush=True)
    if args.limit_batches:
        return
    for row, record in zip(rows, records):
        record["notes"] = (
            f"dev {row['dev_accuracy']:.4f}; FLOPs ratio {row['flops_ratio']:.2f}, "
            f"speedup/FLOPs ratio {row['speedup_over_flops_ratio']:.2f}; "
            + (f"{args.width_epochs}+{args.depth_epochs} epochs (DynaBERT_w, DynaBERT), "
               f"lr {args.learning_rate:g}, len {args.sequence_length}"
               f"{bucketing_note(args)}, wall {wall:.0f}s"
               if row["kind"] == "dynabert" else
               f"cut from the trained DynaBERT model, {args.final_finetune_epochs} "
               "epoch(s) on labels" if row["kind"] == "final_finetune" else
               f"cut from the rewired teacher, {args.baseline_epochs} epochs on labels")
            + ".")
        record["extra"] = dict(row)
        kt.reporting.append_record(record, args.results)
    kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))


def _method(row):
    """A sub-network's record name."""
    shape = f"w{row['width']:g} d{row['depth']:g}"
    return {"dynabert": f"DynaBERT {shape}",
            "final_finetune": f"DynaBERT {shape} + final fine-tune",
            "baseline": f"same shape {shape}, fine-tuned only"}[row["kind"]]


if __name__ == "__main__":
    main()
