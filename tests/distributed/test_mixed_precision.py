import keras
import numpy as np
import pytest
from bert_fixtures import toy_batch

from keras_theseus import distill
from keras_theseus import models
from keras_theseus.theseus import TheseusClassifier


def _classifier(layers, hidden, seed):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=layers, num_heads=2,
                                            hidden_dim=hidden, intermediate_dim=2 * hidden,
                                            max_sequence_length=12)
    return models.build_text_classifier(backbone, 2)


@pytest.fixture
def policy(request):
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
def test_distiller_trains_under_mixed_precision(policy):
    teacher, student = _classifier(2, 16, 0), _classifier(1, 8, 1)
    assert student.backbone.compute_dtype != "float32"
    d = distill.Distiller(teacher, student, kd_weight=1.0, label_weight=1.0,
                          hidden_mse_weight=1.0, cosine_weight=1.0)
    d.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    if policy == "mixed_float16":
        assert isinstance(d.optimizer, keras.optimizers.LossScaleOptimizer)
    x, y = toy_batch(32)
    history = d.fit(x, y, batch_size=16, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert all(w.dtype == "float32" for w in student.weights)   # variables stay float32


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_theseus_trains_under_mixed_precision(policy):
    model = TheseusClassifier.from_predecessor(_classifier(2, 16, 0), 1, replacement_rate=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = toy_batch(32)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
