import keras
import numpy as np
import pytest
import tensorflow as tf
from distill_fixtures import VOCAB
from distill_fixtures import tiny_masked_lm
from distill_fixtures import toy_batch

from keras_theseus import distill


def _mlm_dataset(seed=0):
    x, _ = toy_batch(64, length=10, seed=seed)
    counts = distill.count_tokens(x, VOCAB)
    masker = distill.DistilBertMasker(VOCAB, mask_token_id=4, token_counts=counts,
                                      special_token_ids=[0, 1, 2, 3, 4], seed=seed)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)
    return ds.map(masker)


@pytest.mark.parametrize("kd_positions", ["masked", "all"])
def test_task_agnostic_distillation_with_distilbert_recipe(kd_positions):
    teacher = tiny_masked_lm(num_layers=2, hidden=16, seed=0)
    # Sharpen the random teacher's (tied) output distribution so that there
    # is something to learn.
    embedding = teacher.backbone.token_embedding
    embedding.embeddings.assign(embedding.embeddings * 8.0)
    student = tiny_masked_lm(num_layers=1, hidden=16, seed=1)
    assert distill.DISTILBERT_RECIPE == {"temperature": 2.0, "kd_weight": 5.0,
                                         "label_weight": 2.0, "cosine_weight": 1.0}
    d = distill.Distiller(teacher, student, kd_positions=kd_positions,
                          **distill.DISTILBERT_RECIPE)
    d.compile(optimizer=keras.optimizers.Adam(3e-3),
              weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="mlm_accuracy")])
    x, y, w = next(iter(_mlm_dataset(seed=7)))
    before, _ = d.compute_terms(x, y, w, *d._forward(x, training=False))
    history = d.fit(_mlm_dataset(), epochs=8, verbose=0).history
    for name in ("kd", "label", "cosine", "loss", "mlm_accuracy"):
        assert np.isfinite(history[name]).all(), name
    after, _ = d.compute_terms(x, y, w, *d._forward(x, training=False))
    assert float(after["kd"]) < 0.9 * float(before["kd"]), (before, after)
    assert float(after["cosine"]) < float(before["cosine"])
    # Prediction gives the student's logits at the masked slots.
    assert tuple(d.predict(x, verbose=0).shape) == (16, x["mask_positions"].shape[1], VOCAB)


def test_kd_over_all_tokens_uses_the_padding_mask():
    teacher = tiny_masked_lm(num_layers=2, seed=0)
    student = tiny_masked_lm(num_layers=1, seed=1)
    d = distill.Distiller(teacher, student, kd_positions="all", label_weight=0.0)
    x, y, w = next(iter(_mlm_dataset()))
    t_out, s_out = d._forward(x, training=False)
    length = x["token_ids"].shape[1]
    assert tuple(t_out["logits"].shape) == (16, length, VOCAB)
    terms, prediction = d.compute_terms(x, y, w, t_out, s_out)
    expected = distill.soft_target_kl(t_out["logits"], s_out["logits"], 2.0, x["padding_mask"])
    np.testing.assert_allclose(terms["kd"], expected, rtol=1e-6)
    assert tuple(prediction.shape) == tuple(x["mask_positions"].shape) + (VOCAB,)


def test_vocabulary_mismatch_raises():
    with pytest.raises(ValueError, match="Vocabulary mismatch"):
        distill.Distiller(tiny_masked_lm(), tiny_masked_lm(vocab=VOCAB + 1))
    with pytest.raises(ValueError, match="same task"):
        from distill_fixtures import tiny_classifier
        distill.Distiller(tiny_masked_lm(), tiny_classifier(2))
    with pytest.raises(ValueError, match="kd_positions"):
        distill.Distiller(tiny_masked_lm(), tiny_masked_lm(seed=2), kd_positions="some")
