"""Experiment 1: fine-tune the MiniLM-L6 teacher; record accuracy and latency.

    .venv/bin/python benchmarks/teacher_finetune.py --dataset movie_reviews
    .venv/bin/python benchmarks/teacher_finetune.py --dataset bbc_news --sequence-length 128

Appends one record per dataset to benchmarks/results.json and re-renders
benchmarks/RESULTS.md. The fine-tuned teacher is cached (see
`keras_theseus.models.teacher_cache_path`) for the compression experiments.
"""

import argparse
import os
import time

import keras_theseus as kt

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="movie_reviews", choices=sorted(kt.datasets.LOADERS))
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--latency-batch", type=int, default=32)
    p.add_argument("--latency-length", type=int, default=128)
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    p.add_argument("--no-cache", action="store_true", help="Always fine-tune anew.")
    args = p.parse_args()

    data = kt.datasets.load_dataset(args.dataset)
    start = time.time()
    teacher, preprocessor, history = kt.models.finetune_teacher(
        data, preset=args.preset, sequence_length=args.sequence_length, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, cache=not args.no_cache,
        verbose=2,
    )
    train_s = time.time() - start
    scores = {}
    for split in ("dev", "test"):
        ds = data.tf_dataset(split, preprocessor, batch_size=64)
        scores[split] = float(teacher.evaluate(ds, verbose=0, return_dict=True)["accuracy"])
    print(f"{args.dataset}: dev {scores['dev']:.4f} test {scores['test']:.4f} ({train_s:.0f}s)")

    backbone = teacher.backbone
    x = kt.timing.synthetic_inputs(args.latency_batch, args.latency_length,
                                   backbone.vocabulary_size)
    lat = kt.timing.measure_latency({"teacher": teacher}, x, warmup=3, repeats=10)
    x1 = kt.timing.synthetic_inputs(1, args.latency_length, backbone.vocabulary_size)
    lat1 = kt.timing.measure_latency({"teacher": teacher}, x1, warmup=3, repeats=20)
    dev_curve = history.history.get("val_accuracy") if history else None
    record = kt.reporting.make_record(
        experiment="teacher_finetune", method="fine-tune", dataset=args.dataset,
        teacher=args.preset, metric="test_accuracy", teacher_metric=scores["test"],
        teacher_params=kt.timing.count_params(teacher),
        latency_ms_teacher=lat["teacher"]["median_ms"], batch_size=args.latency_batch,
        sequence_length=args.latency_length, split="test",
        notes=(f"{args.dataset}: dev acc {scores['dev']:.4f}, test acc {scores['test']:.4f}; "
               f"train len {args.sequence_length}, {args.epochs} epochs, batch "
               f"{args.batch_size}, lr {args.learning_rate} (AdamW, 10% warm-up, cosine), "
               f"XLA; fine-tune wall {train_s:.0f}s"
               f"{'' if history else ' (teacher from cache)'}; latency b1×{args.latency_length}: "
               f"{lat1['teacher']['median_ms']:.1f} ms."),
        extra={"dev_accuracy": scores["dev"], "val_accuracy_per_epoch": dev_curve,
               "train_seconds": train_s, "latency_b1": lat1["teacher"], "latency": lat["teacher"],
               "train_sequence_length": args.sequence_length, "epochs": args.epochs,
               "train_examples": len(data.train)},
    )
    kt.reporting.append_record(record, args.results)
    kt.reporting.write_markdown(
        args.results, os.path.join(os.path.dirname(os.path.abspath(args.results)), "RESULTS.md"))


if __name__ == "__main__":
    main()
