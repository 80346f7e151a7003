"""Distilled layer-dropped students vs hard-label fine-tuning, same budget.

    .venv/bin/python benchmarks/distill_students.py --dataset movie_reviews --layers 3 2

For each student depth n:
1. a layer-selection search over all C(L, n) teacher-layer subsets (short
   distillation of `--search-steps` steps each, scored on dev; the table is
   saved as CSV and its best-minus-worst spread recorded);
2. the best subset initialises three students trained for `--epochs` at the
   same learning rate: (a) hard labels only (plain fine-tuning), (b) KD
   (soft-target KL at T plus hard CE), (c) KD + last-layer cosine +
   TinyBERT hidden-state MSE;
3. test accuracy, retention, params, latency speedup (b32×128, XLA,
   interleaved) and the KD step time as a ratio to (teacher forward +
   student plain train step), all at the training batch shape.
"""

import argparse
import os
import time

import keras

import keras_theseus as kt
from common import accuracy
from keras_theseus.distill import Distiller
from keras_theseus.distill import distill_classifier
from keras_theseus.distill import search_layer_subsets

HERE = os.path.dirname(os.path.abspath(__file__))

VARIANTS = {
    "hard": None,
    "kd": {"kd_weight": 1.0, "label_weight": 1.0},
    "kd_hidden": {"kd_weight": 1.0, "label_weight": 1.0, "cosine_weight": 1.0,
                  "hidden_mse_weight": 1.0},
}


