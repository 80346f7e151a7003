import keras
import numpy as np
import pytest
import tensorflow as tf
from bert_fixtures import toy_batch
from keras.src.backend.tensorflow import trainer as tf_trainer

from keras_theseus import models
from keras_theseus.distill import Distiller
from keras_theseus.distill import replica_share
from keras_theseus.distribute import STRATEGY_NAMES
from keras_theseus.distribute import check_built_in_scope
from keras_theseus.distribute import is_chief
from keras_theseus.distribute import replicate
from keras_theseus.distribute import resolve_strategy
from keras_theseus.distribute import unreplicated
from keras_theseus.distribute import variables_outside_scope
from keras_theseus.workflows import CompressionConfig


def _classifier(layers=2, hidden=16, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=layers, num_heads=2,
                                            hidden_dim=hidden, intermediate_dim=2 * hidden,
                                            max_sequence_length=12, dropout=0.0)
    return models.build_text_classifier(backbone, 2, dropout=0.0)


def test_names_instances_and_bad_values():
    assert STRATEGY_NAMES == ("mirrored", "multi_worker", "tpu")
    assert resolve_strategy(None) is None
    mirrored = resolve_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert resolve_strategy("mirrored") is mirrored  # one instance per name and process
    assert resolve_strategy(mirrored) is mirrored
    # Keras' fit gets the toolkit's fixes as soon as a strategy is met.
    assert tf_trainer.TensorFlowTrainer._maybe_symbolic_build._keras_theseus_patch
    assert is_chief(mirrored) and is_chief()
    with pytest.raises(ValueError, match=r"`strategy` must be one of \('mirrored', "):
        resolve_strategy("gpu")
    with pytest.raises(TypeError, match="`strategy` must be a tf.distribute.Strategy"):
        resolve_strategy(2)
    with pytest.raises(ValueError, match="`strategy` must be None or one of"):
        CompressionConfig(strategy="horovod").validate()


def test_replicate_and_unreplicate_keep_the_weights():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model = _classifier()
    assert variables_outside_scope(model, strategy)
    inside = replicate(model, strategy)
    assert inside is not model and not variables_outside_scope(inside, strategy)
    assert replicate(inside, strategy) is inside
    assert replicate(model, None) is model
    outside = unreplicated(inside)
    assert outside is not inside and not variables_outside_scope(
        outside, tf.distribute.get_strategy())
    assert unreplicated(model) is model
    x, _ = toy_batch(4, length=8)
    for copy in (inside, outside):
        for a, b in zip(model.get_weights(), copy.get_weights()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(copy(x), model(x), atol=1e-6)
    with strategy.scope(), pytest.raises(RuntimeError, match="outside any strategy scope"):
        unreplicated(inside)


def test_a_model_built_outside_the_scope_is_named_before_training():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    teacher = _classifier(4, 16)   # built before the scope
    with strategy.scope():
        student = _classifier(2, 16, seed=1)
        distiller = Distiller(teacher, student)
        distiller.compile(optimizer="sgd", jit_compile=False)
    x, y = toy_batch(8, length=8)
    with pytest.raises(ValueError, match=r"`teacher` \(.*\) was built outside the scope of "
                                         r"the MirroredStrategy it trains under"):
        distiller.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`student`"):
        check_built_in_scope(strategy, teacher=replicate(teacher, strategy),
                             student=_classifier())


def test_one_pass_per_epoch_under_a_strategy():
    # Keras' own build under a strategy read a first batch through an extra
    # pass over the dataset, so a reshuffling dataset gave every epoch
    # another order than on one device; with the element-spec build the
    # SGD result is the one-device result.
    x, y = toy_batch(64, length=8, seed=2)
    resolve_strategy("mirrored")   # installs the fixes

    def train(strategy):
        data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=3).batch(8)
        keras.utils.set_random_seed(0)
        with strategy.scope() if strategy else tf.init_scope():
            model = _classifier()
            model.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=False,
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(data, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(train(None), train(tf.distribute.MirroredStrategy(["/cpu:0"]))):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_replica_share_is_one_on_one_device():
    # No op is added: the factor is the Python float 1.0.
    assert replica_share(tf.ones((2, 3))) == 1.0
    assert replica_share(None) == 1.0
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert strategy.run(lambda: replica_share(tf.ones((2, 3)))) == 1.0
