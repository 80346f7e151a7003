import keras
import numpy as np
import pytest
from theseus_fixtures import compile_theseus
from theseus_fixtures import tiny_classifier
from theseus_fixtures import toy_batch

from keras_theseus.callbacks import ReplacementScheduler
from keras_theseus.theseus import LinearReplacement
from keras_theseus.theseus import TheseusClassifier


class InterruptAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("simulated interruption")


def _fresh(schedule=None):
    return compile_theseus(TheseusClassifier.from_predecessor(
        tiny_classifier(seed=0), 2, seed=0, schedule=schedule))


def test_python_schedule_logged_in_history():
    model = _fresh()
    x, y = toy_batch(16)
    schedule = lambda t: 0.2 + 0.05 * t  # noqa: E731  (a Python function)
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0,
                        callbacks=[ReplacementScheduler(schedule)])
    # The epoch log holds the last step's rate: steps 3, 7, 11.
    np.testing.assert_allclose(history.history["replacement_rate"],
                               [schedule(3), schedule(7), schedule(11)], rtol=1e-6)


@pytest.mark.parametrize("owned", [True, False], ids=["model_schedule", "callback"])
def test_resume_with_backup_and_restore_continues_schedule(tmp_path, owned):
    x, y = toy_batch(16)
    schedule = LinearReplacement(base=0.1, slope=0.05)
    owner = (lambda: _fresh(schedule)) if owned else _fresh
    setter = [] if owned else [ReplacementScheduler(schedule)]
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    model = owner()
    with pytest.raises(RuntimeError, match="simulated"):
        model.fit(x, y, batch_size=4, epochs=4, verbose=0,
                  callbacks=[backup, *setter, InterruptAtEpoch(2)])
    assert int(model.replacement_step.numpy()) == 8

    rates = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rates.append(float(logs["replacement_rate"]))

    resumed = owner()  # as after a restart: a new model, restored from backup
    history = resumed.fit(x, y, batch_size=4, epochs=4, verbose=0,
                          callbacks=[backup, *setter, Record()])
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only
    np.testing.assert_allclose(rates, [schedule.rate(t) for t in range(8, 16)], rtol=1e-6)
    assert int(resumed.replacement_step.numpy()) == 16
    # The resumed run drew exactly what an uninterrupted run draws.
    straight = owner()
    straight.fit(x, y, batch_size=4, epochs=4, verbose=0, callbacks=setter)
    np.testing.assert_array_equal(resumed.branch_counts.numpy(), straight.branch_counts.numpy())


def test_rejects_models_without_replacement_rate():
    model = tiny_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = toy_batch(4)
    with pytest.raises(ValueError, match="TheseusClassifier"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ReplacementScheduler(0.5)])


def test_config_round_trip():
    import json

    from keras_theseus.theseus import ConstantReplacement

    callback = ReplacementScheduler(ConstantReplacement(0.7), verbose=1)
    again = ReplacementScheduler.from_config(json.loads(json.dumps(callback.get_config())))
    assert isinstance(again.schedule, ConstantReplacement) and again.verbose == 1
    assert float(again.schedule(10)) == pytest.approx(0.7)
