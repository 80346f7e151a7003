import keras
import keras_hub
import numpy as np
import pytest
from theseus_fixtures import compile_theseus
from theseus_fixtures import toy_batch

from keras_theseus import models
from keras_theseus.callbacks import ReplacementScheduler
from keras_theseus.theseus import TheseusClassifier
from keras_theseus.theseus import extract_successor


def test_extracted_successor_equals_theseus_inference(predecessor, tmp_path):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=0))
    x, y = toy_batch(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[ReplacementScheduler(0.8)])
    successor = extract_successor(model)
    assert isinstance(successor, keras_hub.models.BertTextClassifier)
    assert successor.backbone.num_layers == 2
    assert isinstance(successor.backbone, models.ExactGeluBertBackbone)
    np.testing.assert_allclose(successor.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    assert successor.count_params() < predecessor.count_params()
    path = str(tmp_path / "successor.keras")
    successor.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-5)


def test_plain_keras_hub_backbone(predecessor, tmp_path):
    model = TheseusClassifier.from_predecessor(predecessor, 2)
    plain = extract_successor(model, backbone_class=keras_hub.models.BertBackbone)
    assert type(plain.backbone) is keras_hub.models.BertBackbone
    config = plain.backbone.get_config()
    assert "hidden_activation" not in config
    x, _ = toy_batch(4)
    # Only the GELU approximation differs.
    np.testing.assert_allclose(plain.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=5e-2)
    with pytest.raises(TypeError, match="backbone_class"):
        extract_successor(model, backbone_class=dict)
    with pytest.raises(TypeError, match="TheseusClassifier"):
        extract_successor(predecessor)
