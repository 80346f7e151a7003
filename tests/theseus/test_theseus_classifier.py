import keras
import numpy as np
import pytest
from theseus_fixtures import compile_theseus
from theseus_fixtures import tiny_classifier
from theseus_fixtures import toy_batch

from keras_theseus.callbacks import ReplacementScheduler
from keras_theseus.theseus import CallableReplacement
from keras_theseus.theseus import ConstantReplacement
from keras_theseus.theseus import LinearReplacement
from keras_theseus.theseus import TheseusClassifier
from keras_theseus.theseus import extract_successor
from keras_theseus.theseus import successor_source_layers


def test_successor_initialization_strategies():
    assert successor_source_layers(6, 3, "first") == [0, 1, 2]
    assert successor_source_layers(6, 3, "every_rth") == [0, 2, 4]
    assert successor_source_layers(6, 2, "last_of_module") == [2, 5]
    assert successor_source_layers(6, 2, [1, 4]) == [1, 4]
    assert successor_source_layers(6, 3, "random") is None


def test_successors_start_as_copies(predecessor):
    model = TheseusClassifier.from_predecessor(predecessor, 2, init="every_rth")
    for succ, index in zip(model.successor_layers, [0, 2]):
        for a, b in zip(succ.get_weights(), predecessor.backbone.transformer_layers[index].get_weights()):
            np.testing.assert_array_equal(a, b)
    # The predecessor is copied, not shared: it stays trainable.
    assert predecessor.backbone.transformer_layers[0].trainable
    assert model.backbone is not predecessor.backbone


def test_bad_arguments(predecessor):
    with pytest.raises(ValueError, match="must divide 4"):
        TheseusClassifier.from_predecessor(predecessor, 3)
    with pytest.raises(ValueError, match="num_successor_layers"):
        TheseusClassifier.from_predecessor(predecessor, 0)
    with pytest.raises(ValueError, match="init"):
        TheseusClassifier.from_predecessor(predecessor, 2, init="middle")
    with pytest.raises(ValueError, match="layer indices"):
        TheseusClassifier.from_predecessor(predecessor, 2, init=[0, 9])
    with pytest.raises(ValueError, match="replacement_rate"):
        TheseusClassifier.from_predecessor(predecessor, 2, replacement_rate=0.0)
    with pytest.raises(TypeError, match="BertTextClassifier"):
        TheseusClassifier.from_predecessor(predecessor.backbone, 2)


def test_only_the_drawn_branch_runs(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=3))
    x, y = toy_batch(32)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # 16 steps at p = 0.5
    counts = model.branch_counts.numpy()
    # One branch per module per step, never both ...
    np.testing.assert_array_equal(counts.sum(1), [16, 16])
    # ... and each branch is taken sometimes.
    assert (counts > 0).all()
    assert model.replacement_step.numpy() == 16


def test_only_successors_train(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=0,
                                                               replacement_rate=1.0))
    assert {w.path.split("/")[0] for w in model.trainable_weights} == {
        "successor_layer_0", "successor_layer_1"}
    frozen = [w.numpy().copy() for w in model.backbone.weights]
    head = [w.numpy().copy() for w in model.output_dense.weights]
    successor = [w.numpy().copy() for w in model.successor_layers[0].weights]
    x, y = toy_batch(32)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for before, w in zip(frozen, model.backbone.weights):
        np.testing.assert_array_equal(before, w.numpy())
    for before, w in zip(head, model.output_dense.weights):
        np.testing.assert_array_equal(before, w.numpy())
    assert any(np.abs(b - w.numpy()).max() > 0 for b, w in
               zip(successor, model.successor_layers[0].weights))


def test_train_embeddings_and_classifier_flags(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(
        predecessor, 2, train_embeddings=True, train_classifier=True, seed=0))
    names = {w.path.split("/")[0] for w in model.trainable_weights}
    assert {"token_embedding", "pooled_dense", "logits", "successor_layer_0"} <= names
    assert not any(n.startswith("transformer_layer") for n in names)
    layers = model.backbone.transformer_layers
    before = {"emb": model.backbone.get_layer("token_embedding").get_weights()[0].copy(),
              "head": model.output_dense.get_weights()[0].copy(),
              "pred": [w.copy() for w in layers[1].get_weights()]}
    x, y = toy_batch(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert not np.allclose(before["emb"], model.backbone.get_layer("token_embedding").get_weights()[0])
    assert not np.allclose(before["head"], model.output_dense.get_weights()[0])
    for b, w in zip(before["pred"], layers[1].get_weights()):
        np.testing.assert_array_equal(b, w)
    assert model.get_config()["train_embeddings"] is True


def test_dropout_follows_training_flag():
    model = TheseusClassifier.from_predecessor(tiny_classifier(dropout=0.3), 2,
                                               replacement_rate=1.0, seed=0)
    x, _ = toy_batch(8)
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False), atol=1e-4)


