import os

import keras
import numpy as np
import pytest
from distill_fixtures import tiny_classifier
from distill_fixtures import toy_batch

from keras_theseus import distill


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_ensemble_averages_member_logits_and_probabilities(tmp_path):
    a, b = tiny_classifier(2, seed=1), tiny_classifier(2, seed=2)
    x, _ = toy_batch(8)
    la, lb = np.asarray(a(x)), np.asarray(b(x))
    mean_logits = distill.EnsembleTeacher([a, b], weights=[3, 1])(x)
    np.testing.assert_allclose(mean_logits, 0.75 * la + 0.25 * lb, atol=1e-6)
    mixture = distill.EnsembleTeacher([a, b], combine="probabilities")(x)
    np.testing.assert_allclose(_softmax(np.asarray(mixture)),
                               0.5 * _softmax(la) + 0.5 * _softmax(lb), atol=1e-6)
    professor = distill.EnsembleTeacher([a, b])
    professor(x)
    path = os.path.join(tmp_path, "professor.keras")
    professor.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(x), professor(x), atol=1e-6)


def test_ensemble_teacher_distils_into_a_student():
    a, b = tiny_classifier(2, seed=1), tiny_classifier(2, seed=2)
    student = tiny_classifier(1, seed=3)
    d = distill.Distiller(distill.EnsembleTeacher([a, b]), student, label_weight=0.0)
    d.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, _ = toy_batch(32)
    history = d.fit(x, batch_size=16, epochs=8, verbose=0)
    assert history.history["kd"][-1] < 0.5 * history.history["kd"][0]
    with pytest.raises(ValueError, match="logits only"):
        distill.Distiller(distill.EnsembleTeacher([a, b]), student, hidden_mse_weight=1.0)


def test_ensemble_bad_arguments():
    a = tiny_classifier(2, seed=1)
    with pytest.raises(ValueError, match="at least 2"):
        distill.EnsembleTeacher([a])
    with pytest.raises(ValueError, match="same number of classes"):
        distill.EnsembleTeacher([a, tiny_classifier(2, num_classes=3)])
    with pytest.raises(ValueError, match="`weights`"):
        distill.EnsembleTeacher([a, a], weights=[1, -1])
    with pytest.raises(ValueError, match="`combine`"):
        distill.EnsembleTeacher([a, a], combine="median")
    with pytest.raises(TypeError, match="teachers\\[1\\]"):
        distill.EnsembleTeacher([a, a.backbone])


def test_boosted_sample_weights_upweight_mistakes():
    labels = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    preds = np.array([0, 1, 0, 0, 1, 1, 0, 1])       # 2 of 8 wrong
    weights, alpha = distill.boosted_sample_weights(labels, preds)
    np.testing.assert_allclose(alpha, np.log(0.75 / 0.25) + np.log(1), rtol=1e-6)
    np.testing.assert_allclose(weights.mean(), 1.0, rtol=1e-6)
    wrong = preds != labels
    # SAMME: mistakes weigh exp(alpha) = 3 times a correct example.
    np.testing.assert_allclose(weights[wrong] / weights[~wrong][0], 3.0, rtol=1e-5)
    logits = np.eye(2)[preds] * 5
    w2, a2 = distill.boosted_sample_weights(labels, logits)
    np.testing.assert_allclose(w2, weights)
    with pytest.raises(ValueError, match="one prediction per label"):
        distill.boosted_sample_weights(labels, preds[:3])
