"""measure_student_records: one interleaved timing, one record per student."""

import keras
import pytest

from keras_theseus import models
from keras_theseus.reporting import measure_student_records
from keras_theseus.timing import count_params

DEVICE_FREE = {"experiment": "x", "dataset": "toy", "teacher_name": "tiny",
               "teacher_metric": 0.8}


def _classifier(num_layers, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=num_layers,
                                            num_heads=2, hidden_dim=16, intermediate_dim=32,
                                            max_sequence_length=12, dropout=0.0)
    return models.build_text_classifier(backbone, 2, dropout=0.0)


def test_records_carry_params_latency_speedup_and_the_given_fields():
    teacher, small, smaller = _classifier(4), _classifier(2), _classifier(1)
    records = measure_student_records(
        teacher, {"two": {"model": small, "metric": 0.76, "config": {"layers": 2},
                          "notes": "n", "extra": {"dev": 0.7}, "train_step_ratio": 0.5},
                  "one": {"model": smaller, "metric": 0.72}},
        sequence_length=128, repeats=2, warmup=1, **DEVICE_FREE)
    two, one = records
    assert [r["method"] for r in records] == ["two", "one"]
    assert two["latency_ms_teacher"] == one["latency_ms_teacher"] > 0  # one timing
    assert two["sequence_length"] == 12        # capped at the teacher's maximum
    assert (two["teacher_params"], two["student_params"], one["student_params"]) == (
        count_params(teacher), count_params(small), count_params(smaller))
    assert two["speedup"] == pytest.approx(two["latency_ms_teacher"] / two["latency_ms_student"])
    assert two["retention"] == pytest.approx(0.95)
    assert (two["student_config"], two["notes"], two["extra"], two["train_step_ratio"]) == (
        {"layers": 2}, "n", {"dev": 0.7}, 0.5)
    assert (one["metric"], one["split"], one["batch_size"]) == ("test_accuracy", "test", 32)


@pytest.mark.parametrize("students,message", [
    ({}, "at least one student"),
    ({"a": {"metric": 0.5}}, r"students\['a'\]` must be a dict with `model` and `metric`"),
    ({"a": {"model": None, "metric": 0.5, "acc": 1}}, r"unknown key\(s\) \['acc'\]"),
    ({"teacher": {"model": None, "metric": 0.5}}, "may not use the name 'teacher'"),
])
def test_bad_students_are_refused_by_name(students, message):
    with pytest.raises(ValueError, match=message):
        measure_student_records(None, students, **DEVICE_FREE)
