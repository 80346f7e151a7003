"""Students written as keras-hub presets, read back by keras-hub's `from_preset`."""

import os

import keras
import keras_hub
import numpy as np
import pytest

from keras_theseus import models
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.dynabert import extract_subnetwork
from keras_theseus.export import save_keras_hub_preset

SENTENCES = ["the movie was very good !", "i hated the plot", "not boring . loved it"]


@pytest.fixture(scope="module")
def preprocessor(tiny_checkpoint):
    return models.load_preprocessor(tiny_checkpoint, sequence_length=16)


@pytest.fixture(scope="module")
def student(tiny_checkpoint):
    keras.utils.set_random_seed(2)
    teacher = models.build_text_classifier(
        models.load_backbone(tiny_checkpoint, dropout=0.0), 2, dropout=0.0)
    # A narrow DynaBERT student: key_dim and FFN differ from keras-hub's defaults.
    return extract_subnetwork(DynaBertClassifier.from_classifier(teacher), 0.5, 1.0)


def test_preset_round_trip(student, preprocessor, tmp_path):
    path = save_keras_hub_preset(student, str(tmp_path / "preset"), preprocessor)
    expected = student.predict(preprocessor(SENTENCES), verbose=0)

    loaded = keras_hub.models.BertTextClassifier.from_preset(path)
    assert isinstance(loaded, models.ExactGeluBertTextClassifier)
    assert loaded.backbone.key_dim == student.backbone.key_dim
    # keras-hub's own task: text in, logits out, with the saved preprocessor.
    np.testing.assert_allclose(loaded.predict(SENTENCES, verbose=0), expected, atol=1e-5)
    # The generic entry points find it too.
    text_classifier = keras_hub.models.TextClassifier.from_preset(path)
    np.testing.assert_allclose(text_classifier.predict(SENTENCES, verbose=0), expected,
                               atol=1e-5)
    # Our loaders read the same directory.
    backbone = models.load_backbone(path)
    assert isinstance(backbone, models.ExactGeluBertBackbone)
    np.testing.assert_allclose(
        backbone.predict(preprocessor(SENTENCES), verbose=0)["pooled_output"],
        student.backbone.predict(preprocessor(SENTENCES), verbose=0)["pooled_output"],
        atol=1e-5)
    ours = models.load_preprocessor(path, sequence_length=16)(SENTENCES)
    np.testing.assert_array_equal(ours["token_ids"], preprocessor(SENTENCES)["token_ids"])


def test_backbone_preset(student, preprocessor, tmp_path):
    path = save_keras_hub_preset(student.backbone, str(tmp_path / "backbone"), preprocessor)
    backbone = keras_hub.models.Backbone.from_preset(path)
    assert type(backbone) is models.ExactGeluBertBackbone
    tokenizer = keras_hub.models.BertTokenizer.from_preset(path)
    assert tokenizer.get_vocabulary() == preprocessor.tokenizer.get_vocabulary()
    loaded = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
        path, sequence_length=16)
    np.testing.assert_array_equal(loaded(SENTENCES)["token_ids"],
                                  preprocessor(SENTENCES)["token_ids"])


def test_preset_refuses_overwrite_and_bad_input(student, preprocessor, tmp_path):
    path = tmp_path / "preset"
    path.mkdir()
    (path / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_keras_hub_preset(student, str(path), preprocessor)
    assert os.listdir(path) == ["mine.txt"]
    save_keras_hub_preset(student, str(path), preprocessor, overwrite=True)
    assert "mine.txt" not in os.listdir(path) and "task.json" in os.listdir(path)
    with pytest.raises(TypeError, match="BertTextClassifier or BertBackbone"):
        save_keras_hub_preset(keras.Sequential([keras.layers.Dense(1)]), str(tmp_path / "x"))
    with pytest.raises(TypeError, match="BertTextClassifierPreprocessor"):
        save_keras_hub_preset(student, str(tmp_path / "y"), preprocessor="vocab.txt")


def test_loaders_name_what_a_preset_lacks(student, preprocessor, tmp_path):
    path = save_keras_hub_preset(student.backbone, str(tmp_path / "backbone"), preprocessor)
    with pytest.raises(ValueError, match="is a keras-hub preset"):
        models.load_hf_config(path)
    os.remove(os.path.join(path, "model.weights.h5"))
    with pytest.raises(FileNotFoundError, match="keras-hub BERT preset needs config.json, "
                                                "model.weights.h5"):
        models.load_backbone(path)
