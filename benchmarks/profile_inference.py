"""Where inference time goes: per-kernel profiles of keras_theseus (XLA) and torch.

    .venv/bin/python benchmarks/profile_inference.py --stack keras --layers 6 3
    .venv/bin/python benchmarks/profile_inference.py --stack torch --layers 6 3

Profiles `--calls` inference calls at `--batch-size`×`--sequence-length`
(after warm-up) of the checkpoint and its first-k-layer truncation with the
same classifier head as `peer_pytorch.py`:

- keras: TensorFlow's profiler around the XLA-compiled inference function;
  the host trace (XSpace protobuf) records one event per XLA kernel (thunk),
  named after the HLO instruction or fusion (`MatMul.2`,
  `subtract_exponential_fusion`, ...).
- torch: `torch.profiler`, self CPU time per aten op.

Prints wall time per call, the share of kernel time in each category
(matmul, attention softmax, GELU, layer norm, embedding gather, other
element-wise) and the top kernels; `--json` saves it.
"""

import argparse
import collections
import glob
import json
import os
import tempfile
import time

# Run as a script, its own folder is on sys.path (as for every benchmark):
# shared helpers live in common.py (TensorFlow) and peer_inputs.py (numpy).
from peer_inputs import random_inputs
from peer_inputs import write_head

# Kernel name -> category, first match wins. XLA names fusions after the ops
# they fuse (e.g. `erf_multiply_fusion`), aten after the op.
CATEGORIES = (
    ("matmul", ("matmul", "dot", "gemm", "addmm", "bmm", "mm", "linear", "einsum",
                "ynn_fusion", "xnn_fusion", "onednn", "convolution")),
    ("attention softmax", ("exponential", "softmax", "scaled_dot_product")),
    ("GELU", ("erf", "gelu", "tanh")),
    ("layer norm", ("rsqrt", "layer_norm", "native_layer_norm", "var", "mean")),
    ("embedding gather", ("gather", "embedding", "index_select", "dynamic-slice")),
)


# Runtime events around XLA kernels (dispatch, waiting, allocation), not kernels.
FRAMEWORK_EVENTS = ("ThunkExecutor", "BlockUntilReady", "SlinkyThreadPool", "ThreadpoolListener",
                    "Memory", "CpuExecutable", "Eager", "__inference", "infer",
                    "end: ", "ValidateInput", "TFE", "PjRt", "Tf")


def categorize(name):
    low = name.lower()
    for category, keys in CATEGORIES:
        if any(k in low for k in keys):
            return category
    return "other element-wise / copies"


def profile_keras(spec, batch_size, sequence_length, calls, warmup, precision="float32"):
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from peer_pytorch import keras_classifiers

    x = {k: tf.constant(v) for k, v in
         random_inputs(batch_size, sequence_length, spec["vocabulary_size"]).items()}
    import keras_theseus as kt

    out = {}
    for layers, model in keras_classifiers(spec).items():
        # float32: XLA; mixed_bfloat16: TF graph mode with oneDNN (the
        # library's "auto" path on a CPU), whose events are TF ops.
        infer = kt.timing.inference_function(kt.models.with_precision(model, precision))
        for _ in range(warmup):
            infer(x).numpy()
        logdir = os.path.join(spec["workdir"], f"profile_{layers}")
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(calls):
            infer(x).numpy()
        wall = (time.perf_counter() - start) * 1000.0 / calls
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[-1]
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        kernels = collections.Counter()
        for plane in space.planes:
            names = {k: v.name for k, v in plane.event_metadata.items()}
            for line in plane.lines:
                for e in line.events:
                    name = names[e.metadata_id]
                    # Kernels (thunks) are the leaf events, on the calling
                    # thread and on the intra-op pool's threads; the rest is
                    # the runtime waiting or dispatching.
                    if not name.startswith(FRAMEWORK_EVENTS):
                        kernels[name] += e.duration_ps / 1e9 / calls
        threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
        out[layers] = _summary(wall, kernels, threads)
    return out


