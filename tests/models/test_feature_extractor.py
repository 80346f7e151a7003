import numpy as np
import pytest
import tensorflow as tf

from keras_theseus import models


@pytest.fixture(scope="module")
def classifier():
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=40, num_layers=3, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=10)
    return models.build_text_classifier(backbone, 3)


def _x():
    rng = np.random.default_rng(0)
    return {"token_ids": rng.integers(0, 40, (2, 6)).astype("int32"),
            "segment_ids": np.zeros((2, 6), "int32"),
            "padding_mask": np.array([[1] * 6, [1] * 4 + [0] * 2], "int32")}


@pytest.mark.parametrize("attention", [False, True])
def test_one_pass_matches_model(classifier, attention):
    features = models.build_feature_extractor(classifier, attention_scores=attention)
    out = features(_x())
    assert len(out["hidden_states"]) == 4
    np.testing.assert_allclose(out["logits"], classifier(_x()), atol=1e-6)
    reference = classifier.backbone(_x())
    np.testing.assert_allclose(out["sequence_output"], reference["sequence_output"], atol=1e-6)
    np.testing.assert_allclose(out["hidden_states"][-1], reference["sequence_output"], atol=1e-6)
    # Each layer's output feeds the next: layer i applied to state i gives i+1.
    layer = classifier.backbone.transformer_layers[1]
    np.testing.assert_allclose(
        layer(out["hidden_states"][1], padding_mask=_x()["padding_mask"]),
        out["hidden_states"][2], atol=1e-5)
    # Weights are shared, not copied.
    assert features.count_params() == classifier.count_params()


def test_attention_scores(classifier):
    features = models.build_feature_extractor(classifier, attention_scores=True)
    scores = features(_x())["attention_scores"]
    assert len(scores) == 3 and tuple(scores[0].shape) == (2, 2, 6, 6)
    probs = np.asarray(scores[0])
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    assert probs[1, :, :, 4:].max() < 1e-6  # padded keys get no attention


def test_backbone_only_has_no_logits(classifier):
    out = models.build_feature_extractor(classifier.backbone)(_x())
    assert "logits" not in out and len(out["hidden_states"]) == 4


def test_gradients_reach_every_layer(classifier):
    features = models.build_feature_extractor(classifier)
    with tf.GradientTape() as tape:
        out = features(_x(), training=True)
        loss = tf.reduce_mean(out["logits"] ** 2) + tf.reduce_mean(out["hidden_states"][1] ** 2)
    grads = tape.gradient(loss, classifier.trainable_variables)
    missing = [v.path for v, g in zip(classifier.trainable_variables, grads) if g is None]
    # Only the segment embedding of unused segment ids may be flat; no None.
    assert not missing


def test_rejects_other_models():
    with pytest.raises(TypeError, match="BertTextClassifier, BertMaskedLM or BertBackbone"):
        models.build_feature_extractor(object())


def test_attention_logits_are_the_pre_softmax_scores(classifier):
    probs = models.build_feature_extractor(classifier, attention_scores=True)(_x())
    logits = models.build_feature_extractor(classifier, attention_scores="logits")(_x())
    mask = _x()["padding_mask"].astype(bool)
    for p, z in zip(probs["attention_scores"], logits["attention_scores"]):
        z = np.where(mask[:, None, None, :], np.asarray(z), -np.inf)
        softmax = np.exp(z - z.max(-1, keepdims=True))
        softmax /= softmax.sum(-1, keepdims=True)
        np.testing.assert_allclose(softmax, p, atol=1e-5)
    np.testing.assert_allclose(logits["logits"], classifier(_x()), atol=1e-6)
    with pytest.raises(ValueError, match="attention_scores"):
        models.build_feature_extractor(classifier, attention_scores="maybe")


@pytest.mark.parametrize("attention", [False, "logits"])
def test_masked_lm_features(attention):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(vocabulary_size=40, num_layers=2, num_heads=2,
                                             hidden_dim=16, intermediate_dim=32,
                                             max_sequence_length=10)
    mlm = keras_hub.models.BertMaskedLM(backbone)
    x = dict(_x(), mask_positions=np.array([[1, 3], [2, 0]], "int32"))
    out = models.build_feature_extractor(mlm, attention_scores=attention)(x)
    assert tuple(out["logits"].shape) == (2, 2, 40)
    np.testing.assert_allclose(out["logits"], mlm(x), atol=1e-5)
