"""Tiny Theseus test models and data."""

import keras
import numpy as np

from keras_theseus import models

VOCAB = 60


def tiny_classifier(num_layers=4, dropout=0.0, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = models.BertBackbone(vocabulary_size=VOCAB, num_layers=num_layers, num_heads=2,
                                   hidden_dim=16, intermediate_dim=32, max_sequence_length=12,
                                   dropout=dropout)
    return models.build_text_classifier(backbone, 2, dropout=dropout)


def toy_batch(n=16, length=8, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, VOCAB, (n, length)).astype("int32")
    ids[:, 0] = 2
    mask = np.ones((n, length), "int32")
    mask[::3, -2:] = 0
    ids[mask == 0] = 0
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    y = (ids == 7).any(1).astype("int32")
    return x, y


def compile_theseus(model, learning_rate=1e-3, jit_compile=False):
    # XLA compilation of the branchy step costs ~20 s per model on 2 cores;
    # one test (test_xla_train_step) covers XLA, the rest run tf.function.
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return model
