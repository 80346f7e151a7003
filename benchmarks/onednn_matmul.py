"""TF's and PyTorch's bfloat16 matmuls on this CPU, kernel by kernel (diagnostic)

    .venv/bin/python benchmarks/onednn_matmul.py [--threads 2] [--reps 30]

Both frameworks run bfloat16 matmuls through oneDNN's AMX `brg_matmul`
primitive, but each wheel bundles its own oneDNN build. This script runs
the matmul shapes of a MiniLM-L6 forward at b32×128 (the FFN's 384→1536 and
1536→384, the attention projections' 384→384) and a 2048² square, each in
a fresh subprocess per framework with `ONEDNN_VERBOSE=1`, and prints:

- the oneDNN version and threading runtime each framework reports;
- the primitive's own execution time (oneDNN's verbose log: the same
  kernel, so the difference is the library build, not our graph);
- the wall time per call seen from Python (adds framework dispatch and
  output allocation).

docs/precision.md quotes the output; nothing is recorded (it explains a
gap measured elsewhere, `peer_pytorch.py`, rather than measuring the toolkit).
"""

import argparse
import json
import os
import subprocess
import sys

SHAPES = [(4096, 384, 1536), (4096, 1536, 384), (4096, 384, 384), (2048, 2048, 2048)]

WORKER = r"""
import json, sys, time
framework, reps = sys.argv[1], int(sys.argv[2])
shapes = json.loads(sys.argv[3])

def per_call_ms(fn):
    for _ in range(3):
        fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps * 1e3

for m, k, n in shapes:
    if framework == "torch":
        import torch
        a, b = torch.randn(m, k).bfloat16(), torch.randn(k, n).bfloat16()
        ms = per_call_ms(lambda: torch.mm(a, b))
    else:
        import tensorflow as tf
        a = tf.cast(tf.random.normal((m, k)), tf.bfloat16)
        b = tf.cast(tf.random.normal((k, n)), tf.bfloat16)
        f = tf.function(lambda a, b: tf.matmul(a, b)[0, 0])
        ms = per_call_ms(lambda: f(a, b).numpy())
    print("WALL", json.dumps([m, k, n, ms]), flush=True)
"""


def run(framework, reps, threads):
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="3",
               OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", WORKER, framework, str(reps), json.dumps(SHAPES)],
                         env=env, capture_output=True, text=True, check=True).stdout
    info, kernel, wall = [], {}, {}
    for line in out.splitlines():
        fields = line.split(",")
        if line.startswith("WALL "):
            m, k, n, ms = json.loads(line[5:])
            wall[(m, k, n)] = ms
        elif line.startswith("onednn_verbose") and ",info," in line and (
                "oneDNN v" in line or "runtime:" in line):
            info.append(",".join(fields[3:]))
        elif line.startswith("onednn_verbose") and ",exec,cpu,matmul," in line:
            # problem descriptor "MxK:KxN", then the time in ms.
            left, right = fields[-2].split(":")
            m, k = map(int, left.split("x"))
            n = int(right.split("x")[1])
            kernel.setdefault((m, k, n), []).append(float(fields[-1]))
    # Skip warm-up executions (primitive creation, first touch of memory).
    kernel = {shape: sorted(times[3:] or times)[len(times[3:] or times) // 2]
              for shape, times in kernel.items()}
    return info, kernel, wall


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=30)
    args = p.parse_args()
    results = {fw: run(fw, args.reps, args.threads) for fw in ("tensorflow", "torch")}
    for fw, (info, _, _) in results.items():
        print(f"{fw}: " + "; ".join(info))
    print(f"\n| M×K×N | TF kernel ms | torch kernel ms | kernel TF/torch | TF call ms "
          f"| torch call ms | call TF/torch |")
    print("|---|---|---|---|---|---|---|")
    for shape in SHAPES:
        tk, pk = results["tensorflow"][1].get(shape), results["torch"][1].get(shape)
        tw, pw = results["tensorflow"][2][shape], results["torch"][2][shape]
        kernel_ratio = f"{tk / pk:.2f}×" if tk and pk else "n/a"
        print(f"| {'×'.join(map(str, shape))} | {tk or float('nan'):.2f} | "
              f"{pk or float('nan'):.2f} | {kernel_ratio} | {tw:.2f} | {pw:.2f} | "
              f"{tw / pw:.2f}× |")


if __name__ == "__main__":
    main()
