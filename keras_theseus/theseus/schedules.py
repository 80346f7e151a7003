"""Replacement-rate schedules for BERT-of-Theseus.

A schedule maps the training step t (0-based, counted once per optimizer
step) to the probability p_t in (0, 1] that a successor module replaces its
predecessor layers. Schedules are small serializable objects, like Keras'
learning-rate schedules, and are owned the same way: a `TheseusClassifier`
built with `schedule=` evaluates it inside its compiled train step from its
own step counter, as an optimizer evaluates its `LearningRateSchedule`.
"""

import math

import keras
from keras import ops

from keras_theseus.utils import is_int as _is_int
from keras_theseus.utils import is_number as _is_number


def check_probability(name, value):
    if not (_is_number(value) and 0 < value <= 1):
        raise ValueError(f"`{name}` must be a number in (0, 1]. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="keras_theseus")
class ReplacementSchedule:
    """Base class: subclasses implement `__call__(step) -> p` and `get_config`.

    `__call__` receives the step as a float32 tensor inside the compiled
    train step (write it with `keras.ops`, as a Keras `LearningRateSchedule`
    is written) and returns p in (0, 1]. Set the class attribute
    `traceable = False` for a schedule that only runs in Python; such a
    schedule is driven by the `keras_theseus.callbacks.ReplacementScheduler`
    callback instead of the model.
    """

    traceable = True

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def rate(self, step):
        """`self(step)`, validated to lie in (0, 1]."""
        if not _is_int(step) or step < 0:
            raise ValueError(f"`step` must be an int >= 0. Received: step={step!r}")
        p = float(self(int(step)))
        if not (math.isfinite(p) and 0 < p <= 1):
            raise ValueError(
                f"{type(self).__name__} gave replacement rate {p} at step {step}; "
                "a replacement rate must be in (0, 1]."
            )
        return p


@keras.saving.register_keras_serializable(package="keras_theseus")
class ConstantReplacement(ReplacementSchedule):
    """Constant p, optionally p = 1 from step `replace_all_after` on.

    The paper's default: p = 0.5, and after a budget of steps (e.g. 2,500)
    every module uses its successor.

    Args:
        rate: float in (0, 1].
        replace_all_after: optional int step from which p = 1.

    Example:
    ```python
    schedule = ConstantReplacement(0.5, replace_all_after=2500)
    schedule.rate(0), schedule.rate(2500)  # (0.5, 1.0)
    ```
    """

    def __init__(self, rate=0.5, replace_all_after=None):
        check_probability("rate", rate)
        if replace_all_after is not None and (
            not _is_int(replace_all_after) or replace_all_after < 0
        ):
            raise ValueError(
                "`replace_all_after` must be None or an int >= 0. "
                f"Received: replace_all_after={replace_all_after!r}"
            )
        self.rate_value = float(rate)
        self.replace_all_after = None if replace_all_after is None else int(replace_all_after)

    def __call__(self, step):
        # A Python step gives a Python float (exact, as `rate` reports it); a
        # tensor step, inside the train step, gives a float32 tensor.
        if _is_number(step):
            full = self.replace_all_after is not None and step >= self.replace_all_after
            return 1.0 if full else self.rate_value
        if self.replace_all_after is None:
            return ops.convert_to_tensor(self.rate_value, "float32")
        step = ops.cast(step, "float32")
        return ops.where(step >= float(self.replace_all_after), 1.0, self.rate_value)

    def get_config(self):
        return {"rate": self.rate_value, "replace_all_after": self.replace_all_after}


@keras.saving.register_keras_serializable(package="keras_theseus")
class LinearReplacement(ReplacementSchedule):
    """Linear curriculum p_t = min(1, slope · t + base).

    The paper's curriculum (README: base 0.3, slope 0.0006, so p reaches 1
    after about 1,167 steps).

    Args:
        base: p at step 0, in (0, 1].
        slope: increase per step, >= 0.

    Example:
    ```python
    schedule = LinearReplacement(base=0.3, slope=0.0006)
    schedule.rate(1000)  # 0.9 (`schedule(step)` gives the same as a tensor)
    ```
    """

    def __init__(self, base=0.3, slope=0.0006):
        check_probability("base", base)
        if not _is_number(slope) or slope < 0:
            raise ValueError(f"`slope` must be a number >= 0. Received: slope={slope!r}")
        self.base = float(base)
        self.slope = float(slope)

    def __call__(self, step):
        if _is_number(step):
            return min(1.0, self.slope * step + self.base)
        return ops.minimum(1.0, self.slope * ops.cast(step, "float32") + self.base)

    def get_config(self):
        return {"base": self.base, "slope": self.slope}


@keras.saving.register_keras_serializable(package="keras_theseus")
class CallableReplacement(ReplacementSchedule):
    """Wrap a user function `step -> p` (Python). Validated at every call.

    A Python function cannot run inside the compiled train step, so this
    schedule is driven from Python by the
    `keras_theseus.callbacks.ReplacementScheduler` callback (as
    `keras.callbacks.LearningRateScheduler` drives a Python learning-rate
    function), not passed to `TheseusClassifier(schedule=...)`. Serializable
    only if `fn` is a registered Keras serializable function.

    Example:
    ```python
    schedule = CallableReplacement(lambda t: 0.5 if t < 100 else 0.8)
    ```
    """

    traceable = False

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Received: {fn!r}")
        self.fn = fn

    def __call__(self, step):
        return self.fn(int(step))

    def get_config(self):
        return {"fn": keras.saving.serialize_keras_object(self.fn)}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["fn"]))


def get(identifier):
    """A schedule from a schedule, a float (constant), a callable or a config."""
    if isinstance(identifier, ReplacementSchedule):
        return identifier
    if _is_number(identifier):
        return ConstantReplacement(identifier)
    if isinstance(identifier, dict):
        schedule = keras.saving.deserialize_keras_object(identifier)
        if not isinstance(schedule, ReplacementSchedule):
            raise ValueError(
                f"The config {identifier!r} does not describe a ReplacementSchedule."
            )
        return schedule
    if callable(identifier):
        return CallableReplacement(identifier)
    raise ValueError(
        "A replacement schedule must be a ReplacementSchedule, a float in (0, 1], "
        f"a callable step -> p, or a serialized schedule. Received: {identifier!r}"
    )
