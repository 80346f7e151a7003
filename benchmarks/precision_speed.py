"""float32 against mixed_bfloat16 on this device, in one process, interleaved.

    .venv/bin/python benchmarks/precision_speed.py            # ~6 min on 2 cores

On the real checkpoint (MiniLM-L6 by default, with a fixed random head: speed
does not depend on the head's values) it times, as ratios measured in the
same run:

- train steps at b32×64 (`--train-shape`), dropout on, each trainer
  compiled as it compiles by default (`jit_compile="auto"`: no XLA on a
  CPU): teacher fine-tune (6L), Theseus 6→3 at p = 0.5, Distiller 6→3
  (soft KL + labels), each fp32 against bf16;
- inference at b32×128 and b1×128 for 6L and the 3L truncation, in four
  paths: float32 with XLA, float32 graph mode (oneDNN), mixed_bfloat16
  graph mode, mixed_bfloat16 with XLA;
- GFLOP/s of the 6L b32×128 forward (FLOPs counted by
  `keras_theseus.timing.count_flops`) against this machine's 2048² matmul
  in each precision (graph mode and XLA);
- with `--served`: the 6L model exported for TF Serving
  (`export_for_serving`) computing in float32 and in mixed_bfloat16, both
  SavedModels loaded and timed through `serving_default` at b32×128 and
  b1×128 (the signature takes int32 ids and returns float32 either way).

Records (metric `speedup_vs_float32`) go to results.json / RESULTS.md.
"""

import argparse
import os

import keras
import numpy as np
import tensorflow as tf

import keras_theseus as kt
from keras_theseus.distill import Distiller
from keras_theseus.models import with_precision
from keras_theseus.theseus import TheseusClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
PRECISIONS = ("float32", "mixed_bfloat16")
INFERENCE_PATHS = (("float32", True), ("float32", False), ("mixed_bfloat16", False),
                   ("mixed_bfloat16", True))


def matmul_gflops(repeats=10):
    """GFLOP/s of a 2048² matmul in float32 and bfloat16, graph mode and XLA."""
    n = 2048
    out = {}
    for dtype in ("float32", "bfloat16"):
        a = tf.cast(tf.random.normal((n, n)), dtype)
        for xla in (False, True):
            f = tf.function(lambda a: tf.reduce_sum(tf.cast(tf.matmul(a, a), "float32")),
                            jit_compile=xla)
            ms = kt.timing.measure_latency({"m": lambda a, f=f: f(a)}, a, warmup=2,
                                           repeats=repeats)["m"]["median_ms"]
            out[f"{dtype}_{'xla' if xla else 'graph'}"] = 2 * n ** 3 / (ms / 1e3) / 1e9
    return out


def train_step_times(classifier, n, batch, repeats):
    """Fine-tune, Theseus 6→n (p 0.5) and Distiller 6→n steps, fp32 vs bf16."""
    models = {}
    for precision in PRECISIONS:
        teacher = with_precision(classifier, precision)
        tag = "bf16" if precision != "float32" else "fp32"
        finetune = kt.models.drop_layers(teacher, list(range(teacher.backbone.num_layers)))
        kt.models.compile_text_classifier(finetune, learning_rate=1e-9)
        theseus = TheseusClassifier.from_predecessor(teacher, n, replacement_rate=0.5, seed=0)
        kt.models.compile_text_classifier(theseus, learning_rate=1e-9)
        distiller = Distiller(teacher, kt.distill.layer_dropped_student(teacher, n),
                              temperature=2.0, kd_weight=1.0, label_weight=1.0)
        distiller.compile(optimizer=kt.models.bert_optimizer(1e-9))
        models.update({f"finetune_{tag}": finetune, f"theseus_{tag}": theseus,
                       f"distiller_{tag}": distiller})
    return kt.timing.measure_train_step(models, batch, warmup=2, repeats=repeats)


def inference_times(classifier, depths, shapes, repeats):
    out = {}
    for layers in depths:
        base = (classifier if layers == classifier.backbone.num_layers
                else kt.models.drop_layers(classifier, list(range(layers))))
        for b, s in shapes:
            x = kt.timing.synthetic_inputs(b, s, classifier.backbone.vocabulary_size)
            calls = {}
            for precision, xla in INFERENCE_PATHS:
                model = with_precision(base, precision)
                calls[f"{precision}_{'xla' if xla else 'graph'}"] = \
                    kt.timing.inference_function(model, jit_compile=xla)
            stats = kt.timing.measure_latency(calls, x, warmup=2,
                                              repeats=repeats * (4 if b == 1 else 1))
            out[(layers, b, s)] = stats
            line = ", ".join(f"{k} {v['median_ms']:.1f} ms" for k, v in stats.items())
            print(f"{layers}L infer b{b}×{s}: {line}", flush=True)
    return out


