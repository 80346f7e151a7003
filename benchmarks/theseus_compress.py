"""BERT-of-Theseus vs the same-size truncated student, same training budget.

    .venv/bin/python benchmarks/theseus_compress.py --dataset movie_reviews --layers 3 2
    .venv/bin/python benchmarks/theseus_compress.py --dataset chinese_sentiment \
        --preset all_minilm_l6_v2_zh --layers 3 --sequence-length 128 \
        --bucket-widths 32 64 96 128 --teacher-bucket-widths 32 64 96 128

For each successor depth n: Theseus (stage 2: `--replacing-epochs` with the
default linear curriculum, stage 3: `--successor-epochs` of successor-only
fine-tuning) against the predecessor's first n layers fine-tuned directly for
the same total number of epochs. `--init` picks the successor's starting
layers (`every_rth` = 0, 2, 4 for 6→3) and `--init-baseline` adds the
truncated student made of those same layers, so what the initialization
alone gives is measured apart from what Theseus training adds;
`--train-embeddings` / `--train-classifier` unfreeze those in stage 2.
Reports test accuracy, retention, params, latency speedup (batch 32,
length 128, interleaved, XLA) and the Theseus train step (p = 0.5 and 1) as
a ratio to the predecessor's fine-tune step, both compiled as the trainers
compile by default (`jit_compile="auto"`: no XLA on a CPU).
The teacher comes from benchmarks/teacher_finetune.py's cache (or is
fine-tuned first with the same settings). For Chinese text the teacher is
MiniLM moved onto the bert-base-chinese vocabulary (`all_minilm_l6_v2_zh`)
and fine-tuned there; `--bucket-widths` pads each batch only to its length
bucket (reviews are long-tailed), train steps are timed on padded batches.
"""

import argparse
import os
import time

import keras

