"""Callback that sets a Theseus model's replacement rate from Python during `fit`."""

import keras

from keras_theseus.theseus import schedules as schedules_lib


@keras.saving.register_keras_serializable(package="keras_theseus")
class ReplacementScheduler(keras.callbacks.Callback):
    """Set a `TheseusClassifier`'s replacement rate from a Python schedule.

    The model owns its schedule: `TheseusClassifier(..., schedule=
    LinearReplacement(...))` evaluates it inside the compiled train step
    (no Python work per batch, exact with `steps_per_execution > 1`). This
    callback is for schedules that only run in Python (a plain function or
    `CallableReplacement`), as `keras.callbacks.LearningRateScheduler` is for
    learning-rate functions: before each batch it evaluates `schedule(step)`
    at the model's `replacement_step` counter (saved with the weights, so it
    resumes after `keras.callbacks.BackupAndRestore`) and assigns the model's
    `replacement_rate` variable, which the compiled step reads without
    retracing. With `steps_per_execution = k` it runs once per k steps.

    Args:
        schedule: a callable `step -> p`, a `ReplacementSchedule`, or a float
            (constant p).
        verbose: 1 prints p at each epoch start.

    Example:
    ```python
    theseus.fit(train_ds, epochs=3, callbacks=[
        ReplacementScheduler(lambda step: 0.5 if step < 1000 else 1.0)])
    ```
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedules_lib.get(schedule)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        from keras_theseus.theseus.theseus_classifier import TheseusClassifier

        if not isinstance(self.model, TheseusClassifier):
            raise ValueError(
                "ReplacementScheduler sets the replacement rate of a TheseusClassifier. "
                f"Received: {type(self.model).__name__}")
        if self.model.schedule is not None:
            raise ValueError(
                "This TheseusClassifier owns a schedule "
                f"({type(self.model.schedule).__name__}), evaluated in its train step; a "
                "ReplacementScheduler would be a second writer of the rate. Use one: "
                "drop the callback, or build the model with `schedule=None`.")

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.replacement_step.numpy())
        self.model.replacement_rate.assign(self.schedule.rate(step))

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            step = int(self.model.replacement_step.numpy())
            print(f"\nEpoch {epoch + 1}: step {step}, replacement rate "
                  f"{self.schedule.rate(step):.4f}")

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule),
                "verbose": self.verbose}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)
