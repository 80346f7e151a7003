"""Train steps with and without XLA, for every trainer, on this device.

    .venv/bin/python benchmarks/xla_train_steps.py

Times one optimizer step (b32×64, AdamW) of the plain fine-tune step
(`compile_text_classifier`), the Theseus step (6→3, p = 0.5) and the
Distiller step (6→3 student, T = 2 KD + label CE), each compiled with
`jit_compile=True` and `jit_compile=False`, all interleaved in one process
(`measure_train_step`), on the MiniLM-L6 architecture with its pretrained
weights. Records the XLA / no-XLA ratio per trainer in results.json.
"""

import argparse
import os

import keras

import keras_theseus as kt
from keras_theseus.distill import Distiller
from keras_theseus.theseus import TheseusClassifier

HERE = os.path.dirname(os.path.abspath(__file__))


def build(kind, classifier, jit_compile):
    """A compiled model of `kind` on a fresh copy of `classifier`."""
    layers = list(range(classifier.backbone.num_layers))
    if kind == "finetune":
        model = kt.models.drop_layers(classifier, layers)
        kt.models.compile_text_classifier(model, learning_rate=1e-9, jit_compile=jit_compile)
    elif kind == "theseus":
        model = TheseusClassifier.from_predecessor(classifier, len(layers) // 2,
                                                   replacement_rate=0.5)
        kt.models.compile_text_classifier(model, learning_rate=1e-9, jit_compile=jit_compile)
    else:
        student = kt.models.drop_layers(classifier, layers[::2])
        model = Distiller(kt.models.drop_layers(classifier, layers), student, temperature=2.0)
        model.compile(optimizer=keras.optimizers.AdamW(1e-9), jit_compile=jit_compile)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--kinds", nargs="+", default=["finetune", "theseus", "distill"],
                   choices=["finetune", "theseus", "distill"])
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    args = p.parse_args()

    keras.utils.set_random_seed(0)
    classifier = kt.models.build_text_classifier(kt.models.load_backbone(args.preset), 2)
    x = kt.timing.synthetic_inputs(args.batch_size, args.sequence_length,
                                   classifier.backbone.vocabulary_size)
    y = keras.ops.convert_to_tensor([i % 2 for i in range(args.batch_size)])
    models = {f"{kind}_{'xla' if jit else 'graph'}": build(kind, classifier, jit)
              for kind in args.kinds for jit in (True, False)}
    stats = kt.timing.measure_train_step(models, (x, y), warmup=2, repeats=args.repeats)
    for kind in args.kinds:
        xla, graph = stats[f"{kind}_xla"]["median_ms"], stats[f"{kind}_graph"]["median_ms"]
        print(f"{kind:9s} XLA {xla:7.1f} ms  no XLA {graph:7.1f} ms  XLA/no-XLA {xla / graph:.2f}",
              flush=True)
        if args.results:
            kt.reporting.append_record(kt.reporting.make_record(
                experiment="xla_train_steps", dataset="synthetic", method=kind,
                teacher=args.preset, metric="train_step_ms_xla_over_no_xla",
                teacher_metric=1.0, student_metric=xla / graph,
                latency_ms_teacher=graph, latency_ms_student=xla,
                batch_size=args.batch_size, sequence_length=args.sequence_length,
                notes=(f"{kind} train step: XLA {xla:.1f} ms, without XLA {graph:.1f} ms "
                       f"(median of {args.repeats} interleaved steps, one process)."),
                extra={"stats": {k: v for k, v in stats.items() if k.startswith(kind)}}),
                args.results)
    if args.results:
        kt.reporting.write_markdown(
            args.results, os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                       "RESULTS.md"))


if __name__ == "__main__":
    main()
