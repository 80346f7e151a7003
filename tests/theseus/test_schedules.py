import keras
import pytest

from keras_theseus.theseus import schedules
from keras_theseus.theseus.schedules import CallableReplacement
from keras_theseus.theseus.schedules import ConstantReplacement
from keras_theseus.theseus.schedules import LinearReplacement


def test_constant_with_replace_all_after():
    s = ConstantReplacement(0.5, replace_all_after=100)
    assert [s.rate(t) for t in (0, 99, 100, 5000)] == [0.5, 0.5, 1.0, 1.0]
    assert ConstantReplacement(0.7).rate(10**6) == 0.7


def test_linear_curriculum():
    s = LinearReplacement(base=0.3, slope=0.0006)
    assert s.rate(0) == pytest.approx(0.3)
    assert s.rate(1000) == pytest.approx(0.9)
    assert s.rate(1167) == pytest.approx(1.0, abs=1e-3)
    assert s.rate(5000) == 1.0


def test_callable_is_validated_at_each_step():
    s = CallableReplacement(lambda t: 0.5 if t < 3 else 1.5)
    assert s.rate(2) == 0.5
    with pytest.raises(ValueError, match=r"replacement rate 1.5 at step 3"):
        s.rate(3)
    with pytest.raises(TypeError, match="callable"):
        CallableReplacement(0.5)


@pytest.mark.parametrize("schedule", [ConstantReplacement(0.4, 10), LinearReplacement(0.2, 0.01)])
def test_serialization_round_trip(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    assert [restored.rate(t) for t in range(0, 200, 7)] == [schedule.rate(t) for t in range(0, 200, 7)]


def test_get():
    assert schedules.get(0.3).rate(5) == 0.3
    linear = LinearReplacement()
    assert schedules.get(linear) is linear
    assert schedules.get(keras.saving.serialize_keras_object(linear)).get_config() == linear.get_config()
    assert schedules.get(lambda t: 1.0).rate(0) == 1.0
    with pytest.raises(ValueError, match="replacement schedule"):
        schedules.get("half")


@pytest.mark.parametrize("kwargs, match", [
    (dict(rate=0.0), "rate"), (dict(rate=1.2), "rate"), (dict(rate=True), "rate"),
    (dict(rate=0.5, replace_all_after=-1), "replace_all_after"),
])
def test_constant_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConstantReplacement(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(base=0.0), "base"), (dict(base=2.0), "base"), (dict(slope=-0.1), "slope"),
])
def test_linear_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinearReplacement(**kwargs)


def test_rate_rejects_bad_step():
    with pytest.raises(ValueError, match="step"):
        ConstantReplacement(0.5).rate(-1)


def test_numpy_scalars_accepted_nan_and_strings_rejected():
    import numpy as np

    assert ConstantReplacement(np.float32(0.5), replace_all_after=np.int64(3)).rate(3) == 1.0
    assert LinearReplacement(np.float64(0.2), np.float32(0.1)).rate(np.int64(2)) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="slope"):
        LinearReplacement(0.3, float("nan"))
    with pytest.raises(ValueError, match="rate"):
        ConstantReplacement("0.5")
    with pytest.raises(ValueError, match="ReplacementSchedule"):
        schedules.get(keras.saving.serialize_keras_object(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)))


def test_traced_schedules_match_python():
    import tensorflow as tf

    for s in (ConstantReplacement(0.4, replace_all_after=5), LinearReplacement(0.3, 0.05),
              ConstantReplacement(0.6)):
        assert s.traceable
        traced = tf.function(lambda step, s=s: s(step))
        for t in range(0, 30, 3):
            assert float(traced(tf.constant(t, "float32"))) == pytest.approx(s.rate(t))
    assert not CallableReplacement(lambda t: 0.5).traceable
