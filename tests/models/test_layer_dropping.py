import keras
import keras_hub
import numpy as np
import pytest

from keras_theseus import models


@pytest.fixture(scope="module")
def teacher():
    keras.utils.set_random_seed(0)
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=40, num_layers=4, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=10, dropout=0.0)
    return models.build_text_classifier(backbone, 3, dropout=0.0)


def _x():
    rng = np.random.default_rng(0)
    return {"token_ids": rng.integers(0, 40, (3, 6)).astype("int32"),
            "segment_ids": np.zeros((3, 6), "int32"),
            "padding_mask": np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 6], "int32")}


def test_keeping_every_layer_reproduces_the_teacher(teacher):
    same = models.drop_layers(teacher, [0, 1, 2, 3])
    np.testing.assert_allclose(same.predict(_x(), verbose=0), teacher.predict(_x(), verbose=0),
                               atol=1e-5)


def test_kept_layers_run_in_order(teacher):
    student = models.drop_layers(teacher, [0, 2])
    assert isinstance(student, keras_hub.models.BertTextClassifier)
    assert student.backbone.num_layers == 2
    x = _x()
    features = models.build_feature_extractor(teacher)(x)
    # Layer 2 of the teacher applied to the output of its layer 0, then head.
    b = teacher.backbone
    h = b.transformer_layers[2](features["hidden_states"][1], padding_mask=x["padding_mask"])
    logits = teacher.output_dense(b.get_layer("pooled_dense")(h[:, 0]))
    np.testing.assert_allclose(student.predict(x, verbose=0), logits, atol=1e-5)
    # Nothing is shared with the teacher.
    student.backbone.transformer_layers[0].trainable_weights[0].assign_add(1.0)
    assert not np.allclose(student.backbone.transformer_layers[0].get_weights()[0],
                           b.transformer_layers[0].get_weights()[0])


def test_bad_layers(teacher):
    with pytest.raises(ValueError, match="distinct layer indices"):
        models.drop_layers(teacher, [0, 0])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        models.drop_layers(teacher, [5])
    with pytest.raises(ValueError, match="distinct"):
        models.drop_layers(teacher, [])
    with pytest.raises(TypeError, match="BertTextClassifier"):
        models.drop_layers(teacher.backbone, [0])
    with pytest.raises(TypeError, match="backbone_class"):
        models.drop_layers(teacher, [0], backbone_class=int)


def test_students_of_a_frozen_teacher_are_trainable():
    # A Distiller freezes its teacher; students cut from it must still train.
    from keras_theseus import models as kt_models
    backbone = kt_models.ExactGeluBertBackbone(
        vocabulary_size=40, num_layers=3, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=10)
    teacher = kt_models.build_text_classifier(backbone, 2)
    teacher.trainable = False
    student = kt_models.drop_layers(teacher, [0, 2])
    assert student.trainable and student.backbone.trainable
    assert len(student.trainable_weights) == len(student.weights)
