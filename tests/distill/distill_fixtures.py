"""Tiny teachers and students for distillation tests."""

import keras
import keras_hub
import numpy as np
from bert_fixtures import toy_batch  # noqa: F401  (re-exported for tests)

from keras_theseus import models

VOCAB = 60


def tiny_classifier(num_layers=4, hidden=16, heads=2, num_classes=2, seed=0, dropout=0.0):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=VOCAB, num_layers=num_layers,
                                            num_heads=heads, hidden_dim=hidden,
                                            intermediate_dim=2 * hidden, max_sequence_length=12,
                                            dropout=dropout)
    return models.build_text_classifier(backbone, num_classes, dropout=dropout)


def tiny_masked_lm(num_layers=2, hidden=16, vocab=VOCAB, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=vocab, num_layers=num_layers,
                                             num_heads=2, hidden_dim=hidden,
                                             intermediate_dim=2 * hidden,
                                             max_sequence_length=12, dropout=0.0)
    return keras_hub.models.BertMaskedLM(backbone)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def kl_to_teacher(teacher, student, x, temperature=1.0):
    """Mean KL(teacher ‖ student) of the predictions on `x`, in numpy."""
    lt = _log_softmax(np.asarray(teacher.predict(x, verbose=0), "float64") / temperature)
    ls = _log_softmax(np.asarray(student.predict(x, verbose=0), "float64") / temperature)
    return float((np.exp(lt) * (lt - ls)).sum(-1).mean())
