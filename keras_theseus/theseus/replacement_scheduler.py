"""Callback that steps a replacement-rate schedule during `fit`."""

import keras

from keras_theseus.theseus import schedules as schedules_lib


class ReplacementScheduler(keras.callbacks.Callback):
    """Set a `TheseusClassifier`'s replacement rate from a schedule.

    Before every training batch, p = `schedule(step)` is assigned to the
    model's `replacement_rate` variable, read inside the compiled train step
    (no retracing). The step is the model's own `replacement_step` counter,
    which is saved with the weights: after `keras.callbacks.BackupAndRestore`
    resumes a run, p continues from the step reached. The train step reports
    p as the `replacement_rate` metric, so it appears in the progress bar and
    in `History`.

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
        if not hasattr(self.model, "replacement_rate") or not hasattr(
            self.model, "replacement_step"
        ):
            raise ValueError(
                "ReplacementScheduler needs a model with `replacement_rate` and "
                "`replacement_step` variables (a TheseusClassifier). Received: "
                f"{type(self.model).__name__}"
            )

    def on_train_begin(self, logs=None):
        self._check_model()

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
