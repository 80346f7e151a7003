import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from bert_fixtures import toy_batch
from bert_fixtures import toy_classifier as _classifier

from keras_theseus import distill
from keras_theseus import models
from keras_theseus.distill.losses import soft_target_kl
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.dynabert import extract_subnetwork
from keras_theseus.models import precision as precision_lib
from keras_theseus.theseus import TheseusClassifier
from keras_theseus.theseus import extract_successor
from keras_theseus.timing import inference_jit_compile
from keras_theseus.workflows import CompressionConfig

BF16 = "mixed_bfloat16"


def _layers_with_weights(model):
    # Leaf layers: a functional sub-model (Theseus' embeddings) computes
    # nothing itself, its layers do.
    return [layer for layer in model._flatten_layers(include_self=False)
            if layer.weights and not isinstance(layer, keras.Model)]


def _assert_computes_in(model, compute_dtype):
    layers = _layers_with_weights(model)
    assert layers
    wrong = [(layer.path, layer.compute_dtype) for layer in layers
             if layer.compute_dtype != compute_dtype]
    assert not wrong, wrong
    # Variables stay float32 under every mixed policy (float32 master weights).
    assert all(v.dtype == "float32" for v in model.weights if v.dtype.startswith("float")
               or v.dtype.startswith("bfloat"))


@pytest.mark.parametrize("bad", ["bf16", "bfloat16", "float64", "", 16, None])
def test_unknown_precision_is_refused_with_the_allowed_names(bad):
    if bad is None:
        assert models.resolve_precision(None) is None  # None: keep the model's own
        return
    with pytest.raises(ValueError, match=r"`precision` must be one of \('auto', 'float32', "
                                         r"'mixed_bfloat16', 'mixed_float16'\)"):
        models.check_precision(bad)
    with pytest.raises(ValueError, match="`precision`"):
        models.with_precision(_classifier(), bad)
    with pytest.raises(ValueError, match="`precision`"):
        CompressionConfig(precision=bad).validate()


def test_check_precision_accepts_policies_and_auto_follows_the_device(monkeypatch):
    assert models.check_precision(keras.DTypePolicy(BF16)) == BF16
    expected = BF16 if precision_lib.fast_bfloat16_device() else "float32"
    monkeypatch.delenv("KERAS_THESEUS_PRECISION", raising=False)
    assert models.resolve_precision("auto") == expected
    monkeypatch.setenv("KERAS_THESEUS_PRECISION", "float32")
    assert models.resolve_precision("auto") == "float32"
    assert models.resolve_precision(BF16) == BF16  # explicit names are never overridden
    monkeypatch.setenv("KERAS_THESEUS_PRECISION", "fp8")
    with pytest.raises(ValueError, match=r"\$KERAS_THESEUS_PRECISION"):
        models.resolve_precision("auto")


def test_with_precision_sets_every_layer_and_keeps_the_weights():
    model = _classifier()
    x, _ = toy_batch(8)
    fp32 = np.asarray(model(x, training=False))
    half = models.with_precision(model, BF16)
    assert half is not model and models.model_precision(half) == BF16
    _assert_computes_in(half, "bfloat16")
    out = half(x, training=False)
    assert out.dtype == "bfloat16"
    # bfloat16 keeps ~3 significant digits: close to float32, not equal.
    np.testing.assert_allclose(np.asarray(tf.cast(out, "float32")), fp32, atol=0.05)
    for a, b in zip(model.get_weights(), half.get_weights()):
        np.testing.assert_array_equal(a, b)
    back = models.with_precision(half, "float32")
    _assert_computes_in(back, "float32")
    np.testing.assert_array_equal(np.asarray(back(x, training=False)), fp32)
    assert models.with_precision(half, BF16) is half  # already there: no copy
    assert models.with_precision(half, None) is half


def test_bfloat16_keras_file_round_trip(tmp_path):
    half = models.with_precision(_classifier(), BF16)
    x, _ = toy_batch(8)
    path = str(tmp_path / "half.keras")
    half.save(path)
    loaded = keras.saving.load_model(path)
    assert models.model_precision(loaded) == BF16
    _assert_computes_in(loaded, "bfloat16")
    np.testing.assert_array_equal(np.asarray(tf.cast(loaded(x), "float32")),
                                  np.asarray(tf.cast(half(x), "float32")))


