import keras
import numpy as np
import pytest
import tensorflow as tf
from distill_fixtures import tiny_classifier
from distill_fixtures import toy_batch

from keras_theseus import distill


def test_select_layers_strategies():
    assert distill.select_layers(12, 6, "spread") == [0, 2, 4, 7, 9, 11]  # DistilBERT
    assert distill.select_layers(6, 3, "first") == [0, 1, 2]
    assert distill.select_layers(6, 3, "last") == [3, 4, 5]
    assert distill.select_layers(6, 3, "every_other") == [0, 2, 4]
    assert distill.select_layers(6, 3, "spread") == [0, 2, 5]
    assert distill.select_layers(6, 1, "spread") == [5]
    assert distill.select_layers(6, 2, [5, 1]) == [5, 1]


@pytest.mark.parametrize("args,match", [
    ((6, 0, "first"), "num_keep"),
    ((6, 7, "first"), "num_keep"),
    ((6, 4, "every_other"), "every_other"),
    ((6, 2, [1, 1]), "distinct"),
    ((6, 2, [1, 6]), "distinct"),
    ((6, 2, "best"), "strategy"),
])
def test_select_layers_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        distill.select_layers(*args)


def test_layer_dropped_student_copies_the_chosen_layers():
    teacher = tiny_classifier(4, seed=0)
    student = distill.layer_dropped_student(teacher, 2, "spread")   # layers 0 and 3
    assert student.backbone.num_layers == 2
    for s, t in zip(student.backbone.transformer_layers, [0, 3]):
        for a, b in zip(s.get_weights(), teacher.backbone.transformer_layers[t].get_weights()):
            np.testing.assert_array_equal(a, b)
    assert type(student).__name__ == "BertTextClassifier"


def test_candidate_subsets_all_or_capped():
    assert len(distill.candidate_subsets(6, 3)) == 20
    capped = distill.candidate_subsets(12, 6, max_candidates=10, seed=1)
    assert len(capped) == 10 and capped[0] == [0, 2, 4, 7, 9, 11]
    assert capped == distill.candidate_subsets(12, 6, max_candidates=10, seed=1)
    assert len({tuple(c) for c in capped}) == 10


def test_search_ranks_subsets_after_a_short_distillation():
    teacher = tiny_classifier(4, seed=0)
    x, y = toy_batch(64, seed=1)
    teacher.compile(optimizer=keras.optimizers.Adam(1e-2),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    teacher.fit(x, y, epochs=20, batch_size=32, verbose=0)
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16, drop_remainder=True)
    dev = tf.data.Dataset.from_tensor_slices(toy_batch(32, seed=2)).batch(16)
    table = distill.search_layer_subsets(teacher, train, dev, num_keep=2, steps=5, learning_rate=1e-2,
                                         jit_compile=False, verbose=0,
                                         candidates=[[0, 1], [2, 3], [0, 3]])
    assert list(table.columns) == ["layers", "accuracy", "teacher_kl", "zero_shot_accuracy",
                                   "zero_shot_kl", "seconds", "rank"]
    assert sorted(map(tuple, table["layers"])) == [(0, 1), (0, 3), (2, 3)]
    assert list(table["rank"]) == [1, 2, 3]
    assert (np.diff(table["accuracy"]) <= 0).all()
    assert (table["teacher_kl"] >= 0).all()
    # The short distillation moved the students toward the teacher.
    assert (table["teacher_kl"] < table["zero_shot_kl"]).mean() >= 2 / 3
    with pytest.raises(ValueError, match="steps"):
        distill.search_layer_subsets(teacher, train, dev, num_keep=2, steps=-1)