def served_times(classifier, record, repeats=8):
    """TF Serving SavedModels of `classifier` in float32 and bfloat16, timed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kt_served_") as directory:
        fns = {}
        for precision in PRECISIONS:
            path = kt.export.export_for_serving(classifier, directory, precision,
                                                precision=precision)
            fns[precision] = tf.saved_model.load(path).signatures["serving_default"]
        for b in (32, 1):
            x = kt.timing.synthetic_inputs(b, 128, classifier.backbone.vocabulary_size)
            calls = {name: (lambda _, f=f: f(**x)["logits"]) for name, f in fns.items()}
            stats = kt.timing.measure_latency(calls, x, warmup=2,
                                              repeats=repeats * (4 if b == 1 else 1))
            fp32, bf16 = stats["float32"]["median_ms"], stats["mixed_bfloat16"]["median_ms"]
            print(f"served SavedModel b{b}×128: float32 {fp32:.1f} ms, mixed_bfloat16 "
                  f"{bf16:.1f} ms ({fp32 / bf16:.2f}×)", flush=True)
            record(f"served SavedModel {classifier.backbone.num_layers}L mixed_bfloat16",
                   fp32 / bf16,
                   f"TF Serving SavedModel (serving_default, graph mode) b{b}×128: float32 "
                   f"{fp32:.1f} ms, mixed_bfloat16 {bf16:.1f} ms ({fp32 / bf16:.2f}×).",
                   {"batch_size": b, "sequence_length": 128}, latency=stats)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--layers", type=int, default=3, help="student depth n of 6→n")
    p.add_argument("--train-shape", type=int, nargs=2, default=[32, 64])
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--served", action="store_true",
                   help="also time the exported SavedModel in float32 and mixed_bfloat16")
    p.add_argument("--only-served", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    args = p.parse_args()
    device = kt.timing.device_info()
    keras.utils.set_random_seed(0)
    classifier = kt.models.build_text_classifier(kt.models.load_backbone(args.preset), 2)
    L = classifier.backbone.num_layers
    records = []

    def record(method, ratio, notes, shape, **extra):
        records.append(kt.reporting.make_record(
            experiment="precision_speed", dataset="synthetic", method=method,
            teacher=args.preset, metric="speedup_vs_float32", teacher_metric=1.0,
            student_metric=ratio, notes=notes, extra=extra, device=device, **shape))

    if args.served or args.only_served:
        served_times(classifier, record)
    if args.only_served:
        for r in records:
            kt.reporting.append_record(r, args.results)
        kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))
        return
    peak = matmul_gflops()
    print("matmul 2048² GFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in peak.items()),
          flush=True)
    if not args.no_train:
        b, s = args.train_shape
        x = kt.timing.synthetic_inputs(b, s, classifier.backbone.vocabulary_size)
        y = tf.constant(np.arange(b) % 2)
        steps = train_step_times(classifier, args.layers, (x, y), args.repeats)
        for kind in ("finetune", "theseus", "distiller"):
            fp32, bf16 = steps[f"{kind}_fp32"]["median_ms"], steps[f"{kind}_bf16"]["median_ms"]
            label = {"finetune": f"fine-tune {L}L", "theseus": f"Theseus {L}→{args.layers} p0.5",
                     "distiller": f"Distiller {L}→{args.layers}"}[kind]
            print(f"train {label} b{b}×{s}: fp32 {fp32:.0f} ms, bf16 {bf16:.0f} ms, "
                  f"{fp32 / bf16:.2f}×", flush=True)
            record(f"train {label}", fp32 / bf16,
                   f"{label} train step at b{b}×{s}: float32 {fp32:.0f} ms, mixed_bfloat16 "
                   f"{bf16:.0f} ms ({fp32 / bf16:.2f}×), interleaved in one process, "
                   "jit_compile='auto'.",
                   shape={"batch_size": b, "sequence_length": s},
                   train_steps={k: v for k, v in steps.items() if k.startswith(kind)})
    times = inference_times(classifier, (L, args.layers), ((32, 128), (1, 128)), args.repeats)
    flops = kt.timing.count_flops(classifier, batch_size=32, sequence_length=128)
    for (layers, b, s), stats in times.items():
        fp32_best = min(stats["float32_xla"]["median_ms"], stats["float32_graph"]["median_ms"])
        for path, st in stats.items():
            ratio = fp32_best / st["median_ms"]
            extra = {}
            if layers == L and b == 32 and path.startswith("mixed"):
                gflops = flops / (st["median_ms"] / 1e3) / 1e9
                extra = {"gflops": gflops, "matmul_peak_gflops": peak,
                         "fraction_of_bf16_graph_peak": gflops / peak["bfloat16_graph"]}
                print(f"{layers}L b{b}×{s} {path}: {gflops:.0f} GFLOP/s = "
                      f"{gflops / peak['bfloat16_graph']:.0%} of the bf16 matmul", flush=True)
            record(f"infer {layers}L {path}", ratio,
                   f"{layers}L forward b{b}×{s}, {path}: {st['median_ms']:.1f} ms vs the "
                   f"faster float32 path {fp32_best:.1f} ms ({ratio:.2f}×).",
                   shape={"batch_size": b, "sequence_length": s}, latency=stats, **extra)
    for r in records:
        kt.reporting.append_record(r, args.results)
    kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))


if __name__ == "__main__":
    main()