def kd_step_ratio(teacher, student, batch, terms):
    """KD step vs (teacher forward + student plain train step), interleaved."""
    x, y = batch
    distiller = Distiller(teacher, kt.models.drop_layers(student, list(
        range(student.backbone.num_layers))), **terms)
    distiller.compile(optimizer=keras.optimizers.AdamW(1e-9), jit_compile=True)
    plain = kt.models.drop_layers(student, list(range(student.backbone.num_layers)))
    kt.models.compile_text_classifier(plain, learning_rate=1e-9)
    forward = kt.timing.inference_function(teacher)
    calls = {
        "kd_step": lambda _: distiller.train_on_batch(x, y),
        "student_step": lambda _: plain.train_on_batch(x, y),
        "teacher_forward": forward,
    }
    stats = kt.timing.measure_latency(calls, x, warmup=2, repeats=8)
    ratio = stats["kd_step"]["median_ms"] / (stats["teacher_forward"]["median_ms"]
                                             + stats["student_step"]["median_ms"])
    return ratio, stats


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="movie_reviews", choices=sorted(kt.datasets.LOADERS))
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--layers", type=int, nargs="+", default=[3, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--teacher-epochs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--search-steps", type=int, default=40)
    p.add_argument("--search-dev-batches", type=int, default=8,
                   help="dev batches of 64 used to score search candidates")
    p.add_argument("--student-layers", type=int, nargs="+", default=None,
                   help="skip the search and keep these teacher layers")
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    p.add_argument("--limit-batches", type=int, default=None,
                   help="Smoke test: train on this many batches per epoch only.")
    args = p.parse_args()

    data = kt.datasets.load_dataset(args.dataset)
    teacher, pre, _ = kt.models.finetune_teacher(
        data, preset=args.preset, sequence_length=args.sequence_length,
        epochs=args.teacher_epochs, batch_size=args.batch_size, verbose=2)
    train = data.tf_dataset("train", pre, batch_size=args.batch_size)
    dev = data.tf_dataset("dev", pre, batch_size=64)
    test = data.tf_dataset("test", pre, batch_size=64)
    if args.limit_batches:
        train, dev, test = (d.take(args.limit_batches) for d in (train, dev, test))
    teacher_scores = {"dev": accuracy(teacher, dev), "test": accuracy(teacher, test)}
    print(f"teacher: {teacher_scores}", flush=True)
    x_lat = kt.timing.synthetic_inputs(32, 128, teacher.backbone.vocabulary_size)
    step_batch = next(iter(train))
    L = teacher.backbone.num_layers
    results_md = os.path.join(os.path.dirname(os.path.abspath(args.results)), "RESULTS.md")

    for n in args.layers:
        if args.student_layers:
            layers = list(args.student_layers)
        else:
            start = time.time()
            table = search_layer_subsets(
                teacher, train, dev.take(args.search_dev_batches), num_keep=n,
                steps=args.search_steps, learning_rate=args.learning_rate,
                temperature=args.temperature)
            wall = time.time() - start
            csv = os.path.join(HERE, f"layer_search_{args.dataset}_{n}.csv")
            table.to_csv(csv, index=False)
            layers = [int(i) for i in table.iloc[0]["layers"]]
            spread = float(table["accuracy"].max() - table["accuracy"].min())
            zero_spread = float(table["zero_shot_accuracy"].max()
                                - table["zero_shot_accuracy"].min())
            first = table[table["layers"].apply(lambda c: list(c) == list(range(n)))].iloc[0]
            kt.reporting.append_record(kt.reporting.make_record(
                experiment=f"layer_search_{args.dataset}", dataset=args.dataset,
                method=f"layer search {L}→{n} ({len(table)} subsets, {args.search_steps} KD steps)",
                teacher=args.preset, metric="dev_accuracy_subset",
                teacher_metric=teacher_scores["dev"],
                student_metric=float(table.iloc[0]["accuracy"]), split="dev",
                notes=(f"best {layers} {table.iloc[0]['accuracy']:.4f}, worst "
                       f"{list(table.iloc[-1]['layers'])} {table.iloc[-1]['accuracy']:.4f}: "
                       f"spread {spread * 100:.1f} points after {args.search_steps} KD steps "
                       f"({zero_spread * 100:.1f} zero-shot); first-{n} ranks "
                       f"{int(first['rank'])}. Scored on {args.search_dev_batches}×64 dev "
                       f"sentences; wall {wall:.0f}s; table {os.path.basename(csv)}."),
                extra={"spread": spread, "zero_shot_spread": zero_spread,
                       "table": table.assign(layers=table["layers"].apply(list)).to_dict(
                           "records"), "wall_seconds": wall}), args.results)
            print(table.to_string(), flush=True)

        x_step = step_batch
        latency = None
        for variant in args.variants:
            keras.utils.set_random_seed(0)
            student = kt.distill.layer_dropped_student(teacher, strategy=layers)
            start = time.time()
            total = int(train.cardinality()) * args.epochs
            if VARIANTS[variant] is None:
                kt.models.compile_text_classifier(student, learning_rate=args.learning_rate,
                                                  total_steps=total)
                history = student.fit(train, validation_data=dev, epochs=args.epochs, verbose=2)
            else:
                student, history = distill_classifier(
                    teacher, train, dev, student=student, epochs=args.epochs,
                    learning_rate=args.learning_rate, temperature=args.temperature,
                    verbose=2, **VARIANTS[variant])
            wall = time.time() - start
            scores = {"dev": accuracy(student, dev), "test": accuracy(student, test)}
            if latency is None:
                latency = kt.timing.measure_latency({"teacher": teacher, "student": student},
                                                    x_lat, warmup=3, repeats=10)
            extra = {"dev_accuracy": scores["dev"], "wall_seconds": wall,
                     "history": history.history, "layers": layers}
            step_note = ""
            if VARIANTS[variant] is not None:
                ratio, stats = kd_step_ratio(teacher, student, x_step,
                                             dict(VARIANTS[variant],
                                                  temperature=args.temperature))
                extra["kd_step"] = stats
                step_note = (f" KD step {stats['kd_step']['median_ms']:.0f} ms vs teacher "
                             f"forward {stats['teacher_forward']['median_ms']:.0f} + student "
                             f"step {stats['student_step']['median_ms']:.0f} ms (b"
                             f"{args.batch_size}×{args.sequence_length}): ratio {ratio:.2f}.")
            else:
                ratio = None
            terms = "hard labels" if VARIANTS[variant] is None else ", ".join(
                f"{k[:-7]} {v:g}" for k, v in VARIANTS[variant].items())
            kt.reporting.append_record(kt.reporting.make_record(
                experiment=f"distill_{args.dataset}", dataset=args.dataset,
                method=f"{variant} {L}→{n} (layers {layers})", teacher=args.preset,
                metric="test_accuracy", teacher_metric=teacher_scores["test"],
                student_metric=scores["test"],
                teacher_params=kt.timing.count_params(teacher),
                student_params=kt.timing.count_params(student),
                latency_ms_teacher=latency["teacher"]["median_ms"],
                latency_ms_student=latency["student"]["median_ms"], batch_size=32,
                sequence_length=128, split="test", train_step_ratio=ratio,
                student_config={"layers": n, "hidden": teacher.backbone.hidden_dim,
                                "heads": teacher.backbone.num_heads},
                notes=(f"{terms}" + (f", T {args.temperature:g}" if ratio else "")
                       + f"; {args.epochs} epochs, lr {args.learning_rate:g}, train len "
                       f"{args.sequence_length}; dev {scores['dev']:.4f}; wall {wall:.0f}s."
                       + step_note),
                extra=extra), args.results)
            kt.reporting.write_markdown(args.results, results_md)
            print(f"n={n} {variant}: test {scores['test']:.4f} dev {scores['dev']:.4f} "
                  f"(teacher {teacher_scores['test']:.4f}), ratio {ratio}", flush=True)
        print(f"n={n} speedup "
              f"{latency['teacher']['median_ms'] / latency['student']['median_ms']:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
