"""One trained model, many runtimes: SavedModel, TFLite (fp32, dynamic range), ONNX.

    .venv/bin/python benchmarks/export_formats.py --dataset movie_reviews

Exports the fine-tuned MiniLM-L6 teacher (and, with `--layers 3`, its
first-3-layer truncation fine-tuned for `--student-epochs`) to each format,
then reports per format: file size, max |logit difference| to Keras
`predict` on the test split, test accuracy (and its delta), and latency at
b1×128 and b32×128 (Keras with XLA as the reference). Records go to
results.json / RESULTS.md.
"""

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import keras_theseus as kt
from keras_theseus.export import export_for_serving
from keras_theseus.export import export_onnx
from keras_theseus.export import export_tflite

HERE = os.path.dirname(os.path.abspath(__file__))


def size_mb(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
                   for f in files) / 1e6
    return os.path.getsize(path) / 1e6


def runners(model, workdir):
    """name -> (predict(inputs) -> logits, size in MB)."""
    import onnxruntime
    import tensorflow as tf

    serving = export_for_serving(model, workdir, "model")
    served = tf.saved_model.load(serving).signatures["serving_default"]
    fp32 = export_tflite(model, os.path.join(workdir, "model.tflite"))
    int8 = export_tflite(model, os.path.join(workdir, "model_int8.tflite"),
                         quantization="dynamic_range")
    onnx_path = export_onnx(model, os.path.join(workdir, "model.onnx"))
    keras_fn = kt.timing.inference_function(model)

    def tflite_runner(path):
        interpreter = tf.lite.Interpreter(model_path=path, num_threads=os.cpu_count())
        runner = interpreter.get_signature_runner("serving_default")
        return lambda x: next(iter(runner(**{k: np.asarray(v, "int32")
                                             for k, v in x.items()}).values()))

    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return {
        "keras_xla": (lambda x: np.asarray(keras_fn(x)), None),
        "saved_model": (lambda x: served(**{k: tf.constant(np.asarray(v, "int32"))
                                            for k, v in x.items()})["logits"].numpy(),
                        size_mb(serving)),
        "tflite_fp32": (tflite_runner(fp32), size_mb(fp32)),
        "tflite_dynamic_range": (tflite_runner(int8), size_mb(int8)),
        "onnx": (lambda x: session.run(None, {n: np.asarray(x[n], "int32") for n in names})[0],
                 size_mb(onnx_path)),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="movie_reviews", choices=sorted(kt.datasets.LOADERS))
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    args = p.parse_args()

    data = kt.datasets.load_dataset(args.dataset)
    teacher, pre, _ = kt.models.finetune_teacher(data, preset=args.preset,
                                                 sequence_length=args.sequence_length, verbose=2)
    test = list(data.tf_dataset("test", pre, batch_size=32))
    labels = np.concatenate([y.numpy() for _, y in test])
    workdir = tempfile.mkdtemp(prefix="kt_export_")
    try:
        fns = runners(teacher, workdir)
        reference = np.concatenate([fns["keras_xla"][0](x) for x, _ in test])
        ref_acc = float((reference.argmax(-1) == labels).mean())
        vocab = teacher.backbone.vocabulary_size
        shapes = {"b1x128": kt.timing.synthetic_inputs(1, 128, vocab),
                  "b32x128": kt.timing.synthetic_inputs(32, 128, vocab)}
        latency = {}
        for shape, x in shapes.items():
            x_np = {k: v.numpy() for k, v in x.items()}
            latency[shape] = kt.timing.measure_latency(
                {name: (lambda _, f=f: f(x_np)) for name, (f, _) in fns.items()}, x,
                warmup=2, repeats=args.repeats)
        for name, (fn, size) in fns.items():
            start = time.time()
            logits = np.concatenate([fn(x) for x, _ in test])
            acc = float((logits.argmax(-1) == labels).mean())
            diff = float(np.abs(logits - reference).max())
            lat1 = latency["b1x128"][name]["median_ms"]
            lat32 = latency["b32x128"][name]["median_ms"]
            kt.reporting.append_record(kt.reporting.make_record(
                experiment=f"export_formats_{args.dataset}", dataset=args.dataset,
                method=name, teacher=args.preset, metric="test_accuracy",
                teacher_metric=ref_acc, student_metric=acc,
                teacher_params=kt.timing.count_params(teacher),
                student_params=kt.timing.count_params(teacher),
                latency_ms_teacher=latency["b32x128"]["keras_xla"]["median_ms"],
                latency_ms_student=lat32, batch_size=32, sequence_length=128, split="test",
                notes=(f"{name}: size {size:.1f} MB; max |Δlogit| vs Keras {diff:.2e}; "
                       f"accuracy Δ {100 * (acc - ref_acc):+.2f} points; latency b1×128 "
                       f"{lat1:.1f} ms, b32×128 {lat32:.0f} ms (Keras XLA "
                       f"{latency['b1x128']['keras_xla']['median_ms']:.1f} / "
                       f"{latency['b32x128']['keras_xla']['median_ms']:.0f} ms)."
                       if size is not None else
                       f"reference: Keras predict with XLA; latency b1×128 {lat1:.1f} ms, "
                       f"b32×128 {lat32:.0f} ms."),
                extra={"size_mb": size, "max_abs_logit_diff": diff,
                       "latency": {s: latency[s][name] for s in latency},
                       "eval_seconds": time.time() - start}), args.results)
            print(f"{name:22s} size {size if size else 0:7.1f} MB  acc {acc:.4f}  "
                  f"max|Δ| {diff:.1e}  b1 {lat1:6.1f} ms  b32 {lat32:7.0f} ms", flush=True)
        kt.reporting.write_markdown(
            args.results, os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                       "RESULTS.md"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
