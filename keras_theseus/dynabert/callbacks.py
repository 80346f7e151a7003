"""Callbacks that select DynaBERT sub-networks through the mask variables."""

import itertools

import keras
import numpy as np

from keras_theseus.dynabert.multipliers import check_multipliers


def _dynabert_model(model):
    from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier

    student = getattr(model, "student", model)
    if not isinstance(student, DynaBertClassifier) or not student.use_masks:
        raise TypeError("This callback needs a DynaBertClassifier with masks (or a trainer "
                        f"holding one as `.student`). Received: {type(model).__name__}")
    return student


@keras.saving.register_keras_serializable(package="keras_theseus")
class SubnetworkSampler(keras.callbacks.Callback):
    """Set a new `(width, depth)` sub-network before every training batch.

    The masks are variables read inside the compiled step, so each batch
    trains the chosen sub-network without retracing: `fit` a plain
    compiled `DynaBertClassifier` with this callback to train all widths
    and depths one per batch (cheaper per step than `DynaBertTrainer`,
    which visits all of them each step). Evaluation afterwards uses the full
    network (restored at the end of each epoch).

    Args:
        widths, depths: multipliers in (0, 1].
        mode: `"cycle"` (every combination in turn, largest first) or
            `"random"` (uniform, seeded).
        seed: random mode seed.

    Example:
    ```python
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    model.fit(train, callbacks=[SubnetworkSampler([1.0, 0.5], [1.0, 0.5])])
    ```
    """

    def __init__(self, widths=(1.0, 0.75, 0.5, 0.25), depths=(1.0,), mode="cycle", seed=0):
        super().__init__()
        if mode not in ("cycle", "random"):
            raise ValueError(f"`mode` must be 'cycle' or 'random'. Received: {mode!r}")
        self.widths = check_multipliers("widths", widths)
        self.depths = check_multipliers("depths", depths)
        self.mode = mode
        self.seed = seed
        self.configurations = [(w, d) for d in self.depths for w in self.widths]
        self._cycle = itertools.cycle(self.configurations)
        self._rng = np.random.default_rng(seed)
        self.history = []

    def on_train_batch_begin(self, batch, logs=None):
        if self.mode == "cycle":
            width, depth = next(self._cycle)
        else:
            width, depth = self.configurations[self._rng.integers(len(self.configurations))]
        _dynabert_model(self.model).set_subnetwork(width, depth)
        self.history.append((width, depth))

    def on_epoch_end(self, epoch, logs=None):
        _dynabert_model(self.model).set_subnetwork(1.0, 1.0)

    def get_config(self):
        return {"widths": self.widths, "depths": self.depths, "mode": self.mode,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_theseus")
class SubnetworkEvaluator(keras.callbacks.Callback):
    """Evaluate every `(width, depth)` sub-network at the end of each epoch.

    Adds `val_accuracy_w{w}_d{d}` (and `val_loss_w{w}_d{d}`) to the logs,
    so they appear in `History`; the active sub-network is restored
    afterwards.

    Args:
        validation_data: a dataset of `(inputs, labels)`.
        widths, depths: multipliers to evaluate.
        every: evaluate every `every` epochs.

    `get_config` holds the settings, not the dataset (a `tf.data` pipeline
    is not serializable): rebuild with
    `SubnetworkEvaluator.from_config({**config, "validation_data": dev})`.

    Example:
    ```python
    evaluator = SubnetworkEvaluator(dev, widths=[1.0, 0.5], depths=[1.0, 0.5])
    trainer.fit(train, callbacks=[evaluator])   # History: val_accuracy_w0.5_d0.5, ...
    ```
    """

    def __init__(self, validation_data, widths=(1.0, 0.75, 0.5, 0.25), depths=(1.0,),
                 every=1):
        super().__init__()
        self.validation_data = validation_data
        self.widths = check_multipliers("widths", widths)
        self.depths = check_multipliers("depths", depths)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be a positive int. Received: {every!r}")
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        student = _dynabert_model(self.model)
        saved = [v.numpy() for v in self._mask_variables(student)]
        try:
            for depth in self.depths:
                for width in self.widths:
                    student.set_subnetwork(width, depth)
                    result = self.model.evaluate(self.validation_data, verbose=0,
                                                 return_dict=True)
                    for name, value in result.items():
                        if logs is not None:
                            logs[f"val_{name}_w{width:g}_d{depth:g}"] = value
        finally:
            for variable, value in zip(self._mask_variables(student), saved):
                variable.assign(value)

    def get_config(self):
        return {"widths": self.widths, "depths": self.depths, "every": self.every}

    @classmethod
    def from_config(cls, config):
        if "validation_data" not in config:
            raise ValueError("A SubnetworkEvaluator config holds its settings, not its "
                             "dataset; pass it: SubnetworkEvaluator.from_config({**config, "
                             "'validation_data': dev}).")
        return cls(**config)

    @staticmethod
    def _mask_variables(student):
        out = [student.layer_mask]
        for layer in student.encoder_layers:
            out += [layer.head_mask, layer.neuron_mask]
        return out