def test_step_without_successor_is_skipped_but_counted(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=0,
                                                               replacement_rate=1e-9))
    before = [w.numpy().copy() for w in model.trainable_weights]
    x, y = toy_batch(16)
    # p is tiny: every module draws its predecessor, nothing can learn.
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    # The step counts (for the schedule and the learning rate) ...
    assert int(model.replacement_step.numpy()) == 4
    assert int(model.optimizer.iterations.numpy()) == 4
    np.testing.assert_array_equal(model.branch_counts.numpy()[:, 1], [0, 0])
    # ... but no weight moved (AdamW would have applied decay).
    for b, w in zip(before, model.trainable_weights):
        np.testing.assert_array_equal(b, w.numpy())


def count_traces(model):
    """A list that grows by one each time `model.train_step` is traced."""
    traces = []
    original_train_step = model.train_step

    def counting_train_step(data):
        traces.append(1)  # Python runs only while tracing
        return original_train_step(data)

    model.train_step = counting_train_step
    return traces


def test_rate_reaches_the_compiled_step(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=1))
    x, y = toy_batch(16)
    rates = []
    traces = count_traces(model)

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rates.append(float(logs["replacement_rate"]))

    # Steps 0-3 at p ~ 0, steps 4-7 at p = 1, in one compiled function: a
    # Python callable, so the callback assigns the variable before each batch.
    schedule = lambda t: 1e-9 if t < 4 else 1.0  # noqa: E731
    model.fit(x, y, batch_size=4, epochs=2, verbose=0,
              callbacks=[ReplacementScheduler(schedule), Record()])
    np.testing.assert_allclose(rates, [1e-9] * 4 + [1.0] * 4, rtol=1e-5)
    np.testing.assert_array_equal(model.branch_counts.numpy(), [[4, 4], [4, 4]])
    traced = len(traces)
    # Built-in schedules run inside the step; no retrace either way.
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[ReplacementScheduler(ConstantReplacement(1e-9, replace_all_after=10))])
    np.testing.assert_array_equal(model.branch_counts.numpy(), [[6, 6], [6, 6]])
    assert len(traces) == traced


def test_owned_schedule_runs_in_the_compiled_step(predecessor):
    schedule = LinearReplacement(base=0.1, slope=0.1)
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=1,
                                                               schedule=schedule))
    assert float(model.replacement_rate.numpy()) == pytest.approx(0.1)  # schedule(0)
    traces = count_traces(model)
    rates = []

    traces_after_epoch = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rates.append(float(logs["replacement_rate"]))

        def on_epoch_end(self, epoch, logs=None):
            traces_after_epoch.append(len(traces))

    x, y = toy_batch(16)
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[Record()])
    np.testing.assert_allclose(rates, [schedule.rate(t) for t in range(12)], rtol=1e-6)
    # The epoch log holds the last step's rate: steps 3, 7, 11.
    np.testing.assert_allclose(history.history["replacement_rate"],
                               [schedule.rate(t) for t in (3, 7, 11)], rtol=1e-6)
    # Traced in the first epoch only: p changes without retracing.
    assert traces_after_epoch[0] == traces_after_epoch[-1]


def test_owned_schedule_is_exact_with_steps_per_execution(predecessor):
    schedule = LinearReplacement(base=0.1, slope=0.1)
    model = TheseusClassifier.from_predecessor(predecessor, 2, seed=1, schedule=schedule)
    model.compile(optimizer="adamw", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), steps_per_execution=4)
    x, y = toy_batch(32)
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    # 8 steps in 2 executions: the last step (7) had p = schedule(7).
    assert history.history["replacement_rate"][-1] == pytest.approx(schedule.rate(7))
    assert int(model.replacement_step.numpy()) == 8


def test_constant_schedule_switches_to_one_in_the_step(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(
        predecessor, 2, seed=1, schedule=ConstantReplacement(1e-9, replace_all_after=2)))
    x, y = toy_batch(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    # Steps 0-1 draw predecessors only (p ~ 0), steps 2-3 successors only (p = 1).
    np.testing.assert_array_equal(model.branch_counts.numpy(), [[2, 2], [2, 2]])


def test_schedule_arguments_rejected(predecessor):
    with pytest.raises(ValueError, match="either `replacement_rate`.*or `schedule`"):
        TheseusClassifier.from_predecessor(predecessor, 2, replacement_rate=0.5,
                                           schedule=LinearReplacement())
    with pytest.raises(ValueError, match="ReplacementScheduler callback"):
        TheseusClassifier.from_predecessor(predecessor, 2,
                                           schedule=CallableReplacement(lambda t: 0.5))
    with pytest.raises(ValueError, match="replacement schedule"):
        TheseusClassifier.from_predecessor(predecessor, 2, schedule="linear")
    model = compile_theseus(TheseusClassifier.from_predecessor(
        predecessor, 2, schedule=LinearReplacement()))
    x, y = toy_batch(4)
    with pytest.raises(ValueError, match="second writer"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ReplacementScheduler(0.5)])