def test_theseus_inherits_the_predecessor_precision_and_keeps_p_float32(tmp_path):
    predecessor = models.with_precision(_classifier(), BF16)
    model = TheseusClassifier.from_predecessor(predecessor, 1, replacement_rate=0.3006, seed=0,
                                               kd_weight=1.0)
    _assert_computes_in(model, "bfloat16")
    assert model.dtype_policy.name == BF16
    assert model.replacement_rate.dtype == "float32"
    assert float(model.replacement_rate.numpy()) == pytest.approx(0.3006, abs=1e-7)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = toy_batch(32)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert models.model_precision(extract_successor(model)) == BF16
    # The model round-trips through .keras in its precision, and converts.
    path = str(tmp_path / "theseus.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.dtype_policy.name == BF16 and loaded.successor_layers[0].compute_dtype \
        == "bfloat16"
    back = models.with_precision(model, "float32")
    _assert_computes_in(back, "float32")
    assert int(back.replacement_step.numpy()) == int(model.replacement_step.numpy())


def test_mixed_float16_trainers_get_loss_scaling_without_a_global_policy():
    assert keras.config.dtype_policy().name == "float32"
    teacher = models.with_precision(_classifier(), "mixed_float16")
    theseus = TheseusClassifier.from_predecessor(teacher, 1)
    theseus.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(theseus.optimizer, keras.optimizers.LossScaleOptimizer)
    student = distill.layer_dropped_student(teacher, 1)
    d = distill.Distiller(teacher, student)
    d.compile(optimizer="adam")
    assert isinstance(d.optimizer, keras.optimizers.LossScaleOptimizer)


def test_distillation_losses_are_float32_for_bfloat16_logits():
    t = tf.constant([[2.0, -1.0, 0.5]], "bfloat16")
    s = tf.constant([[1.0, 0.0, 0.25]], "bfloat16")
    loss = soft_target_kl(t, s, temperature=2.0)
    assert loss.dtype == "float32"
    # Against float32 numpy on the same (bfloat16-rounded) values.
    tt, ss = np.asarray(tf.cast(t, "float32")) / 2, np.asarray(tf.cast(s, "float32")) / 2
    p = np.exp(tt) / np.exp(tt).sum()
    log_q = ss - np.log(np.exp(ss).sum())
    expected = 4 * float((p * (np.log(p) - log_q)).sum())
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_distill_classifier_trains_in_the_precision_asked_for():
    teacher = _classifier()
    x, y = toy_batch(32)
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    student, history = distill.distill_classifier(teacher, train, num_layers=1, epochs=2,
                                                  learning_rate=1e-3, jit_compile=False,
                                                  verbose=0, precision=BF16)
    assert models.model_precision(teacher) == "float32"  # the caller's teacher is untouched
    _assert_computes_in(student, "bfloat16")
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_dynabert_models_follow_the_classifier_precision():
    half = models.with_precision(_classifier(), BF16)
    model = DynaBertClassifier.from_classifier(half)
    _assert_computes_in(model, "bfloat16")
    x, _ = toy_batch(4)
    assert model(x).dtype == "bfloat16"
    # The sliced width sub-network computes in bfloat16 and matches the
    # extracted model (which holds the same slices as its own weights).
    sliced = model.forward(x, 0.5, 0.5)
    assert sliced.dtype == "bfloat16"
    small = extract_subnetwork(model, 0.5, 0.5)
    assert models.model_precision(small) == BF16
    np.testing.assert_allclose(tf.cast(sliced, "float32"), tf.cast(small(x), "float32"),
                               atol=2e-2)
    back = models.with_precision(model, "float32")
    _assert_computes_in(back, "float32")


def test_inference_path_skips_xla_only_for_half_precision_on_cpu():
    model = _classifier()
    on_cpu = not tf.config.list_physical_devices("GPU")
    assert inference_jit_compile(model) is True
    assert inference_jit_compile(models.with_precision(model, BF16)) is (not on_cpu)
    assert inference_jit_compile(model, False) is False
    with pytest.raises(ValueError, match="`jit_compile`"):
        inference_jit_compile(model, "xla")


def test_finetune_teacher_in_bfloat16_is_cached_under_its_own_name(tiny_checkpoint, tmp_path,
                                                                    monkeypatch):
    from test_teacher import _data

    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    kwargs = dict(preset=tiny_checkpoint, sequence_length=8, epochs=2, batch_size=4,
                  learning_rate=1e-3, jit_compile=False, verbose=0)
    teacher, _, history = models.finetune_teacher(_data(), precision=BF16, **kwargs)
    _assert_computes_in(teacher, "bfloat16")
    assert np.isfinite(history.history["loss"]).all()
    path = models.teacher_cache_path(tiny_checkpoint, "toy", 8, 2, batch_size=4,
                                     learning_rate=1e-3, precision=BF16)
    assert path.endswith("_mixed_bfloat16.keras") and os.path.isfile(path)
    # A float32 request neither reuses nor overwrites the bfloat16 teacher.
    fp32, _, history = models.finetune_teacher(_data(), precision="float32", **kwargs)
    assert history is not None and models.model_precision(fp32) == "float32"
    again, _, history = models.finetune_teacher(_data(), precision=BF16, **kwargs)
    assert history is None and models.model_precision(again) == BF16
