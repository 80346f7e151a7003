"""Load the offline MiniLM checkpoint and compare sentences.

    .venv/bin/python examples/sentence_similarity.py "A man plays guitar." "Someone plays a guitar."

Mean-pooled, L2-normalised token states (the all-MiniLM-L6-v2 recipe) give
sentence embeddings; their dot products are cosine similarities.
"""

import sys

import numpy as np

import keras_theseus as kt

DEFAULT = [
    "A man is playing a guitar.",
    "Someone is playing an acoustic guitar.",
    "The central bank raised interest rates again.",
]


def embed(texts, preset="all_minilm_l6_v2", sequence_length=64):
    backbone = kt.models.load_backbone(preset)
    preprocessor = kt.models.load_preprocessor(preset, sequence_length=sequence_length)
    x = preprocessor(texts)
    states = np.asarray(backbone(x)["sequence_output"])
    mask = np.asarray(x["padding_mask"], "float32")[..., None]
    mean = (states * mask).sum(1) / mask.sum(1)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def main(texts):
    texts = texts or DEFAULT
    e = embed(texts)
    sims = e @ e.T
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            print(f"{sims[i, j]:+.3f}  {texts[i]!r} ~ {texts[j]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
