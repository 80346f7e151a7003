"""Distil the MiniLM-L6 teacher into a 3-layer student on movie-review sentiment.

    .venv/bin/python examples/distill_student.py                 # search + distil, ~40 min on 2 cores
    .venv/bin/python examples/distill_student.py --quick         # ~2 minutes on 2 cores

Fine-tunes (or reuses the cached) teacher, optionally searches which teacher
layers the student should keep (`--search-steps`, 0 to skip and use the
DistilBERT-style spread), then distils with soft-target KL + hard labels +
last-layer cosine + TinyBERT hidden-state MSE. Prints accuracy and latency of
teacher and student and saves the student, a plain keras-hub classifier.
"""

import argparse
import os

import keras_theseus as kt


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--layers", type=int, default=3, help="student depth")
    p.add_argument("--search-steps", type=int, default=40,
                   help="KD steps per candidate in the layer search (0: no search)")
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--quick", action="store_true",
                   help="256 training sentences, length 32, one epoch, no search, no cache")
    p.add_argument("--output", default="distilled_student.keras")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)
    if os.path.exists(args.output) and not args.overwrite:
        p.error(f"{args.output} exists; pass --overwrite or another --output")

    data = kt.datasets.load_movie_reviews()
    length, epochs = (32, 1) if args.quick else (64, 3)
    if args.quick:
        data.train, data.dev, data.test = data.train[:256], data.dev[:128], data.test[:128]
    teacher, pre, _ = kt.models.finetune_teacher(
        data, preset=args.preset, sequence_length=length, epochs=epochs, cache=not args.quick,
        jit_compile=False if args.quick else "auto", verbose=2)
    train = data.tf_dataset("train", pre, batch_size=32)
    dev = data.tf_dataset("dev", pre, batch_size=64)

    layers = kt.distill.select_layers(teacher.backbone.num_layers, args.layers, "spread")
    if args.search_steps and not args.quick:
        table = kt.distill.search_layer_subsets(teacher, train, dev.take(8),
                                                num_keep=args.layers, steps=args.search_steps)
        print(table.to_string())
        layers = list(table.iloc[0]["layers"])
    print(f"student keeps teacher layers {layers}")

    student, _ = kt.distill.distill_classifier(
        teacher, train, dev, student=kt.distill.layer_dropped_student(teacher, strategy=layers),
        epochs=epochs, learning_rate=1e-4, temperature=args.temperature, kd_weight=1.0,
        label_weight=1.0, cosine_weight=1.0, hidden_mse_weight=1.0,
        jit_compile=False if args.quick else "auto", verbose=2)

    test = data.tf_dataset("test", pre, batch_size=64)
    report = {}
    for name, model in (("teacher", teacher), ("student", student)):
        kt.models.compile_text_classifier(model)
        report[name] = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    x = kt.timing.synthetic_inputs(32, length, teacher.backbone.vocabulary_size)
    lat = kt.timing.measure_latency({"teacher": teacher, "student": student}, x,
                                    warmup=1, repeats=3 if args.quick else 10)
    student.save(args.output)
    for name, model in (("teacher", teacher), ("student", student)):
        print(f"{name:8s}{model.backbone.num_layers} layers: test accuracy {report[name]:.4f}, "
              f"{lat[name]['median_ms']:.1f} ms / batch of 32×{length}")
    print(f"speedup {lat['teacher']['median_ms'] / lat['student']['median_ms']:.2f}x, "
          f"retention {report['student'] / report['teacher']:.3f}; saved {args.output}")


if __name__ == "__main__":
    main()
