"""DynaBERT: masks, conversion, importance/rewiring, extraction, callbacks, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from bert_fixtures import toy_batch

from keras_theseus import models
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.dynabert import DynaBertTrainer
from keras_theseus.dynabert import MaskableTransformerEncoder
from keras_theseus.callbacks import SubnetworkEvaluator
from keras_theseus.callbacks import SubnetworkSampler
from keras_theseus.dynabert import compute_importance
from keras_theseus.dynabert import copy_encoder_weights
from keras_theseus.dynabert import depth_layers
from keras_theseus.dynabert import extract_subnetwork
from keras_theseus.dynabert import frozen_copy
from keras_theseus.dynabert import rewire
from keras_theseus.dynabert import train_dynabert
from keras_theseus.dynabert import width_sizes
from keras_theseus.dynabert.multipliers import check_multipliers

VOCAB = 60


def tiny_classifier(num_layers=4, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=VOCAB, num_layers=num_layers, num_heads=4, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=12, dropout=0.0)
    return models.build_text_classifier(backbone, 2, dropout=0.0)


def tiny_dynabert(seed=0):
    return DynaBertClassifier.from_classifier(tiny_classifier(seed=seed))


def batch(n=16, seed=0):
    return toy_batch(n=n, length=10, seed=seed, vocabulary_size=VOCAB)


def dataset(n=32, batch_size=8, seed=0):
    x, y = batch(n, seed)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True)


# --- multipliers -------------------------------------------------------------

def test_width_and_depth_rules():
    assert width_sizes(12, 1536, 1.0) == (12, 1536)
    assert width_sizes(12, 1536, 0.75) == (9, 1152)
    assert width_sizes(12, 1536, 0.25) == (3, 384)
    assert depth_layers(12, 0.75) == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    assert depth_layers(12, 0.5) == [0, 2, 4, 6, 8, 10]
    assert depth_layers(6, 0.5) == [0, 2, 4]
    assert depth_layers(6, 1.0) == list(range(6))


@pytest.mark.parametrize("call,message", [
    (lambda: width_sizes(4, 32, 0.1), "keeps round.*= 0 of 4 attention heads"),
    (lambda: width_sizes(4, 32, 0.0), "`width` must be a number in \\(0, 1\\]"),
    (lambda: depth_layers(6, 1.5), "`depth` must be a number in \\(0, 1\\]"),
    (lambda: depth_layers(6, "half"), "`depth` must be a number"),
    (lambda: check_multipliers("widths", [1.0, 1.0]), "repeated"),
    (lambda: check_multipliers("widths", []), "at least one"),
])
def test_bad_multipliers_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- masks and conversion ----------------------------------------------------

def test_conversion_round_trip_is_exact():
    classifier = tiny_classifier()
    x, _ = batch()
    model = DynaBertClassifier.from_classifier(classifier)
    expected = classifier.predict_on_batch(x)
    np.testing.assert_allclose(model.predict_on_batch(x), expected, atol=1e-5)
    back = model.to_text_classifier()
    np.testing.assert_allclose(back.predict_on_batch(x), expected, atol=1e-5)
    for a, b in zip(classifier.backbone.weights, back.backbone.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_masking_heads_and_neurons_equals_slicing_them_out():
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(0).normal(size=(3, 7, 16)).astype("float32")
    pad = np.ones((3, 7), "int32")
    pad[0, -2:] = 0
    full = MaskableTransformerEncoder(32, 4, dropout=0.0)
    full.build((None, None, 16))
    full.head_mask.assign([1.0, 0.0, 1.0, 1.0])
    neurons = np.r_[0:10, 20:32]
    mask = np.zeros(32, "float32")
    mask[neurons] = 1
    full.neuron_mask.assign(mask)
    sliced = MaskableTransformerEncoder(len(neurons), 3, key_dim=4, use_masks=False,
                                        dropout=0.0)
    sliced.build((None, None, 16))
    copy_encoder_weights(full, sliced, heads=[0, 2, 3], neurons=neurons)
    np.testing.assert_allclose(full(x, padding_mask=pad), sliced(x, padding_mask=pad),
                               atol=1e-5)
    # Explicit masks override the variables.
    ones = full(x, padding_mask=pad, head_mask=tf.ones(4), neuron_mask=tf.ones(32))
    assert not np.allclose(ones, sliced(x, padding_mask=pad), atol=1e-3)


def test_sliced_subnetwork_equals_prefix_masks_with_the_same_gradients():
    # `forward` computes a width sub-network on sliced kernels; masks that keep
    # the same first heads and neurons are the reference, values and gradients.
    model = tiny_dynabert()
    x, y = batch()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for width, depth in [(1.0, 1.0), (0.75, 1.0), (0.5, 0.5), (0.25, 0.75)]:
        heads, neurons = width_sizes(4, 32, width)
        layers = depth_layers(4, depth)
        head = tf.constant([1.0] * heads + [0.0] * (4 - heads))
        neuron = tf.constant([1.0] * neurons + [0.0] * (32 - neurons))
        with tf.GradientTape(persistent=True) as tape:
            sliced, hidden = model.forward(x, width, depth, return_hidden=True)
            masked, masked_hidden = model.run_layers(
                x, layers, [head] * len(layers), [neuron] * len(layers), return_hidden=True)
            losses = loss_fn(y, sliced), loss_fn(y, masked)
        np.testing.assert_allclose(sliced, masked, atol=1e-5)
        for a, b in zip(hidden, masked_hidden):
            np.testing.assert_allclose(a, b, atol=1e-5)
        variables = model.trainable_variables
        for v, g, ref in zip(variables, tape.gradient(losses[0], variables),
                             tape.gradient(losses[1], variables)):
            if ref is None:  # a layer the depth drops
                assert g is None, v.path
                continue
            np.testing.assert_allclose(tf.convert_to_tensor(g), tf.convert_to_tensor(ref),
                                       atol=1e-6, err_msg=v.path)
    layer = model.encoder_layers[0]
    h = model.embed(x)
    with pytest.raises(ValueError, match="not both"):
        layer(h, padding_mask=x["padding_mask"], head_mask=head, active_heads=2)
    with pytest.raises(ValueError, match=r"`active_heads` must be an int in \[1, 4\]"):
        layer(h, padding_mask=x["padding_mask"], active_heads=5)
    with pytest.raises(ValueError, match=r"`active_neurons` must be an int in \[1, 32\]"):
        layer(h, padding_mask=x["padding_mask"], active_neurons=0)


def test_keras_round_trip_keeps_masks(tmp_path):
    model = tiny_dynabert()
    model.set_subnetwork(width=0.5, depth=0.5)
    x, _ = batch()
    expected = model.predict_on_batch(x)
    path = str(tmp_path / "dynabert.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.active_subnetwork() == ([2] * 4, [16] * 4, [0, 2])
    np.testing.assert_allclose(loaded.predict_on_batch(x), expected, atol=1e-6)


def test_set_subnetwork_equals_forward_with_constant_masks():
    model = tiny_dynabert()
    x, _ = batch()
    full = model.forward(x)
    for width, depth in [(0.75, 1.0), (0.5, 0.75), (0.25, 0.5)]:
        model.set_subnetwork(width, depth)
        np.testing.assert_allclose(model(x), model.forward(x, width, depth), atol=1e-5)
    # `forward` ignores the mask variables: the selected sub-network does not leak in.
    np.testing.assert_allclose(model.forward(x, 1.0, 1.0), full, atol=1e-6)
    assert frozen_copy(model).active_subnetwork()[2] == [0, 1, 2, 3]


# --- importance and rewiring -------------------------------------------------

def test_rewiring_keeps_outputs_and_sorts_importance():
    model = tiny_dynabert()
    x, _ = batch()
    before = model.predict_on_batch(x)
    data = dataset()
    heads, neurons = compute_importance(model, data)
    assert heads.shape == (4, 4) and neurons.shape == (4, 32)
    assert (heads >= 0).all() and (neurons >= 0).all() and heads.sum() > 0
    head_order, neuron_order = rewire(model, heads, neurons)
    np.testing.assert_allclose(model.predict_on_batch(x), before, atol=1e-5)
    # Importance moves with its head: re-scoring gives the sorted scores.
    heads2, neurons2 = compute_importance(model, data)
    np.testing.assert_allclose(heads2, np.take_along_axis(heads, head_order, 1), rtol=1e-3,
                               atol=1e-6)
    assert (np.diff(heads2, axis=1) <= 1e-6).all()
    np.testing.assert_allclose(neurons2, np.take_along_axis(neurons, neuron_order, 1),
                               rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="Importance shapes must be"):
        rewire(model, heads[:2], neurons)


def test_importance_scores_the_full_network_whatever_the_masks():
    model = tiny_dynabert()
    full = compute_importance(model, dataset(), max_batches=2)[0]
    model.set_subnetwork(0.25, 0.5)
    np.testing.assert_allclose(compute_importance(model, dataset(), max_batches=2)[0], full,
                               rtol=1e-5)


# --- extraction --------------------------------------------------------------

@pytest.mark.parametrize("width,depth", [(1.0, 1.0), (0.75, 0.75), (0.5, 1.0), (0.25, 0.5)])
def test_extracted_subnetwork_is_a_keras_hub_model_equal_to_the_masked_one(width, depth):
    import keras_hub

    model = tiny_dynabert()
    x, _ = batch()
    small = extract_subnetwork(model, width, depth)
    assert isinstance(small, keras_hub.models.BertTextClassifier)
    backbone = small.backbone
    heads, neurons = width_sizes(4, 32, width)
    assert (backbone.num_heads, backbone.intermediate_dim, backbone.head_size) == (
        heads, neurons, 4)
    assert backbone.num_layers == len(depth_layers(4, depth))
    model.set_subnetwork(width, depth)
    np.testing.assert_allclose(small.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5)
    if (width, depth) != (1.0, 1.0):
        assert small.count_params() < model.count_params()


def test_extracted_model_saves_loads_and_converts_back(tmp_path):
    model = tiny_dynabert()
    small = extract_subnetwork(model, 0.5, 0.5)
    path = str(tmp_path / "small.keras")
    small.save(path)
    x, _ = batch()
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict_on_batch(x), small.predict_on_batch(x), atol=1e-6)
    # A narrower student can become a DynaBERT model again (its head size kept).
    again = DynaBertClassifier.from_classifier(loaded)
    assert (again.num_heads, again.key_dim) == (2, 4)
    np.testing.assert_allclose(again.predict_on_batch(x), small.predict_on_batch(x), atol=1e-5)


def test_extraction_arguments():
    model = tiny_dynabert()
    with pytest.warns(DeprecationWarning, match="as_keras_hub"):
        extract_subnetwork(model, 1.0, 0.5, as_keras_hub=True)
    with pytest.raises(TypeError, match="DynaBertClassifier"):
        extract_subnetwork(tiny_classifier(), 0.5)


# --- callbacks and compiled steps --------------------------------------------

def _ce(model, x, y, width, depth):
    logits = model.forward(x, width, depth)
    return float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))


def test_width_changes_inside_the_compiled_step_without_retracing():
    model = tiny_dynabert()
    traces = []
    embed = model.embed
    # Count graph traces only (the eager reference forward also calls embed).
    model.embed = lambda *a, **k: (traces.append(tf.executing_eagerly()), embed(*a, **k))[1]
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = batch()
    for width, depth in [(1.0, 1.0), (0.5, 1.0), (0.25, 0.5), (0.75, 0.75)]:
        model.set_subnetwork(width, depth)
        loss = model.train_on_batch(x, y)
        assert loss == pytest.approx(_ce(model, x, y, width, depth), rel=1e-4)
    assert traces.count(False) == 1  # one trace, four widths


def test_sampler_cycles_through_subnetworks_during_fit():
    model = tiny_dynabert()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    sampler = SubnetworkSampler([1.0, 0.5], [1.0, 0.5])
    model.fit(dataset(n=48), epochs=1, verbose=0, callbacks=[sampler])
    assert sampler.history[:4] == [(1.0, 1.0), (0.5, 1.0), (1.0, 0.5), (0.5, 0.5)]
    assert model.active_subnetwork()[2] == [0, 1, 2, 3]  # full network after the epoch
    with pytest.raises(ValueError, match="`mode` must be"):
        SubnetworkSampler(mode="sandwich")


# --- training ----------------------------------------------------------------

def test_trainer_accumulates_every_subnetwork_into_one_clipped_step():
    teacher = tiny_dynabert(seed=1)
    student = tiny_dynabert(seed=2)
    x, y = batch()
    trainer = DynaBertTrainer(student, frozen_copy(teacher), widths=[1.0, 0.5],
                              depths=[1.0, 0.5], hidden_weight=0.5, clip_norm=None)
    trainer.compile(optimizer=keras.optimizers.SGD(1.0))
    assert trainer.configurations == [(1.0, 1.0), (0.5, 1.0), (1.0, 0.5), (0.5, 0.5)]
    before = [np.asarray(v) for v in student.trainable_variables]
    # Expected update: minus the sum of the four sub-networks' gradients.
    grads = None
    for width, depth in trainer.configurations:
        with tf.GradientTape() as tape:
            loss, _ = trainer._subnetwork_loss(
                x, y, width, depth, *teacher.run_layers(x, return_hidden=True))
        g = tape.gradient(loss, student.trainable_variables)
        g = [tf.zeros_like(v) if t is None else tf.convert_to_tensor(t)
             for v, t in zip(student.trainable_variables, g)]
        grads = g if grads is None else [a + b for a, b in zip(grads, g)]
    trainer.train_on_batch(x, y)
    for b, v, g in zip(before, student.trainable_variables, grads):
        np.testing.assert_allclose(np.asarray(v), b - np.asarray(g), atol=1e-5)
    # With clipping, the applied update has the clip norm.
    clipped = DynaBertTrainer(student, frozen_copy(teacher), widths=[1.0, 0.5], clip_norm=1e-3)
    clipped.compile(optimizer=keras.optimizers.SGD(1.0))
    before = [np.asarray(v) for v in student.trainable_variables]
    clipped.train_on_batch(x, y)
    delta = np.sqrt(sum(((np.asarray(v) - b) ** 2).sum()
                        for b, v in zip(before, student.trainable_variables)))
    assert delta == pytest.approx(1e-3, rel=1e-3)


def test_trainer_validates_its_arguments():
    student = tiny_dynabert()
    with pytest.raises(ValueError, match="keeps round.*= 0 of 4"):
        DynaBertTrainer(student, widths=[1.0, 0.1])
    with pytest.raises(ValueError, match="`depths` must be a number in"):
        DynaBertTrainer(student, depths=[1.5])
    with pytest.raises(ValueError, match="same depth"):
        DynaBertTrainer(student, DynaBertClassifier.from_classifier(tiny_classifier(2)))
    with pytest.raises(ValueError, match="`label_weight` must be > 0"):
        DynaBertTrainer(student, None, label_weight=0.0)
    with pytest.raises(TypeError, match="DynaBertClassifier"):
        DynaBertTrainer(tiny_classifier())
    trainer = DynaBertTrainer(student, tiny_classifier(seed=3))  # keras-hub teacher converted
    assert isinstance(trainer.teacher, DynaBertClassifier) and not trainer.teacher.trainable
    with pytest.raises(ValueError, match="do not pass `loss`"):
        trainer.compile(optimizer="adam", loss="mse")


def test_callback_configs_round_trip():
    sampler = SubnetworkSampler([1.0, 0.5], [1.0, 0.5], mode="random", seed=3)
    again = SubnetworkSampler.from_config(sampler.get_config())
    assert again.configurations == sampler.configurations and again.seed == 3
    evaluator = SubnetworkEvaluator(dataset(n=8), widths=[1.0, 0.5], depths=[0.5], every=2)
    config = evaluator.get_config()
    assert config == {"widths": [1.0, 0.5], "depths": [0.5], "every": 2}
    with pytest.raises(ValueError, match="validation_data"):
        SubnetworkEvaluator.from_config(config)
    dev = dataset(n=8)
    again = SubnetworkEvaluator.from_config({**config, "validation_data": dev})
    assert (again.widths, again.depths, again.every, again.validation_data) == (
        [1.0, 0.5], [0.5], 2, dev)


def test_train_dynabert_end_to_end_with_evaluator():
    teacher = tiny_classifier()
    train, dev = dataset(n=64), dataset(n=32, seed=1)
    evaluator = SubnetworkEvaluator(dev, widths=[1.0, 0.5], depths=[1.0, 0.5])
    result = train_dynabert(teacher, train, dev, widths=[1.0, 0.5], depths=[1.0, 0.5],
                            learning_rate=1e-3, jit_compile=False, callbacks=[evaluator],
                            verbose=0)
    logs = result.depth_history.history
    for key in ("loss", "accuracy", "val_accuracy", "val_accuracy_w0.5_d0.5",
                "val_accuracy_w1_d1"):
        assert key in logs, sorted(logs)
    assert result.width_history is not None
    assert result.model.active_subnetwork()[2] == [0, 1, 2, 3]
    x, _ = batch()
    small = extract_subnetwork(result.model, 0.5, 0.5)
    np.testing.assert_allclose(small.predict_on_batch(x), result.model.forward(x, 0.5, 0.5),
                               atol=1e-5)


def test_saved_trainer_loads_compiled_with_its_optimizer_state(tmp_path):
    trainer = DynaBertTrainer(tiny_dynabert(seed=2), frozen_copy(tiny_dynabert(seed=1)),
                              widths=[1.0, 0.5])
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    trainer.fit(dataset(), epochs=1, verbose=0)   # 4 steps
    path = str(tmp_path / "trainer.keras")
    trainer.save(path)
    # Keras skips a custom compile() on load (warning) unless the model recompiles itself.
    loaded = keras.saving.load_model(path)
    # The loaded teacher is frozen (its variables are not the trainer's).
    assert len(loaded.trainable_variables) == len(trainer.trainable_variables) == \
        len(loaded.student.trainable_variables)
    assert loaded.compiled and int(loaded.optimizer.iterations) == 4
    for saved, restored in zip(trainer.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(restored), np.asarray(saved))
    loaded.fit(dataset(), epochs=1, verbose=0)
    assert int(loaded.optimizer.iterations) == 8


def test_frozen_copy_of_a_loaded_frozen_model_has_no_trainable_variables(tmp_path):
    path = str(tmp_path / "frozen.keras")
    frozen_copy(tiny_dynabert()).save(path)
    copy = frozen_copy(keras.saving.load_model(path))
    assert not any(v.trainable for v in copy.weights)
