import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from distill_fixtures import kl_to_teacher
from distill_fixtures import tiny_classifier
from distill_fixtures import toy_batch

from keras_theseus import distill
from keras_theseus.distill import losses


@pytest.fixture(scope="module")
def teacher():
    # A teacher with confident, non-trivial predictions: train it briefly.
    model = tiny_classifier(num_layers=4, hidden=16, seed=0)
    x, y = toy_batch(64, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    return model


def _compile(d, lr=3e-3, jit_compile=False):
    d.compile(optimizer=keras.optimizers.Adam(lr), jit_compile=jit_compile,
              metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return d


def test_distillation_moves_student_towards_teacher(teacher):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    x, _ = toy_batch(64, seed=5)
    before = kl_to_teacher(teacher, student, x)
    d = distill.Distiller(teacher, student, kd_weight=1.0, label_weight=0.0, temperature=2.0)
    d.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = d.fit(x, epochs=20, batch_size=32, verbose=0)
    after = kl_to_teacher(teacher, student, x)
    assert after < 0.3 * before, (before, after)
    assert history.history["kd"][-1] < history.history["kd"][0]
    # The teacher did not move.
    assert not any(v.trainable for v in teacher.weights)


def test_every_term_is_a_metric_and_loss_is_their_weighted_sum(teacher):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    x, y = toy_batch(32, seed=2)
    d = _compile(distill.Distiller(teacher, student, temperature=2.0, kd_weight=0.5,
                                   label_weight=2.0, cosine_weight=1.5, hidden_mse_weight=0.25,
                                   attention_mse_weight=3.0))
    result = d.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    for name in ("kd", "label", "cosine", "hidden_mse", "attention_mse", "accuracy"):
        assert name in result
    expected = (0.5 * result["kd"] + 2.0 * result["label"] + 1.5 * result["cosine"]
                + 0.25 * result["hidden_mse"] + 3.0 * result["attention_mse"])
    np.testing.assert_allclose(result["loss"], expected, rtol=1e-5)
    history = d.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert {"kd", "label", "cosine", "hidden_mse", "attention_mse", "loss",
            "accuracy"} <= set(history.history)


def test_terms_match_independent_computation(teacher):
    student = tiny_classifier(num_layers=2, hidden=16, seed=4)
    x, y = toy_batch(8, seed=3)
    d = distill.Distiller(teacher, student, temperature=3.0, kd_weight=1.0, label_weight=1.0,
                          cosine_weight=1.0, hidden_mse_weight=1.0, attention_mse_weight=1.0)
    assert d.layer_map == [(0, 0), (1, 2), (2, 4)] and d.projection is None
    t_out, s_out = d._forward(x, training=False)
    terms, _ = d.compute_terms(x, y, None, t_out, s_out)
    from keras_theseus.models import build_feature_extractor
    tf_ = build_feature_extractor(teacher, attention_scores="logits")(x)
    sf = build_feature_extractor(student, attention_scores="logits")(x)
    m = x["padding_mask"]
    np.testing.assert_allclose(terms["kd"], losses.soft_target_kl(
        teacher(x), student(x), 3.0), rtol=1e-5)
    np.testing.assert_allclose(terms["cosine"], losses.cosine_embedding_loss(
        tf_["hidden_states"][4], sf["hidden_states"][2], m), rtol=1e-5)
    mse = sum(float(losses.masked_mse(tf_["hidden_states"][t], sf["hidden_states"][s], m))
              for s, t in [(0, 0), (1, 2), (2, 4)])
    np.testing.assert_allclose(terms["hidden_mse"], mse, rtol=1e-5)
    att = sum(float(losses.attention_mse(tf_["attention_scores"][t], sf["attention_scores"][s],
                                         m)) for s, t in [(0, 1), (1, 3)])
    np.testing.assert_allclose(terms["attention_mse"], att, rtol=1e-5)


def _count_calls(layer, counter, key):
    original = layer.call

    def counted(*args, **kwargs):
        counter[key] += 1
        return original(*args, **kwargs)

    layer.__dict__["call"] = counted


def test_one_forward_pass_per_model_per_step(teacher):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    counter = {"teacher": 0, "student": 0}
    d = distill.Distiller(teacher, student, cosine_weight=1.0, hidden_mse_weight=1.0,
                          attention_mse_weight=1.0)
    _count_calls(teacher.backbone.get_layer("token_embedding"), counter, "teacher")
    _count_calls(student.backbone.get_layer("token_embedding"), counter, "student")
    d.compile(optimizer="adam", run_eagerly=True)
    x, y = toy_batch(16)
    try:
        d.fit(x, y, batch_size=8, epochs=1, verbose=0)   # 2 steps
    finally:
        teacher.backbone.get_layer("token_embedding").__dict__.pop("call")
        student.backbone.get_layer("token_embedding").__dict__.pop("call")
    assert counter == {"teacher": 2, "student": 2}


def test_projection_for_different_widths_is_not_in_the_student(teacher, tmp_path):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    d = _compile(distill.Distiller(teacher, student, hidden_mse_weight=1.0))
    assert d.projection is not None
    x, y = toy_batch(16)
    d.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not any("projection" in w.path for w in student.weights)
    path = os.path.join(tmp_path, "distiller.keras")
    d.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), d.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(loaded.projection.get_weights()[0],
                               d.projection.get_weights()[0])
    student_path = os.path.join(tmp_path, "student.keras")
    d.student.save(student_path)
    np.testing.assert_allclose(keras.saving.load_model(student_path).predict(x, verbose=0),
                               d.predict(x, verbose=0), atol=1e-6)


def test_schedules_are_evaluated_at_the_optimizer_step(teacher):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    kd_weight = keras.optimizers.schedules.PolynomialDecay(1.0, 100, 0.0)
    temperature = keras.optimizers.schedules.PolynomialDecay(4.0, 100, 1.0)
    d = _compile(distill.Distiller(teacher, student, temperature=temperature,
                                   kd_weight=kd_weight, label_weight=1.0))
    x, y = toy_batch(16)
    d.optimizer.build(d.trainable_weights)
    for step in (0, 50, 100):
        d.optimizer.iterations.assign(step)
        r = d.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
        t = 4.0 - 3.0 * step / 100
        expected_kd = float(losses.soft_target_kl(teacher(x), student(x), t))
        np.testing.assert_allclose(r["kd"], expected_kd, rtol=1e-4)
        np.testing.assert_allclose(r["loss"], (1 - step / 100) * r["kd"] + r["label"],
                                   rtol=1e-4)


def test_keras_distillation_loss_objects(teacher):
    student = tiny_classifier(num_layers=2, hidden=16, seed=3)
    x, y = toy_batch(8)
    ours = distill.Distiller(teacher, student, temperature=2.0, hidden_mse_weight=1.0)
    theirs = distill.Distiller(
        teacher, student, kd_loss=keras.distillation.LogitsDistillation(
            temperature=2.0, loss=keras.losses.KLDivergence()),
        hidden_mse_weight=1.0, hidden_loss=keras.distillation.FeatureDistillation(loss="mse"))
    xf = {k: v[:, :] for k, v in x.items()}
    xf["padding_mask"] = np.ones_like(x["padding_mask"])  # FeatureDistillation sees all tokens
    a, _ = ours.compute_terms(xf, y, None, *ours._forward(xf, training=False))
    b, _ = theirs.compute_terms(xf, y, None, *theirs._forward(xf, training=False))
    np.testing.assert_allclose(a["kd"], b["kd"], rtol=1e-4)
    np.testing.assert_allclose(a["hidden_mse"], b["hidden_mse"], rtol=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        distill.Distiller(teacher, student, temperature=2.0,
                          kd_loss=keras.distillation.LogitsDistillation(temperature=2.0))
    with pytest.raises(ValueError, match="KLDivergence"):
        distill.Distiller(teacher, student,
                          kd_loss=keras.distillation.LogitsDistillation(temperature=2.0))
    with pytest.raises(ValueError, match="layer_map"):
        distill.Distiller(teacher, student, hidden_mse_weight=1.0,
                          hidden_loss=keras.distillation.FeatureDistillation(
                              teacher_layer_name="x", student_layer_name="y"))


def test_xla_train_step(teacher):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    d = _compile(distill.Distiller(teacher, student, hidden_mse_weight=1.0, cosine_weight=1.0),
                 jit_compile=True)
    x, y = toy_batch(32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16, drop_remainder=True)
    history = d.fit(ds, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_bad_arguments_raise(teacher):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    with pytest.raises(ValueError, match="temperature` must be > 0"):
        distill.Distiller(teacher, student, temperature=0.0)
    with pytest.raises(ValueError, match="temperature` must be > 0"):
        distill.Distiller(teacher, student, temperature=-1.0)
    with pytest.raises(ValueError, match="Hidden size mismatch"):
        distill.Distiller(teacher, student, hidden_mse_weight=1.0, projection=False)
    with pytest.raises(ValueError, match="2 classes but the student 3"):
        distill.Distiller(teacher, tiny_classifier(num_layers=2, num_classes=3))
    with pytest.raises(ValueError, match="heads"):
        distill.Distiller(teacher, tiny_classifier(num_layers=2, hidden=16, heads=4),
                          attention_mse_weight=1.0)
    with pytest.raises(ValueError, match="layer_map"):
        distill.Distiller(teacher, student, hidden_mse_weight=1.0, layer_map=[(3, 0)])
    with pytest.raises(ValueError, match="kd_weight` must be >= 0"):
        distill.Distiller(teacher, student, kd_weight=-1.0)
    with pytest.raises(ValueError, match="All loss weights are 0"):
        distill.Distiller(teacher, student, kd_weight=0.0, label_weight=0.0)
    with pytest.raises(TypeError, match="student"):
        distill.Distiller(teacher, student.backbone)
    d = distill.Distiller(teacher, student)
    with pytest.raises(ValueError, match="do not pass `loss`"):
        d.compile(optimizer="adam", loss="mse")
    d.compile(optimizer="adam")
    x, _ = toy_batch(8)
    with pytest.raises(ValueError, match="no labels"):
        d.fit(x, epochs=1, verbose=0)


def test_saved_distiller_loads_compiled_with_its_optimizer_state(teacher, tmp_path):
    student = tiny_classifier(num_layers=2, hidden=8, seed=3)
    d = _compile(distill.Distiller(teacher, student, label_weight=1.0))
    x, y = toy_batch(16)
    d.fit(x, y, batch_size=8, epochs=1, verbose=0)   # 2 steps
    path = os.path.join(tmp_path, "distiller.keras")
    d.save(path)
    # Keras skips a custom compile() on load (warning) unless the model recompiles itself.
    loaded = keras.saving.load_model(path)
    assert loaded.compiled and int(loaded.optimizer.iterations) == 2
    assert loaded.optimizer.learning_rate.numpy() == pytest.approx(3e-3)
    for saved, restored in zip(d.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(restored), np.asarray(saved))
    # Training goes on from the saved state: the same step as the original's.
    d.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), d.predict(x, verbose=0),
                               atol=1e-5)
    assert "accuracy" in loaded.evaluate(x, y, verbose=0, return_dict=True)
