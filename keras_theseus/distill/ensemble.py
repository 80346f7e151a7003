"""Ensemble ("professor") teachers and boosting-style example reweighting."""

import keras
import keras_hub
import numpy as np
from keras import ops

from keras_theseus.models.freezing import freeze

COMBINE = ("logits", "probabilities")


@keras.saving.register_keras_serializable(package="keras_theseus")
class EnsembleTeacher(keras.Model):
    """Several fine-tuned classifiers acting as one, stronger teacher.

    The "professor" of the professor–teacher–student recipe: the student
    distils from the (weighted) average of several teachers. With
    `combine="logits"` the members' logits are averaged; with
    `"probabilities"` their softmax outputs are averaged and the log of the
    mixture is returned (still usable as logits: softmax gives the mixture
    back).

    Args:
        teachers: list of ≥ 2 keras-hub `BertTextClassifier`s with the same
            number of classes (they may differ in size and tokenizer only if
            they take the same token ids).
        weights: optional non-negative member weights (e.g. the `alpha`s
            from `boosted_sample_weights`); normalized to sum to 1.
        combine: `"logits"` (default) or `"probabilities"`.

    Example:
    ```python
    professor = EnsembleTeacher([teacher_a, teacher_b, teacher_c])
    distiller = Distiller(professor, student, kd_weight=1.0, label_weight=1.0)
    ```
    """

    def __init__(self, teachers, weights=None, combine="logits", **kwargs):
        super().__init__(**kwargs)
        teachers = list(teachers)
        if len(teachers) < 2:
            raise ValueError(f"`teachers` needs at least 2 models. Received {len(teachers)}.")
        for i, teacher in enumerate(teachers):
            if not isinstance(teacher, keras_hub.models.BertTextClassifier):
                raise TypeError(f"`teachers[{i}]` must be a keras_hub.models."
                                f"BertTextClassifier. Received: {type(teacher).__name__}")
        classes = {t.num_classes for t in teachers}
        if len(classes) != 1:
            raise ValueError(f"All `teachers` must predict the same number of classes. "
                             f"Received: {[t.num_classes for t in teachers]}")
        if combine not in COMBINE:
            raise ValueError(f"`combine` must be one of {COMBINE}. Received: {combine!r}")
        if weights is None:
            weights = [1.0] * len(teachers)
        weights = [float(w) for w in weights]
        if len(weights) != len(teachers) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"`weights` must be {len(teachers)} non-negative numbers with a "
                             f"positive sum. Received: {weights}")
        self.teachers = teachers
        self.member_weights = [w / sum(weights) for w in weights]
        self.combine = combine
        self.num_classes = classes.pop()
        for teacher in teachers:
            freeze(teacher)

    def call(self, inputs, training=False):
        outputs = [t(inputs, training=False) for t in self.teachers]
        if self.combine == "logits":
            return sum(w * ops.cast(o, "float32") for w, o in zip(self.member_weights, outputs))
        mixture = sum(w * ops.softmax(ops.cast(o, "float32"), axis=-1)
                      for w, o in zip(self.member_weights, outputs))
        return ops.log(ops.maximum(mixture, 1e-12))

    def get_config(self):
        config = super().get_config()
        config.update({
            "teachers": [keras.saving.serialize_keras_object(t) for t in self.teachers],
            "weights": self.member_weights,
            "combine": self.combine,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["teachers"] = [keras.saving.deserialize_keras_object(t)
                              for t in config["teachers"]]
        return cls(**config)


def boosted_sample_weights(labels, predictions, sample_weights=None, num_classes=None):
    """One round of multi-class AdaBoost (SAMME) over a member's predictions.

    BoostingBERT-style professors train members one after another, each on
    the previous members' hard examples. Given the labels and one trained
    member's predictions, this returns the example weights for training the
    next member (misclassified examples up-weighted) and the member's vote
    weight `alpha` for `EnsembleTeacher(weights=...)`.

    Args:
        labels: `(n,)` int labels.
        predictions: `(n,)` predicted labels or `(n, classes)` logits/probs.
        sample_weights: the weights this member was trained with (default
            uniform).
        num_classes: K; inferred from `predictions` when 2-D.

    Returns:
        `(next_sample_weights, alpha)`: weights with mean 1 (ready for
        `sample_weight`), and `alpha = log((1 - err) / err) + log(K - 1)`.

    Example:
    ```python
    w = None
    for member in members:
        member.fit(x, y, sample_weight=w)
        w, alpha = boosted_sample_weights(y, member.predict(x), w)
    ```
    """
    labels = np.asarray(labels).reshape(-1)
    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        num_classes = num_classes or predictions.shape[1]
        predictions = predictions.argmax(-1)
    if predictions.shape != labels.shape:
        raise ValueError(f"`predictions` must give one prediction per label: {labels.shape[0]} "
                         f"labels, predictions of shape {predictions.shape}.")
    num_classes = num_classes or int(max(labels.max(), predictions.max()) + 1)
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be >= 2. Received: {num_classes}")
    weights = (np.ones(labels.shape, "float64") if sample_weights is None
               else np.asarray(sample_weights, "float64").reshape(-1))
    if weights.shape != labels.shape or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("`sample_weights` must be one non-negative weight per label with a "
                         "positive sum.")
    weights = weights / weights.sum()
    wrong = predictions != labels
    error = float(np.clip(weights[wrong].sum(), 1e-10, 1 - 1e-10))
    alpha = float(np.log((1 - error) / error) + np.log(num_classes - 1))
    weights = weights * np.exp(alpha * wrong)
    return (weights / weights.mean()).astype("float32"), alpha
