"""Tiny Theseus test models and data."""

import keras
from bert_fixtures import toy_batch  # noqa: F401  (re-exported for tests)

from keras_theseus import models

VOCAB = 60


def tiny_classifier(num_layers=4, dropout=0.0, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=VOCAB, num_layers=num_layers, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=12, dropout=dropout)
    return models.build_text_classifier(backbone, 2, dropout=dropout)


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
