import keras
"""Latency measurement, synthetic inputs, parameter counts, device info."""

import time

import numpy as np
import pytest
import tensorflow as tf

from keras_theseus.timing import count_params
from keras_theseus.timing import device_info
from keras_theseus.timing import inference_function
from keras_theseus.timing import measure_latency
from keras_theseus.timing import synthetic_inputs

VOCAB = 1200  # > 1000: synthetic_inputs draws ids from [1000, vocabulary_size)
STATS = {"median_ms", "p50_ms", "p10_ms", "p90_ms", "p99_ms", "min_ms", "repeats"}


def _classifier(num_layers, seed):
    import keras

    from keras_theseus.models import ExactGeluBertBackbone
    from keras_theseus.models import build_text_classifier

    keras.utils.set_random_seed(seed)
    backbone = ExactGeluBertBackbone(vocabulary_size=VOCAB, num_layers=num_layers, num_heads=2,
                                     hidden_dim=32, intermediate_dim=64, max_sequence_length=32)
    return build_text_classifier(backbone, 2)


@pytest.fixture(scope="module")
def models():
    return {"teacher": _classifier(2, seed=0), "student": _classifier(1, seed=1)}


@pytest.fixture(scope="module")
def inputs():
    return synthetic_inputs(4, 16, vocabulary_size=VOCAB)


def _check_stats(stats, repeats):
    assert set(stats) == STATS
    assert stats["repeats"] == repeats
    assert 0 < stats["min_ms"] <= stats["p10_ms"] <= stats["median_ms"] <= stats["p90_ms"]


@pytest.mark.parametrize("jit_compile", [False, True])
def test_measure_latency_two_keras_models(models, inputs, jit_compile):
    result = measure_latency(models, inputs, warmup=1, repeats=5, jit_compile=jit_compile)
    assert list(result) == ["teacher", "student"]
    for stats in result.values():
        _check_stats(stats, repeats=5)
        assert all(isinstance(stats[k], float) for k in STATS - {"repeats"})


def test_measure_latency_python_callable_lower_bound():
    calls = []

    def slow(x):
        calls.append(1)
        time.sleep(0.005)
        return tf.constant([1.0])

    result = measure_latency({"slow": slow}, inputs=None, warmup=2, repeats=4)
    _check_stats(result["slow"], repeats=4)
    assert result["slow"]["min_ms"] >= 5.0
    assert result["slow"]["median_ms"] >= 5.0
    assert len(calls) == 2 + 4  # warm-up calls are made but not timed


def test_measure_latency_interleaves_models_in_rotated_order():
    calls = []

    def make(name):
        def fn(x):
            calls.append(name)
            return tf.constant(0)
        return fn

    measure_latency({"a": make("a"), "b": make("b"), "c": make("c")}, None,
                    warmup=0, repeats=3)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


def test_measure_latency_passes_the_inputs(inputs):
    seen = []

    def fn(x):
        seen.append(x)
        return x["token_ids"]

    measure_latency({"f": fn}, inputs, warmup=1, repeats=2)
    assert len(seen) == 3 and all(x is inputs for x in seen)


def test_measure_latency_callable_returning_numpy():
    result = measure_latency({"np": lambda x: np.zeros(3)}, None, warmup=0, repeats=2)
    assert result["np"]["repeats"] == 2


