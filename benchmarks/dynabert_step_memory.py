"""Peak memory and time of one DynaBERT training step (diagnostic)

    .venv/bin/python benchmarks/dynabert_step_memory.py [--layers 6 --hidden 384
        --heads 12 --intermediate 1536] [--batch-size 32 --sequence-length 128]

A `DynaBertTrainer` step trains every (width, depth) sub-network (4 widths ×
4 depths = 16 here, as `train_dynabert`'s DynaBERT stage at depth 1/3) and
distils each from a frozen teacher. The script builds a randomly initialised
encoder of the given shape (the defaults are MiniLM-L6's: memory and time do
not depend on the weights, so nothing is downloaded), runs one step to trace
it, then `--steps` more, and prints the process's peak resident memory before
the first step, after it (tracing included) and after the others, with the
median step time. Run it in a fresh process per measurement: peak RSS only
grows. Nothing is recorded; benchmarks/notes.md quotes the output.
"""

import argparse
import json
import resource
import statistics
import time


def peak_rss_mb():
    """The process's peak resident set size so far, in MB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=384)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--intermediate", type=int, default=1536)
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1. Received: {args.steps}")

    import keras
    import numpy as np

    from keras_theseus import models
    from keras_theseus.dynabert import DEFAULT_DEPTHS
    from keras_theseus.dynabert import DEFAULT_WIDTHS
    from keras_theseus.dynabert import DynaBertClassifier
    from keras_theseus.dynabert import DynaBertTrainer
    from keras_theseus.dynabert import frozen_copy
    from keras_theseus.timing import synthetic_inputs

    keras.utils.set_random_seed(0)
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=args.vocabulary_size, num_layers=args.layers, num_heads=args.heads,
        hidden_dim=args.hidden, intermediate_dim=args.intermediate,
        max_sequence_length=max(512, args.sequence_length))
    classifier = models.build_text_classifier(backbone, 2)
    teacher = DynaBertClassifier.from_classifier(classifier)
    student = DynaBertClassifier.from_classifier(classifier)
    # The sub-networks of `train_dynabert`'s DynaBERT stage at depth 1/3.
    trainer = DynaBertTrainer(student, frozen_copy(teacher), widths=list(DEFAULT_WIDTHS),
                              depths=sorted({*DEFAULT_DEPTHS, 1 / 3}, reverse=True))
    trainer.compile(optimizer=keras.optimizers.AdamW(1e-4))
    x = synthetic_inputs(args.batch_size, args.sequence_length, args.vocabulary_size)
    y = np.random.default_rng(0).integers(0, 2, args.batch_size).astype("int32")

    before = peak_rss_mb()
    trainer.train_on_batch(x, y)
    first = peak_rss_mb()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        trainer.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "shape": {k: getattr(args, k) for k in ("layers", "hidden", "heads", "intermediate",
                                                "batch_size", "sequence_length")},
        "subnetworks": len(trainer.configurations),
        "peak_rss_mb": {"before": round(before), "after_first_step": round(first),
                        f"after_{args.steps}_more": round(peak_rss_mb())},
        "step_seconds_median": round(statistics.median(times), 2)}))


if __name__ == "__main__":
    main()
