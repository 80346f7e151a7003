"""Callback that steps a replacement-rate schedule during `fit`."""

import keras

from keras_theseus.theseus import schedules as schedules_lib


class ReplacementScheduler(keras.callbacks.Callback):
    """Drive a `TheseusClassifier`'s replacement rate with a schedule.

    p = `schedule(step)` at every optimizer step, where the step is the
    model's own `replacement_step` counter, saved with the weights: after
    `keras.callbacks.BackupAndRestore` resumes a run, p continues from the
    step reached. The train step reports p as the `replacement_rate` metric,
    so it appears in the progress bar and in `History`.

    Built-in schedules (`ConstantReplacement`, `LinearReplacement`) are
    handed to the model at the start of `fit` and evaluated inside the
    compiled train step: no Python work per batch, exact with
    `steps_per_execution > 1`. Other callables are evaluated in Python before
    each batch and assigned to the model's `replacement_rate` variable (read
    by the compiled step, no retracing); with `steps_per_execution = k` they
    are then evaluated once per k steps.

    Args:
        schedule: a `ReplacementSchedule`, a float (constant p), or a
            callable `step -> p`.
        verbose: 1 prints p at each epoch start.

    Example:
    ```python
    theseus.fit(train_ds, epochs=3, callbacks=[
        ReplacementScheduler(LinearReplacement(base=0.3, slope=0.0006))])
    ```
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedules_lib.get(schedule)
        self.verbose = verbose

    def _check_model(self):
        if not all(hasattr(self.model, name) for name in
                   ("replacement_rate", "replacement_step", "schedule_params")):
            raise ValueError(
                "ReplacementScheduler needs a model with `replacement_rate` and "
                "`replacement_step` variables (a TheseusClassifier). Received: "
                f"{type(self.model).__name__}"
            )

    def on_train_begin(self, logs=None):
        self._check_model()
        linear = self.schedule.as_linear()
        self._in_graph = linear is not None
        if self._in_graph:
            self.model.schedule_params.assign([1.0, *linear])
        else:
            self.model.schedule_params.assign([0.0, 0.0, 0.0, -1.0])

    def on_train_batch_begin(self, batch, logs=None):
        if not self._in_graph:
            step = int(self.model.replacement_step.numpy())
            self.model.replacement_rate.assign(self.schedule.rate(step))

    def on_train_end(self, logs=None):
        # Later fits without this callback keep the last rate, constant.
        self.model.schedule_params.assign([0.0, 0.0, 0.0, -1.0])

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            step = int(self.model.replacement_step.numpy())
            print(f"\nEpoch {epoch + 1}: step {step}, replacement rate "
                  f"{self.schedule.rate(step):.4f}")

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule),
                "verbose": self.verbose}
