"""DynaBERT training: every width (and depth) sub-network per batch, distilled."""

import keras
import keras_hub
import tensorflow as tf

from keras_theseus.distill.losses import masked_mse
from keras_theseus.distill.losses import replica_share
from keras_theseus.distill.losses import soft_cross_entropy
from keras_theseus.distill.losses import sparse_cross_entropy
from keras_theseus.distribute.checked_fit import StrategyCheckedFit
from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.multipliers import DEFAULT_WIDTHS
from keras_theseus.dynabert.multipliers import check_multipliers
from keras_theseus.dynabert.multipliers import depth_layers
from keras_theseus.dynabert.multipliers import width_sizes
from keras_theseus.models.compiled_on_load import CompiledOnLoad
from keras_theseus.models.freezing import freeze


def frozen_copy(model):
    """A frozen copy of a `DynaBertClassifier` (the teacher of the next phase)."""
    copy = DynaBertClassifier.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    if copy.use_masks:
        copy.set_subnetwork(1.0, 1.0)  # the full network, whatever `model` had selected
    return freeze(copy)


@keras.saving.register_keras_serializable(package="keras_theseus")
class DynaBertTrainer(CompiledOnLoad, StrategyCheckedFit, keras.Model):
    """Train a `DynaBertClassifier` so every `(width, depth)` sub-network works.

    Each `train_step` runs the frozen teacher once, then every configured
    sub-network, largest first (depths outer, widths inner), with the loss

        logits_weight · softCE(teacher, student) + hidden_weight · Σ MSE(hidden)
        + label_weight · CE(labels, student)

    where the hidden-state MSE pairs the student's embeddings and each kept
    layer's output with the teacher's same layer (real tokens only). The
    gradients of all sub-networks are summed, clipped to `clip_norm`
    (global norm), and applied in one optimizer step. Phase 1 of DynaBERT
    (DynaBERT_w) uses `depths=[1.0]` and hidden_weight 0.1; phase 2 all
    depths and hidden_weight 1.0 (`train_dynabert` runs both).

    Use it with plain `compile(optimizer=..., metrics=[...])` and `fit`;
    metrics and `evaluate` score the student's currently selected
    sub-network (`student.set_subnetwork`; full size by default).

    Args:
        student: the `DynaBertClassifier` to train.
        teacher: a frozen full-size teacher (`DynaBertClassifier` or keras-hub
            `BertTextClassifier`, converted); None trains on labels alone.
        widths, depths: multipliers in (0, 1], visited largest first.
        logits_weight, hidden_weight: λ1, λ2 (DynaBERT: 1 and 0.1 / 1).
        label_weight: hard-label CE weight (default 0 with a teacher, 1
            without).
        clip_norm: global-norm gradient clipping (None: off).

    Example:
    ```python
    trainer = DynaBertTrainer(student, teacher, widths=[1.0, 0.75, 0.5, 0.25])
    trainer.compile(optimizer=keras_theseus.models.bert_optimizer(2e-5),
                    metrics=keras_theseus.models.accuracy_metrics())
    trainer.fit(train, epochs=1, callbacks=[SubnetworkEvaluator(dev)])
    ```
    """

    def __init__(self, student, teacher=None, widths=DEFAULT_WIDTHS, depths=(1.0,),
                 logits_weight=1.0, hidden_weight=0.1, label_weight=None, clip_norm=1.0,
                 **kwargs):
        # The trainer's policy is the student's: `compile` then wraps the
        # optimizer for loss scaling under mixed_float16.
        kwargs.setdefault("dtype", getattr(student, "dtype_policy", None))
        super().__init__(**kwargs)
        if not isinstance(student, DynaBertClassifier):
            raise TypeError("`student` must be a DynaBertClassifier. "
                            f"Received: {type(student).__name__}")
        if isinstance(teacher, keras_hub.models.BertTextClassifier):
            teacher = DynaBertClassifier.from_classifier(teacher, use_masks=False)
        if teacher is not None:
            if not isinstance(teacher, DynaBertClassifier):
                raise TypeError("`teacher` must be a DynaBertClassifier, a keras-hub "
                                f"BertTextClassifier or None. Received: {type(teacher).__name__}")
            if teacher.num_classes != student.num_classes:
                raise ValueError(f"Teacher and student classes differ: {teacher.num_classes} "
                                 f"vs {student.num_classes}.")
            if hidden_weight and teacher.hidden_dim != student.hidden_dim:
                raise ValueError(
                    "The hidden-state loss needs the same hidden size; got teacher "
                    f"{teacher.hidden_dim}, student {student.hidden_dim}. Pass "
                    "hidden_weight=0 for logits-only distillation.")
            freeze(teacher)
        self.widths = check_multipliers("widths", widths)
        self.depths = check_multipliers("depths", depths)
        for w in self.widths:
            width_sizes(student.num_heads, student.intermediate_dim, w)  # validates
        for d in self.depths:
            depth_layers(student.num_layers, d)
        if teacher is not None and teacher.num_layers != student.num_layers and \
                hidden_weight:
            raise ValueError("The hidden-state loss pairs layers one to one: teacher and "
                             f"student need the same depth ({teacher.num_layers} vs "
                             f"{student.num_layers}), or pass hidden_weight=0.")
        for name, value in (("logits_weight", logits_weight), ("hidden_weight", hidden_weight)):
            if value < 0:
                raise ValueError(f"`{name}` must be >= 0. Received: {value!r}")
        if label_weight is None:
            label_weight = 0.0 if teacher is not None else 1.0
        if teacher is None and label_weight <= 0:
            raise ValueError("Without a teacher the only loss is the label CE: "
                             "`label_weight` must be > 0.")
        if clip_norm is not None and clip_norm <= 0:
            raise ValueError(f"`clip_norm` must be > 0 or None. Received: {clip_norm!r}")
        self.student = student
        self.teacher = teacher
        self.logits_weight = float(logits_weight)
        self.hidden_weight = float(hidden_weight)
        self.label_weight = float(label_weight)
        self.clip_norm = clip_norm
        # Every weight exists (the student's and teacher's): mark built so
        # that BackupAndRestore can restore into a trainer that has not run.
        self.built = True

    @property
    def configurations(self):
        """The `(width, depth)` pairs visited per step, in order."""
        return [(w, d) for d in self.depths for w in self.widths]

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def compile(self, optimizer="adam", metrics=None, **kwargs):
        if kwargs.get("loss") is not None:
            raise ValueError("DynaBertTrainer computes its own loss; do not pass `loss`.")
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def _subnetwork_loss(self, x, y, width, depth, teacher_logits, teacher_hidden,
                         token_share=1.0):
        logits, hidden = self.student.forward(x, width, depth, training=True,
                                              return_hidden=True)
        loss = 0.0
        if self.teacher is not None and self.logits_weight:
            loss += self.logits_weight * soft_cross_entropy(teacher_logits, logits)
        if self.teacher is not None and self.hidden_weight:
            kept = depth_layers(self.student.num_layers, depth)
            pairs = [(0, 0)] + [(k + 1, i + 1) for k, i in enumerate(kept)]
            mask = x["padding_mask"]
            loss += self.hidden_weight * token_share * tf.add_n(
                [masked_mse(teacher_hidden[t], hidden[s], mask) for s, t in pairs])
        if self.label_weight:
            loss += self.label_weight * sparse_cross_entropy(y, logits)
        return loss, logits

    def _models_in_scope(self):
        return {"student": self.student, "teacher": self.teacher, "trainer": self}

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        teacher_logits = teacher_hidden = None
        if self.teacher is not None:
            teacher_logits, teacher_hidden = self.teacher.forward(
                x, 1.0, 1.0, training=False, return_hidden=True)
        variables = self.student.trainable_variables
        total_grads = [tf.zeros_like(v) for v in variables]
        total_loss = 0.0
        full_logits = None
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        # Token-averaged hidden MSE as this replica's share of the global
        # batch's mean (1.0 on one device; see `replica_share`).
        token_share = (replica_share(x["padding_mask"])
                       if self.teacher is not None and self.hidden_weight else 1.0)
        # Sub-network i's forward pass waits for the gradients of sub-network
        # i - 2, so at most two sub-networks' activations are alive at once.
        # Without an order the graph executor is free to run all the
        # independent forward passes first and hold every activation; waiting
        # for i - 1 instead leaves the second core idle while one backward
        # pass runs. Measured on 2 CPU cores, MiniLM-L6 shape, b32x128, 16
        # sub-networks (benchmarks/dynabert_step_memory.py, two fresh
        # processes each): unordered 10.1-12.3 GB peak RSS at 12.8-13.2 s a
        # step, wait for i - 1 5.1 GB at 13.8-14.0 s, wait for i - 2 6.0-6.9 GB
        # at 12.6 s. No effect in eager mode, where ops run in order.
        finished = []  # total_grads after each sub-network so far
        for width, depth in self.configurations:  # static: unrolled in the graph
            previous = finished[-2] if len(finished) >= 2 else []
            with tf.control_dependencies(previous), tf.GradientTape() as tape:
                loss, logits = self._subnetwork_loss(x, y, width, depth, teacher_logits,
                                                     teacher_hidden, token_share)
                scaled = loss / replicas
                if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
                    scaled = self.optimizer.scale_loss(scaled)
            grads = tape.gradient(scaled, variables)
            # Dense sums: embedding gradients arrive as IndexedSlices.
            total_grads = [t if g is None else t + tf.cast(tf.convert_to_tensor(g), t.dtype)
                           for t, g in zip(total_grads, grads)]
            finished.append(total_grads)
            total_loss += loss
            if full_logits is None:
                full_logits = logits
        if self.clip_norm is not None:
            total_grads, _ = tf.clip_by_global_norm(total_grads, self.clip_norm)
        self.optimizer.apply(total_grads, variables)
        self._loss_tracker.update_state(total_loss)
        # Metrics of the largest configured sub-network.
        return self.compute_metrics(x, y, full_logits)

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.student(x, training=False)

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        logits = self.student(x, training=False)
        self._loss_tracker.update_state(sparse_cross_entropy(y, logits))
        return self.compute_metrics(x, y, logits)

    def get_config(self):
        config = super().get_config()
        config.update({
            "student": keras.saving.serialize_keras_object(self.student),
            "teacher": None if self.teacher is None
            else keras.saving.serialize_keras_object(self.teacher),
            "widths": self.widths, "depths": self.depths,
            "logits_weight": self.logits_weight, "hidden_weight": self.hidden_weight,
            "label_weight": self.label_weight, "clip_norm": self.clip_norm,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["student"] = keras.saving.deserialize_keras_object(config["student"])
        if config.get("teacher") is not None:
            config["teacher"] = keras.saving.deserialize_keras_object(config["teacher"])
        return cls(**config)