import keras_theseus as kt
from common import accuracy
from common import add_teacher_arguments
from common import bucketing_note
from common import load_teacher_and_splits
from keras_theseus.theseus import TheseusClassifier
from keras_theseus.theseus import compress_with_theseus
from keras_theseus.theseus import successor_source_layers


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_teacher_arguments(p)
    p.add_argument("--layers", type=int, nargs="+", default=[3, 2])
    p.add_argument("--replacing-epochs", type=int, default=2)
    p.add_argument("--successor-epochs", type=int, default=1)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--init", default="first",
                   help="successor initialization: first, every_rth, last_of_module, random, "
                        "or comma-separated layer indices")
    p.add_argument("--train-embeddings", action="store_true",
                   help="stage 2 also trains the embeddings (frozen in the paper)")
    p.add_argument("--train-classifier", action="store_true",
                   help="stage 2 also trains the pooler and head (frozen in the paper)")
    p.add_argument("--init-baseline", action="store_true",
                   help="also fine-tune the truncated student made of the --init layers "
                        "(the control for what the initialization alone gives)")
    p.add_argument("--pretrained-baseline", action="store_true",
                   help="also fine-tune the first n layers of the *pretrained* checkpoint "
                        "(new head) for the same epochs: the 'fine-tuning' baseline of the "
                        "Theseus and BERT-PKD papers")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the truncated-student baseline (e.g. a second Theseus setting)")
    p.add_argument("--baseline-only", action="store_true",
                   help="only the truncated-student baseline (e.g. at another learning rate)")
    p.add_argument("--limit-batches", type=int, default=None,
                   help="Smoke test: train on this many batches per epoch only.")
    args = p.parse_args()
    if "," in args.init or args.init.isdigit():
        args.init = [int(i) for i in args.init.split(",")]

    data, teacher, pre, train, dev, test = load_teacher_and_splits(args)
    teacher_test = accuracy(teacher, test)
    if args.limit_batches:
        train, dev = train.take(args.limit_batches), dev.take(args.limit_batches)
    budget = args.replacing_epochs + args.successor_epochs
    x_lat = kt.timing.synthetic_inputs(32, 128, teacher.backbone.vocabulary_size)
    # Train steps are timed on one padded b×len batch, bucketed or not.
    step_batch = next(iter(data.tf_dataset("train", pre, batch_size=args.batch_size)))
    buckets = bucketing_note(args)
    init_name = ",".join(map(str, args.init)) if isinstance(args.init, list) else args.init
    trains = "".join(f", stage 2 trains {part}" for part, on in (
        ("embeddings", args.train_embeddings), ("pooler+head", args.train_classifier)) if on)
    print(f"teacher test accuracy {teacher_test:.4f}")

    for n in args.layers:
        students, walls, result = {}, {}, None
        if not args.baseline_only:
            start = time.time()
            result = compress_with_theseus(
                teacher, train, dev, num_successor_layers=n,
                replacing_epochs=args.replacing_epochs, successor_epochs=args.successor_epochs,
                learning_rate=args.learning_rate, init=args.init,
                train_embeddings=args.train_embeddings, train_classifier=args.train_classifier,
                verbose=2)
            walls["theseus"] = time.time() - start
            students["theseus"] = result.successor
        # name -> (layers, start from the pretrained checkpoint?, record's method)
        lr = args.learning_rate
        baselines = {}
        if not args.no_baseline:
            baselines["baseline"] = (list(range(n)), False,
                                     f"truncated first-{n} fine-tune (lr {lr})")
        if args.init_baseline:
            layers = successor_source_layers(teacher.backbone.num_layers, n, args.init)
            if layers is None or layers == list(range(n)):
                p.error("--init-baseline needs an --init other than first/random")
            baselines["init_baseline"] = (layers, False,
                                          f"truncated layers {layers} fine-tune (lr {lr})")
        if args.pretrained_baseline:
            baselines["pretrained_baseline"] = (list(range(n)), True,
                                                f"pretrained first-{n} fine-tune (lr {lr})")
        for name, (layers, pretrained, _) in baselines.items():
            start = time.time()
            keras.utils.set_random_seed(0)
            source = (kt.models.build_text_classifier(kt.models.load_backbone(args.preset),
                                                      data.num_classes)
                      if pretrained else teacher)
            baseline = kt.models.drop_layers(source, layers)
            kt.models.compile_text_classifier(baseline, learning_rate=lr,
                                              total_steps=int(train.cardinality()) * budget)
            baseline.fit(train, validation_data=dev, epochs=budget, verbose=2, shuffle=False)
            walls[name] = time.time() - start
            students[name] = baseline
        scores = {name: {"dev": accuracy(m, dev), "test": accuracy(m, test)}
                  for name, m in students.items()}
        student = next(iter(students.values()))  # every student has the same shape
        lat = kt.timing.measure_latency({"teacher": teacher, "student": student}, x_lat,
                                        warmup=3, repeats=10)
        common = dict(
            experiment=f"theseus_{args.dataset}", dataset=args.dataset, teacher=args.preset,
            metric="test_accuracy", teacher_metric=teacher_test,
            teacher_params=kt.timing.count_params(teacher),
            student_params=kt.timing.count_params(student),
            latency_ms_teacher=lat["teacher"]["median_ms"],
            latency_ms_student=lat["student"]["median_ms"], batch_size=32,
            sequence_length=128, split="test",
            student_config={"layers": n, "hidden": teacher.backbone.hidden_dim,
                            "heads": teacher.backbone.num_heads},
        )
        if result is not None:
            steps = train_step_times(teacher, n, step_batch)
            ratio = steps["theseus"]["median_ms"] / steps["predecessor"]["median_ms"]
            ratio_p1 = steps["theseus_p1"]["median_ms"] / steps["predecessor"]["median_ms"]
            kt.reporting.append_record(kt.reporting.make_record(
                method=f"theseus (init {init_name}, lr {args.learning_rate}{trains})",
                student_metric=scores["theseus"]["test"], train_step_ratio=ratio,
                notes=(f"Theseus {teacher.backbone.num_layers}→{n}, lr {args.learning_rate}: "
                       f"dev {scores['theseus']['dev']:.4f}; {args.replacing_epochs} replacing "
                       f"epochs (linear p 0.3→1 at 80%{trains}) + {args.successor_epochs} "
                       f"successor epoch(s), train len {args.sequence_length}{buckets}, wall "
                       f"{walls['theseus']:.0f}s; train step b{args.batch_size}×"
                       f"{args.sequence_length} {steps['theseus']['median_ms']:.0f} ms at p=0.5, "
                       f"{steps['theseus_p1']['median_ms']:.0f} ms at p=1 vs predecessor "
                       f"{steps['predecessor']['median_ms']:.0f} ms (ratio at p=1: "
                       f"{ratio_p1:.2f})."),
                extra={"dev_accuracy": scores["theseus"]["dev"], "train_steps": steps,
                       "wall_seconds": walls["theseus"],
                       "replacing_history": result.replacing_history.history,
                       "successor_history": result.successor_history.history
                       if result.successor_history else None},
                **common), args.results)
        for name, (layers, pretrained, method) in baselines.items():
            source = "pretrained checkpoint" if pretrained else "fine-tuned teacher"
            kt.reporting.append_record(kt.reporting.make_record(
                method=method,
                student_metric=scores[name]["test"],
                notes=(f"Baseline {n} layers: layers {layers} of the {source}, "
                       f"{budget} epochs at lr {args.learning_rate}, len "
                       f"{args.sequence_length}{buckets}; dev "
                       f"{scores[name]['dev']:.4f}; wall {walls[name]:.0f}s."),
                extra={"dev_accuracy": scores[name]["dev"], "wall_seconds": walls[name]},
                **common), args.results)
        kt.reporting.write_markdown(
            args.results, os.path.join(os.path.dirname(os.path.abspath(args.results)), "RESULTS.md"))
        print(f"n={n}: " + ", ".join(f"{k} test {v['test']:.4f}" for k, v in scores.items())
              + f"; teacher {teacher_test:.4f}; speedup "
              f"{lat['teacher']['median_ms'] / lat['student']['median_ms']:.2f}")


def train_step_times(teacher, n, batch):
    """Theseus train step (p = 0.5 and p = 1) vs fine-tuning the predecessor."""
    predecessor = kt.models.drop_layers(teacher, list(range(teacher.backbone.num_layers)))
    models = {"predecessor": predecessor}
    for name, rate in (("theseus", 0.5), ("theseus_p1", 1.0)):
        models[name] = TheseusClassifier.from_predecessor(teacher, n, replacement_rate=rate)
    for model in models.values():
        kt.models.compile_text_classifier(model, learning_rate=1e-9)
    return kt.timing.measure_train_step(models, batch, warmup=2, repeats=8)

if __name__ == "__main__":
    main()