def profile_torch(spec, batch_size, sequence_length, calls, warmup):
    import torch
    import transformers
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile

    x = {k: torch.from_numpy(v.astype("int64")) for k, v in
         random_inputs(batch_size, sequence_length, spec["vocabulary_size"]).items()}
    out = {}
    for layers in spec["depths"]:
        model = transformers.BertForSequenceClassification.from_pretrained(
            spec["checkpoint"], num_labels=2).eval()
        model.bert.encoder.layer = model.bert.encoder.layer[:layers]

        def call():
            return model(input_ids=x["token_ids"], token_type_ids=x["segment_ids"],
                         attention_mask=x["padding_mask"]).logits.numpy()

        with torch.inference_mode():
            for _ in range(warmup):
                call()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                wall = (time.perf_counter() - start) * 1000.0 / calls
        kernels = collections.Counter()
        for event in prof.key_averages():
            # Leaf work only: self time of aten ops.
            if event.self_cpu_time_total > 0 and event.key.startswith("aten::"):
                kernels[event.key] += event.self_cpu_time_total / 1000.0 / calls
        out[layers] = _summary(wall, kernels, threads=1)
    return out


def _spec(preset, layers_list, workdir):
    """The checkpoint, `peer_pytorch`'s fixed head and the depths, as its workers take them."""
    import keras_theseus as kt

    checkpoint = kt.models.resolve_preset(preset)
    config = kt.models.load_hf_config(checkpoint)
    head = write_head(os.path.join(workdir, "head.npz"), config["hidden_size"])
    return {"checkpoint": checkpoint, "head": head, "depths": list(layers_list),
            "vocabulary_size": config["vocab_size"], "workdir": workdir}


def _summary(wall_ms, kernels, threads=1):
    """Kernel time per category, as shares of all kernel time.

    XLA runs kernels on the calling thread and on the intra-op pool, and
    one kernel may itself use every core, so its kernel times are
    thread-times that do not add up to wall time; torch's aten self times
    are per op on the calling thread. Shares of the kernel total compare
    the two; wall time is reported beside them.
    """
    total = sum(kernels.values())
    categories = collections.Counter()
    for name, ms in kernels.items():
        categories[categorize(name)] += ms
    return {"wall_ms": wall_ms, "kernel_ms": total, "threads": threads,
            "shares": {c: ms / total for c, ms in categories.most_common()} if total else {},
            "top_kernels": dict(kernels.most_common(12))}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack", choices=["keras", "torch"], required=True)
    p.add_argument("--preset", default="all_minilm_l6_v2")
    p.add_argument("--layers", type=int, nargs="+", default=[6, 3])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sequence-length", type=int, default=128)
    p.add_argument("--calls", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--json", default=None)
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"],
                   help="keras stack: the model's precision (bfloat16 runs in graph mode)")
    args = p.parse_args()
    fn = profile_keras if args.stack == "keras" else profile_torch
    extra = {"precision": args.precision} if args.stack == "keras" else {}
    # Head file and profiler traces live only as long as the run.
    with tempfile.TemporaryDirectory(prefix="kt_profile_") as workdir:
        result = fn(_spec(args.preset, args.layers, workdir), args.batch_size,
                    args.sequence_length, args.calls, args.warmup, **extra)
    for layers, r in result.items():
        print(f"{args.stack} {layers}L b{args.batch_size}×{args.sequence_length}: "
              f"wall {r['wall_ms']:.1f} ms/call, kernel time {r['kernel_ms']:.1f} ms "
              f"summed over threads")
        for category, share in r["shares"].items():
            print(f"   {category:40s} {100 * share:5.1f}% of kernel time")
        print("   top kernels: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                             list(r["top_kernels"].items())[:8]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({str(k): v for k, v in result.items()}, f, indent=1)


if __name__ == "__main__":
    main()
