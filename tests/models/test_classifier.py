import keras
import keras_hub
import numpy as np
import pytest

from keras_theseus import models


def _backbone():
    return models.ExactGeluBertBackbone(
        vocabulary_size=40, num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64,
        max_sequence_length=16)


def _separable(n=64, seed=0):
    """Label 1 iff token 7 appears: a task a tiny encoder learns quickly."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(10, 40, (n, 8)).astype("int32")
    y = rng.integers(0, 2, n).astype("int32")
    ids[y == 1, rng.integers(1, 7)] = 7
    ids[:, 0] = 2
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids),
         "padding_mask": np.ones_like(ids)}
    return x, y


def test_builds_keras_hub_classifier_that_learns():
    keras.utils.set_random_seed(1)
    clf = models.build_text_classifier(_backbone(), 2, dropout=0.0)
    assert isinstance(clf, keras_hub.models.BertTextClassifier)
    models.compile_text_classifier(clf, learning_rate=3e-3, total_steps=60)
    x, y = _separable()
    before = clf.evaluate(x, y, verbose=0, return_dict=True)
    clf.fit(x, y, batch_size=16, epochs=15, verbose=0)
    after = clf.evaluate(x, y, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"] * 0.5
    assert after["accuracy"] > 0.9


def test_keras_round_trip(tmp_path):
    clf = models.build_text_classifier(_backbone(), 3)
    x, _ = _separable(4)
    path = str(tmp_path / "clf.keras")
    clf.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.backbone, models.ExactGeluBertBackbone)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), clf.predict(x, verbose=0),
                               atol=1e-5)


def test_bad_arguments():
    with pytest.raises(TypeError, match="backbone"):
        models.build_text_classifier("bert", 2)
    with pytest.raises(ValueError, match="num_classes"):
        models.build_text_classifier(_backbone(), 1)
    with pytest.raises(ValueError, match="dropout"):
        models.build_text_classifier(_backbone(), 2, dropout=1.0)
    clf = models.build_text_classifier(_backbone(), 2)
    with pytest.raises(ValueError, match="learning_rate"):
        models.compile_text_classifier(clf, learning_rate=0)
    with pytest.raises(ValueError, match="total_steps"):
        models.compile_text_classifier(clf, total_steps=0)
    with pytest.raises(ValueError, match="warmup_fraction"):
        models.compile_text_classifier(clf, total_steps=10, warmup_fraction=1.0)
