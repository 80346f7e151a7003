"""BERT-of-Theseus end to end: fine-tune, replace modules, fine-tune the successor.

    .venv/bin/python examples/theseus_three_stages.py                 # MiniLM-L6 -> 3 layers
    .venv/bin/python examples/theseus_three_stages.py --quick         # ~2 minutes on 2 cores

Stage 1 fine-tunes the pretrained encoder on movie-review sentiment (cached:
a second run reuses it). Stage 2 trains 3 successor layers that replace
modules of 2 predecessor layers with a linear replacement curriculum.
Stage 3 fine-tunes the extracted successor alone. Prints accuracy and
latency of teacher and successor, and saves the successor as `.keras`.
"""

import argparse
import os

import keras_theseus as kt


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--layers", type=int, default=3, help="successor depth")
    p.add_argument("--quick", action="store_true",
                   help="256 training sentences, length 32, one epoch per stage, no cache")
    p.add_argument("--output", default="theseus_successor.keras")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)
    if os.path.exists(args.output) and not args.overwrite:
        p.error(f"{args.output} exists; pass --overwrite or another --output")

    data = kt.datasets.load_movie_reviews()
    length, epochs = (32, 1) if args.quick else (64, 3)
    if args.quick:
        data.train, data.dev, data.test = data.train[:256], data.dev[:128], data.test[:128]

    # Stage 1: the predecessor.
    teacher, pre, _ = kt.models.finetune_teacher(
        data, preset=args.preset, sequence_length=length, epochs=epochs, cache=not args.quick,
        jit_compile=False if args.quick else "auto", verbose=2)
    train = data.tf_dataset("train", pre, batch_size=32)
    dev = data.tf_dataset("dev", pre, batch_size=64)

    # Stages 2 and 3.
    result = kt.theseus.compress_with_theseus(
        teacher, train, dev, num_successor_layers=args.layers,
        replacing_epochs=1 if args.quick else 2, successor_epochs=1,
        jit_compile=False if args.quick else "auto", verbose=2)

    test = data.tf_dataset("test", pre, batch_size=64)
    report = {}
    for name, model in (("teacher", teacher), ("successor", result.successor)):
        kt.models.compile_text_classifier(model)
        report[name] = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    x = kt.timing.synthetic_inputs(32, length, teacher.backbone.vocabulary_size)
    lat = kt.timing.measure_latency({"teacher": teacher, "successor": result.successor}, x,
                                    warmup=1, repeats=3 if args.quick else 10)
    result.successor.save(args.output)
    print(f"teacher   {teacher.backbone.num_layers} layers: test accuracy {report['teacher']:.4f}, "
          f"{lat['teacher']['median_ms']:.1f} ms / batch of 32×{length}")
    print(f"successor {args.layers} layers: test accuracy {report['successor']:.4f}, "
          f"{lat['successor']['median_ms']:.1f} ms / batch of 32×{length}")
    print(f"speedup {lat['teacher']['median_ms'] / lat['successor']['median_ms']:.2f}x, "
          f"retention {report['successor'] / report['teacher']:.3f}; saved {args.output}")


if __name__ == "__main__":
    main()