def test_measure_latency_bad_arguments(models, inputs):
    with pytest.raises(ValueError, match="empty"):
        measure_latency({}, inputs)
    with pytest.raises(ValueError, match="repeats"):
        measure_latency({"f": lambda x: tf.constant(0)}, inputs, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        measure_latency({"f": lambda x: tf.constant(0)}, inputs, warmup=-1)


def test_inference_function_matches_the_model(models, inputs):
    model = models["student"]
    eager = model(inputs, training=False)
    fn = inference_function(model, jit_compile=False)
    np.testing.assert_allclose(fn(inputs).numpy(), np.asarray(eager), rtol=1e-5, atol=1e-5)
    assert tuple(fn(inputs).shape) == (4, 2)


def test_synthetic_inputs_shapes_and_dtypes():
    x = synthetic_inputs(3, 10, vocabulary_size=VOCAB, seed=5)
    assert set(x) == {"token_ids", "segment_ids", "padding_mask"}
    for value in x.values():
        assert tuple(value.shape) == (3, 10)
        assert value.dtype == tf.int32
    ids = x["token_ids"].numpy()
    assert (ids[:, 0] == 101).all()  # [CLS]
    assert ids[:, 1:].min() >= min(1000, VOCAB // 2) and ids.max() < VOCAB
    assert (x["segment_ids"].numpy() == 0).all()
    assert (x["padding_mask"].numpy() == 1).all()
    # Seeded: same seed, same ids; another seed, other ids.
    np.testing.assert_array_equal(ids, synthetic_inputs(3, 10, VOCAB, seed=5)["token_ids"])
    assert not np.array_equal(ids, synthetic_inputs(3, 10, VOCAB, seed=6)["token_ids"])


def test_synthetic_inputs_default_vocabulary_is_bert_sized():
    ids = synthetic_inputs(2, 64)["token_ids"].numpy()
    assert ids.max() < 30522
    assert len(np.unique(ids[:, 1:])) > 50


def test_synthetic_inputs_small_vocabulary_ids_in_range():
    ids = synthetic_inputs(2, 8, vocabulary_size=100)["token_ids"].numpy()
    assert ids.max() < 100


def test_synthetic_inputs_run_through_a_model(models, inputs):
    out = models["teacher"](inputs, training=False)
    assert tuple(out.shape) == (4, 2)
    assert np.isfinite(np.asarray(out)).all()


def test_count_params_matches_keras(models):
    for model in models.values():
        assert count_params(model) == model.count_params()
        assert isinstance(count_params(model), int)
    # One transformer layer fewer means fewer parameters.
    assert count_params(models["teacher"]) > count_params(models["student"])


def test_count_params_counts_non_trainable_weights():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.BatchNormalization()])
    # Dense 4*3+3, BatchNorm 4*3 (gamma, beta trainable; mean, variance not).
    assert count_params(model) == 15 + 12 == model.count_params()


def test_device_info():
    info = device_info()
    assert info["kind"] in ("CPU", "GPU", "TPU")
    assert isinstance(info["name"], str) and info["name"]
    assert isinstance(info["count"], int) and info["count"] >= 1
    if not tf.config.list_physical_devices("GPU") and not tf.config.list_logical_devices("TPU"):
        assert info["kind"] == "CPU"


def test_measure_train_step_updates_and_times_each_model():
    from keras_theseus.models import ExactGeluBertBackbone
    from keras_theseus.models import build_text_classifier
    from keras_theseus.models import compile_text_classifier
    from keras_theseus.timing import measure_train_step

    def tiny():
        backbone = ExactGeluBertBackbone(
            vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
            max_sequence_length=8)
        return compile_text_classifier(build_text_classifier(backbone, 2), jit_compile=False)

    a, b = tiny(), tiny()
    x = synthetic_inputs(4, 8, vocabulary_size=50)
    y = np.array([0, 1, 0, 1])
    stats = measure_train_step({"a": a, "b": b}, (x, y), warmup=1, repeats=3)
    assert set(stats) == {"a", "b"}
    assert all(s["repeats"] == 3 and s["median_ms"] > 0 for s in stats.values())
    assert int(a.optimizer.iterations.numpy()) == 4  # 1 warm-up + 3 timed steps
    raw = keras.Sequential([keras.layers.Dense(1)])  # keras-hub tasks compile themselves
    with pytest.raises(ValueError, match="not compiled"):
        measure_train_step({"raw": raw}, (x, y))
