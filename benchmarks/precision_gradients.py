"""How close is one mixed_bfloat16 gradient to the float32 one? (diagnostic)

    .venv/bin/python benchmarks/precision_gradients.py

On one batch of movie-review training sentences (length 64), a 3-layer
student made of the cached 1-epoch teacher's layers 0, 2, 4 (as the
comparison grids build it) computes the gradient of the label loss and of
the temperature-2 KD loss against the float32 teacher's logits, once in
float32 and once under mixed_bfloat16 with the same weights (with
`--float32-residual`, bfloat16 matmuls on a float32 residual stream, as
PyTorch's autocast computes). Prints the
cosine and relative error of the whole gradient, the variables with the
largest relative error (with their RMS in both precisions), and the error
of the final hidden states and logits. docs/precision.md quotes the output;
nothing is recorded (one batch is a probe, not a measurement over data).
"""

import argparse

import numpy as np
import tensorflow as tf

import keras_theseus as kt
from keras_theseus.distill.losses import soft_target_kl
from keras_theseus.distill.losses import sparse_cross_entropy


def gradients(model, x, labels, teacher_logits, loss):
    with tf.GradientTape() as tape:
        logits = model(x, training=False)
        if loss == "label":
            value = sparse_cross_entropy(labels, logits)
        else:  # T^2-scaled KD at T = 2, as the Distiller's default
            value = soft_target_kl(teacher_logits, logits, temperature=2.0) * 4.0
    grads = tape.gradient(value, model.trainable_variables)
    # Embedding gradients come as IndexedSlices: densify to compare them.
    return [tf.cast(tf.convert_to_tensor(g), tf.float64).numpy() for g in grads]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--layers", type=int, nargs="+", default=[0, 2, 4])
    p.add_argument("--float32-residual", action="store_true",
                   help="the bfloat16 student keeps its residual stream in float32 "
                        "(`with_precision(..., float32_residual=True)`)")
    args = p.parse_args()
    data = kt.datasets.load_dataset("movie_reviews")
    teacher, preprocessor, _ = kt.models.finetune_teacher(data, epochs=1, sequence_length=64)
    texts = list(data.train["text"][:args.batch])
    labels = np.asarray(data.train["label"][:args.batch])
    x = preprocessor(tf.constant(texts))
    teacher_logits = teacher(x, training=False)
    student32 = kt.models.drop_layers(teacher, args.layers)
    student16 = kt.models.with_precision(student32, "mixed_bfloat16",
                                         float32_residual=args.float32_residual)
    for loss in ("label", "kd"):
        g32 = gradients(student32, x, labels, teacher_logits, loss)
        g16 = gradients(student16, x, labels, teacher_logits, loss)
        a = np.concatenate([g.ravel() for g in g32])
        b = np.concatenate([g.ravel() for g in g16])
        cosine = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        print(f"{loss}: gradient cosine {cosine:.5f}, relative error "
              f"{np.linalg.norm(a - b) / np.linalg.norm(a):.4f}")
        worst = sorted(((np.linalg.norm(u - w) / np.linalg.norm(u), v.path, u, w)
                        for v, u, w in zip(student32.trainable_variables, g32, g16)
                        if np.linalg.norm(u) > 0), key=lambda t: -t[0])
        for error, path, u, w in worst[:4]:
            print(f"  {path}: relative error {error:.3g}, RMS float32 "
                  f"{np.sqrt((u ** 2).mean()):.3g} bfloat16 {np.sqrt((w ** 2).mean()):.3g}")
    h32 = student32.backbone(x)["sequence_output"].numpy()
    h16 = tf.cast(student16.backbone(x)["sequence_output"], tf.float32).numpy()
    print(f"final hidden states: relative error {np.linalg.norm(h32 - h16) / np.linalg.norm(h32):.4f}")
    s32 = student32(x).numpy()
    s16 = tf.cast(student16(x), tf.float32).numpy()
    print(f"logits: max |difference| {np.abs(s32 - s16).max():.3g} (max |logit| "
          f"{np.abs(s32).max():.3g})")


if __name__ == "__main__":
    main()