def test_rate_one_is_exactly_the_successor(predecessor):
    model = TheseusClassifier.from_predecessor(predecessor, 2, replacement_rate=1.0,
                                               init="every_rth", seed=0)
    x, _ = toy_batch(8)
    successor = extract_successor(model)
    # training=True draws modules; at p = 1 every draw is the successor.
    # (dropout is 0 in this tiny model, so training mode is deterministic.)
    np.testing.assert_allclose(model(x, training=True), successor(x), atol=1e-5)
    np.testing.assert_allclose(model(x, training=False), successor(x), atol=1e-5)


def test_keras_round_trip_mid_training(predecessor, tmp_path):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=2,
                                                               replacement_rate=0.7))
    x, y = toy_batch(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "theseus.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, TheseusClassifier)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    assert int(loaded.replacement_step.numpy()) == 4
    assert float(loaded.replacement_rate.numpy()) == pytest.approx(0.7)
    np.testing.assert_array_equal(loaded.branch_counts.numpy(), model.branch_counts.numpy())
    assert [w.path for w in loaded.trainable_weights] == [w.path for w in model.trainable_weights]
    # Predecessor layers and the draw stream are restored too.
    import tensorflow as tf

    for choice in ([False, False], [True, False]):
        np.testing.assert_allclose(loaded.forward(x, tf.constant(choice)),
                                   model.forward(x, tf.constant(choice)), atol=1e-6)
    np.testing.assert_array_equal(loaded.draw_successors(), model.draw_successors())
    # Training goes on from there.
    loaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert int(loaded.replacement_step.numpy()) == 8
    assert float(loaded.replacement_rate.numpy()) == pytest.approx(0.7)


def test_keras_round_trip_keeps_the_schedule(predecessor, tmp_path):
    schedule = LinearReplacement(base=0.2, slope=0.05)
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=2,
                                                               schedule=schedule))
    x, y = toy_batch(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "theseus.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.schedule, LinearReplacement)
    assert loaded.schedule.get_config() == schedule.get_config()
    compile_theseus(loaded)
    history = loaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    # The loaded model continues the schedule at its saved step: 4..7.
    assert history.history["replacement_rate"][-1] == pytest.approx(schedule.rate(7))


def test_deep_modules():
    model = TheseusClassifier.from_predecessor(tiny_classifier(num_layers=4), 1)
    assert model.module_size == 4
    compile_theseus(model)
    x, y = toy_batch(8)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert model.branch_counts.numpy().sum() == 2


def test_xla_train_step(predecessor):
    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2, seed=4),
                            jit_compile=True)
    x, y = toy_batch(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    counts = model.branch_counts.numpy()
    np.testing.assert_array_equal(counts.sum(1), [4, 4])
    np.testing.assert_allclose(extract_successor(model).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-5)


def test_xla_with_dynamic_batch_size_explains_the_fix(predecessor):
    import tensorflow as tf

    model = compile_theseus(TheseusClassifier.from_predecessor(predecessor, 2), jit_compile=True)
    x, y = toy_batch(10)
    ragged_batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)  # 4, 4, 2
    with pytest.raises(ValueError, match="drop_remainder=True"):
        model.fit(ragged_batches, epochs=1, verbose=0)


def test_successors_of_a_frozen_predecessor_train(predecessor):
    predecessor.trainable = False
    try:
        model = TheseusClassifier.from_predecessor(predecessor, 2)
        assert all(w.trainable for layer in model.successor_layers for w in layer.weights)
    finally:
        predecessor.trainable = True


def test_files_saved_before_the_schedule_moved_into_the_model_load():
    import os

    fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures", "legacy")
    # Saved by 0.1 after 2 steps under ReplacementScheduler(LinearReplacement(0.3, 0.05)):
    # four model variables (the old `schedule_params` included) and the old backbone class.
    with pytest.warns(DeprecationWarning):
        model = keras.saving.load_model(
            os.path.join(fixtures, "theseus_classifier_mid_training.keras"), compile=False)
    assert int(model.replacement_step.numpy()) == 2
    assert float(model.replacement_rate.numpy()) == pytest.approx(0.35)
    rng = np.random.default_rng(0)
    x = {"token_ids": rng.integers(0, 40, (8, 8)), "segment_ids": np.zeros((8, 8), "int32"),
         "padding_mask": np.ones((8, 8), "int32")}
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               np.load(os.path.join(fixtures, "theseus_classifier_logits.npy")),
                               atol=1e-6)


def test_an_enabled_legacy_schedule_becomes_the_models_own(predecessor):
    model = TheseusClassifier.from_predecessor(predecessor, 2, seed=1)
    own = model._trainable_variables + model._non_trainable_variables
    store = {str(i): np.asarray(v.numpy()) for i, v in enumerate(own)}
    store[str(len(own))] = np.array([1.0, 0.3, 0.05, -1.0], "float32")
    model.load_own_variables(store)
    assert isinstance(model.schedule, LinearReplacement)
    assert (model.schedule.base, model.schedule.slope) == pytest.approx((0.3, 0.05))
