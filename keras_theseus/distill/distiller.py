"""Distiller: train a student against a frozen teacher with `model.fit`."""

import keras
import keras_hub
import tensorflow as tf
from keras import ops
from keras.src.losses.loss import scale_loss_for_distribution

from keras_theseus.distill import losses
from keras_theseus.distill.ensemble import EnsembleTeacher
from keras_theseus.distribute.checked_fit import StrategyCheckedFit
from keras_theseus.models.compiled_on_load import CompiledOnLoad
from keras_theseus.models.feature_extractor import build_feature_extractor
from keras_theseus.models.freezing import freeze
from keras_theseus.models.precision import model_dtype_policy

#: DistilBERT's published recipe (Sanh et al. 2019): α_ce 5 (soft-target KL,
#: our `kd_weight`), α_mlm 2 (our `label_weight`), α_cos 1, temperature 2.
DISTILBERT_RECIPE = {"temperature": 2.0, "kd_weight": 5.0, "label_weight": 2.0,
                     "cosine_weight": 1.0}

TERMS = ("kd", "label", "cosine", "hidden_mse", "attention_mse")
KD_POSITIONS = ("masked", "all")
_BACKBONE_KEYS = ("token_ids", "segment_ids", "padding_mask")


def _task_kind(model, argument):
    if isinstance(model, keras_hub.models.BertMaskedLM):
        return "masked_lm"
    if isinstance(model, keras_hub.models.BertTextClassifier):
        return "classifier"
    if argument == "teacher" and isinstance(model, EnsembleTeacher):
        return "ensemble"
    allowed = "BertTextClassifier or BertMaskedLM"
    if argument == "teacher":
        allowed += " (or a keras_theseus EnsembleTeacher)"
    raise TypeError(f"`{argument}` must be a keras_hub.models.{allowed}. "
                    f"Received: {type(model).__name__}")


def _check_weight(name, value):
    """A loss weight or temperature: a float or a Keras schedule."""
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"`{name}` must be a float or a keras.optimizers.schedules.LearningRateSchedule "
            f"(e.g. PolynomialDecay for a linear decay). Received: {value!r}"
        )
    if name == "temperature" and value <= 0:
        raise ValueError(f"`temperature` must be > 0. Received: {value}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {value}")
    return float(value)


def _is_active(weight):
    return not isinstance(weight, float) or weight > 0


def _hidden_size(model):
    return model.backbone.hidden_dim


class _FeatureModels:
    """Holds the one-pass feature extractors outside Keras' tracking.

    They share every weight with the teacher and student; tracking them
    too would save each weight twice in a `.keras` file.
    """

    def __init__(self, teacher, student):
        self.teacher = teacher
        self.student = student


@keras.saving.register_keras_serializable(package="keras_theseus")
class Distiller(CompiledOnLoad, StrategyCheckedFit, keras.Model):
    """Train a student against a frozen teacher with `compile` / `fit`.

    One training step runs the teacher once (inference mode) and the
    student once (training mode); logits, hidden states and, if needed,
    attention scores all come from those two passes (Keras'
    `keras.distillation.Distiller` runs the student a second time for
    feature losses). The loss is a weighted sum of:

    - `kd`: soft-target KL(softmax(t/T) ‖ softmax(s/T))·T², per-example
      mean (`losses.soft_target_kl`), over classes for classifiers and over
      the masked (or all non-pad) tokens for masked LMs;
    - `label`: hard-label cross-entropy, or the masked-LM loss on the
      masked tokens for a `BertMaskedLM` student;
    - `cosine`: `1 − cos` between student and teacher hidden states on
      non-pad tokens (DistilBERT; last layer by default);
    - `hidden_mse`: TinyBERT MSE between hidden states, embedding output
      included, student layer i against teacher layer i·L/M by default;
    - `attention_mse`: TinyBERT MSE between pre-softmax attention scores.

    Every active term is reported as a metric (`kd`, `label`, `cosine`,
    `hidden_mse`, `attention_mse`) next to `loss` in the progress bar and
    History. The teacher is frozen (`teacher.trainable = False`).

    Args:
        teacher: a fine-tuned keras-hub `BertTextClassifier` or
            `BertMaskedLM`, or an `EnsembleTeacher` (logit terms only).
        student: a keras-hub model of the same task: the same number of
            classes, or the same vocabulary for masked LMs.
        temperature: softmax temperature T > 0 of the `kd` term, a float or
            a `keras.optimizers.schedules.LearningRateSchedule` evaluated at
            the optimizer step (e.g. `PolynomialDecay(4.0, 10_000, 1.0)`
            decays T linearly from 4 to 1). Default 2.0 (DistilBERT).
        kd_weight, label_weight, cosine_weight, hidden_mse_weight,
            attention_mse_weight: the terms' weights (floats ≥ 0 or
            schedules); a term with weight 0 is not computed.
        layer_map: which hidden states the `hidden_mse` and attention terms
            compare. `"uniform"` (TinyBERT: student state i with teacher
            state round(i·L/M), state 0 being the embedding output) or a list
            of `(student_state, teacher_state)` pairs over the
            `num_layers + 1` states.
        cosine_layers: `"last"` (DistilBERT) or `"mapped"` (the pairs of
            `layer_map`).
        projection: `"auto"` adds a learned `Dense` from the student's to
            the teacher's hidden width when they differ (TinyBERT's W_h, one
            shared by all layers); `True` always, `False` never (then a width
            mismatch with a hidden-state term raises). It lives in the
            Distiller, so the student you export does not contain it.
        kd_positions: masked LMs only: `"masked"` (KL on the masked tokens)
            or `"all"` (on every non-pad token, DistilBERT's default; the LM
            head then runs on all positions).
        kd_loss: optional `keras.distillation.DistillationLoss` (e.g.
            `keras.distillation.LogitsDistillation(temperature=3.0)`) used
            for the `kd` term instead of `soft_target_kl`; its own
            temperature applies, so `temperature` must stay unset.
        hidden_loss: optional `keras.distillation.FeatureDistillation`
            (without layer names) used for each `hidden_mse` pair instead of
            `masked_mse`; it sees all positions, padding included.

    Example:
    ```python
    distiller = Distiller(teacher, student, temperature=2.0,
                          kd_weight=1.0, label_weight=1.0, hidden_mse_weight=1.0)
    distiller.compile(optimizer=keras_theseus.models.bert_optimizer(5e-5),
                      metrics=["sparse_categorical_accuracy"], jit_compile=True)
    distiller.fit(train_ds, validation_data=dev_ds, epochs=3)
    student = distiller.student      # a plain keras-hub model
    ```
    """

    def __init__(self, teacher, student, temperature=None, kd_weight=1.0, label_weight=1.0,
                 cosine_weight=0.0, hidden_mse_weight=0.0, attention_mse_weight=0.0,
                 layer_map="uniform", cosine_layers="last", projection="auto",
                 kd_positions="masked", kd_loss=None, hidden_loss=None, **kwargs):
        # The Distiller's policy is the student's precision: `compile` then
        # wraps the optimizer for loss scaling under mixed_float16.
        if hasattr(student, "dtype_policy"):
            kwargs.setdefault("dtype", model_dtype_policy(student))
        super().__init__(**kwargs)
        self.teacher_kind = _task_kind(teacher, "teacher")
        self.task = _task_kind(student, "student")
        if self.teacher_kind not in (self.task, "ensemble"):
            raise ValueError(f"`teacher` is a {self.teacher_kind} but `student` is a "
                             f"{self.task}; both must solve the same task.")
        self.teacher = teacher
        self.student = student
        freeze(self.teacher)

        if kd_loss is not None:
            if not isinstance(kd_loss, keras.distillation.DistillationLoss):
                raise TypeError("`kd_loss` must be a keras.distillation.DistillationLoss, e.g. "
                                f"LogitsDistillation(temperature=2.0). Received: {kd_loss!r}")
            if temperature is not None:
                raise ValueError("Set the temperature on `kd_loss` (its own temperature "
                                 "applies), not `temperature`.")
            if isinstance(kd_loss, keras.distillation.LogitsDistillation) and any(
                    fn is keras.losses.kl_divergence for fn in keras.tree.flatten(kd_loss.loss)):
                # Keras 3.15 resolves the default loss="kl_divergence" to the
                # plain function, which LogitsDistillation then applies to
                # scaled *logits* as if they were probabilities, without
                # softmax or T² (it special-cases only the class).
                raise ValueError(
                    "keras.distillation.LogitsDistillation(loss='kl_divergence') applies KL "
                    "to raw logits in this Keras version (no softmax, no T²). Pass "
                    "loss=keras.losses.KLDivergence() instead, or leave kd_loss=None.")
        if hidden_loss is not None:
            if not isinstance(hidden_loss, keras.distillation.DistillationLoss):
                raise TypeError("`hidden_loss` must be a keras.distillation.DistillationLoss, "
                                f"e.g. FeatureDistillation(loss='mse'). Received: {hidden_loss!r}")
            if getattr(hidden_loss, "teacher_layer_name", None) or getattr(
                    hidden_loss, "student_layer_name", None):
                raise ValueError("`hidden_loss` must not name layers: the Distiller pairs "
                                 "hidden states by `layer_map`.")
        self.kd_loss = kd_loss
        self.hidden_loss = hidden_loss
        self.temperature = _check_weight("temperature", 2.0 if temperature is None
                                         else temperature)
        self._temperature_arg = temperature
        self.weights_by_term = {
            "kd": _check_weight("kd_weight", kd_weight),
            "label": _check_weight("label_weight", label_weight),
            "cosine": _check_weight("cosine_weight", cosine_weight),
            "hidden_mse": _check_weight("hidden_mse_weight", hidden_mse_weight),
            "attention_mse": _check_weight("attention_mse_weight", attention_mse_weight),
        }
        self.active_terms = [t for t in TERMS if _is_active(self.weights_by_term[t])]
        if not self.active_terms:
            raise ValueError("All loss weights are 0: set at least one of kd_weight, "
                             "label_weight, cosine_weight, hidden_mse_weight, "
                             "attention_mse_weight above 0.")
        self._check_compatible()
        if kd_positions not in KD_POSITIONS:
            raise ValueError(f"`kd_positions` must be one of {KD_POSITIONS}. "
                             f"Received: {kd_positions!r}")
        self.kd_positions = kd_positions
        uses_hidden = any(t in self.active_terms for t in ("cosine", "hidden_mse",
                                                           "attention_mse"))
        if uses_hidden and self.teacher_kind == "ensemble":
            raise ValueError("An EnsembleTeacher provides logits only: the cosine, "
                             "hidden_mse and attention_mse weights must be 0.")
        self._layer_map_arg = layer_map
        self._cosine_layers_arg = cosine_layers
        self._projection_arg = projection
        if self.teacher_kind != "ensemble":
            self.layer_map = self._resolve_layer_map(layer_map)
            self.cosine_pairs = self._resolve_cosine_layers(cosine_layers)
        self.projection = self._make_projection(projection, uses_hidden)

        attention = "logits" if "attention_mse" in self.active_terms else False
        if attention:
            self._check_heads()
        teacher_features = (teacher if self.teacher_kind == "ensemble"
                            else build_feature_extractor(teacher, attention_scores=attention))
        self._features = _FeatureModels(
            teacher_features, build_feature_extractor(student, attention_scores=attention))
        self.term_trackers = {t: keras.metrics.Mean(name=t) for t in self.active_terms}
        # Every weight exists (models and projection): mark built so that
        # BackupAndRestore can restore into a Distiller that has not run.
        self.built = True

    # ----------------------------------------------------------------- checks
    def _check_compatible(self):
        student = self.student
        if self.task == "classifier":
            teacher_classes = self.teacher.num_classes
            if teacher_classes != student.num_classes:
                raise ValueError(f"The teacher predicts {teacher_classes} classes but the "
                                 f"student {student.num_classes}; they must match.")
        else:
            teacher_vocab = self.teacher.backbone.vocabulary_size
            if teacher_vocab != student.backbone.vocabulary_size:
                raise ValueError(
                    f"Vocabulary mismatch: the teacher has {teacher_vocab} tokens and the "
                    f"student {student.backbone.vocabulary_size}. Masked-LM distillation "
                    "compares distributions over the same vocabulary.")

    def _check_heads(self):
        teacher_heads = self.teacher.backbone.num_heads
        student_heads = self.student.backbone.num_heads
        if teacher_heads != student_heads:
            raise ValueError(
                f"attention_mse compares attention maps head by head, but the teacher has "
                f"{teacher_heads} heads and the student {student_heads}. Set "
                "attention_mse_weight=0 or use a student with as many heads.")

    def _resolve_layer_map(self, layer_map):
        teacher_layers = self.teacher.backbone.num_layers
        student_layers = self.student.backbone.num_layers
        if layer_map == "uniform":
            return [(i, int(round(i * teacher_layers / student_layers)))
                    for i in range(student_layers + 1)]
        pairs = [tuple(p) for p in layer_map] if isinstance(layer_map, (list, tuple)) else None
        if not pairs or not all(
            len(p) == 2 and all(isinstance(i, int) for i in p)
            and 0 <= p[0] <= student_layers and 0 <= p[1] <= teacher_layers for p in pairs
        ):
            raise ValueError(
                "`layer_map` must be 'uniform' or a non-empty list of (student_state, "
                f"teacher_state) pairs with student_state in [0, {student_layers}] and "
                f"teacher_state in [0, {teacher_layers}] (state 0 is the embedding output). "
                f"Received: {layer_map!r}")
        return pairs

    def _resolve_cosine_layers(self, cosine_layers):
        if cosine_layers == "last":
            return [(self.student.backbone.num_layers, self.teacher.backbone.num_layers)]
        if cosine_layers == "mapped":
            return list(self.layer_map)
        raise ValueError(f"`cosine_layers` must be 'last' or 'mapped'. "
                         f"Received: {cosine_layers!r}")

    def _make_projection(self, projection, uses_hidden):
        if projection not in ("auto", True, False):
            raise ValueError(f"`projection` must be 'auto', True or False. "
                             f"Received: {projection!r}")
        hidden_terms = [t for t in ("cosine", "hidden_mse") if t in self.active_terms]
        if not hidden_terms:
            return None
        teacher_width = _hidden_size(self.teacher)
        student_width = _hidden_size(self.student)
        if projection is False:
            if teacher_width != student_width:
                raise ValueError(
                    f"Hidden size mismatch: the teacher's hidden states have "
                    f"{teacher_width} units and the student's {student_width}, and "
                    f"projection=False; {hidden_terms} need equal widths. Use "
                    "projection='auto' to learn a projection.")
            return None
        if projection == "auto" and teacher_width == student_width:
            return None
        layer = keras.layers.Dense(teacher_width, name="hidden_projection")
        layer.build((None, None, student_width))
        return layer

    # ---------------------------------------------------------------- forward
    def call(self, inputs, training=None):
        """The student's output (what `predict` returns)."""
        return self.student(inputs, training=training)

    def _value(self, value):
        if isinstance(value, float):
            return value
        return ops.cast(value(self.optimizer.iterations), "float32")

    def _inputs(self, x):
        if self.task == "masked_lm" and self.kd_positions == "all":
            batch, length = ops.shape(x["token_ids"])[0], ops.shape(x["token_ids"])[1]
            positions = ops.broadcast_to(ops.arange(length, dtype="int32")[None], (batch, length))
            return {**x, "mask_positions": positions}
        return x

    def _gather_masked(self, logits, x):
        """All-position LM logits -> logits at the masked-LM slots."""
        return tf.gather(logits, tf.cast(x["mask_positions"], "int32"), batch_dims=1)

    def _project(self, hidden):
        return hidden if self.projection is None else self.projection(hidden)

    def compute_terms(self, x, y, sample_weight, teacher_out, student_out):
        """Each active term's unweighted value, from one pass of each model."""
        terms = {}
        token_mask = x["padding_mask"]
        # Under a strategy, token- and sample-weighted means become each
        # replica's share of the global-batch mean (`replica_share`); 1.0
        # on one device.
        token_share = losses.replica_share(token_mask) if self._uses_token_mask() else 1.0
        teacher_logits = teacher_out["logits"]
        student_logits = student_out["logits"]
        if self.task == "masked_lm" and self.kd_positions == "all":
            kd_weights = token_mask
            prediction_logits = self._gather_masked(student_logits, x)
        else:
            kd_weights = sample_weight
            prediction_logits = student_logits
        if "kd" in self.active_terms:
            if self.kd_loss is not None:
                terms["kd"] = self.kd_loss.compute_loss(teacher_logits, student_logits)
            else:
                temperature = self._value(self.temperature)
                if not isinstance(temperature, float):
                    tf.debugging.assert_positive(temperature, "temperature schedule gave T <= 0")
                terms["kd"] = losses.soft_target_kl(teacher_logits, student_logits,
                                                    temperature, kd_weights) * (
                    losses.replica_share(kd_weights))
        if "label" in self.active_terms:
            if y is None:
                raise ValueError("label_weight > 0 but the dataset yields no labels. Pass "
                                 "(x, y) batches, or label_weight=0 for label-free "
                                 "distillation.")
            terms["label"] = losses.sparse_cross_entropy(y, prediction_logits, sample_weight) * (
                losses.replica_share(sample_weight))
        teacher_states = teacher_out.get("hidden_states")
        student_states = student_out.get("hidden_states")
        if "cosine" in self.active_terms:
            terms["cosine"] = ops.mean(ops.stack([
                losses.cosine_embedding_loss(teacher_states[t],
                                             self._project(student_states[s]), token_mask)
                for s, t in self.cosine_pairs])) * token_share
        if "hidden_mse" in self.active_terms:
            values = []
            for s, t in self.layer_map:
                target = teacher_states[t]
                projected = self._project(student_states[s])
                if self.hidden_loss is not None:
                    values.append(self.hidden_loss.compute_loss(target, projected))
                else:
                    values.append(losses.masked_mse(target, projected, token_mask) * token_share)
            terms["hidden_mse"] = ops.sum(ops.stack(values))
        if "attention_mse" in self.active_terms:
            # Attention maps exist for transformer layers only (state i >= 1
            # is the output of layer i - 1).
            pairs = [(s - 1, t - 1) for s, t in self.layer_map if s > 0 and t > 0]
            mask = ops.cast(token_mask, "float32")
            pair_share = losses.replica_share(mask[:, :, None] * mask[:, None, :])
            terms["attention_mse"] = ops.sum(ops.stack([
                losses.attention_mse(teacher_out["attention_scores"][t],
                                     student_out["attention_scores"][s], token_mask)
                for s, t in pairs])) * pair_share
        return terms, prediction_logits

    def _uses_token_mask(self):
        return "cosine" in self.active_terms or (
            "hidden_mse" in self.active_terms and self.hidden_loss is None)

    def _total(self, terms):
        total = 0.0
        for name, value in terms.items():
            total = total + self._value(self.weights_by_term[name]) * value
        return total

    def _teacher_forward(self, inputs):
        out = self._features.teacher(inputs, training=False)
        if self.teacher_kind == "ensemble":
            out = {"logits": out}
        # The teacher is frozen: nothing flows back into it.
        return keras.tree.map_structure(ops.stop_gradient, out)

    def _forward(self, x, training):
        inputs = self._inputs(x)
        teacher_out = self._teacher_forward(inputs)
        student_out = self._features.student(inputs, training=training)
        return teacher_out, student_out

    def _models_in_scope(self):
        return {"teacher": self.teacher, "student": self.student, "distiller": self}

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        inputs = self._inputs(x)
        # Teacher first, outside the tape: the tape records only the student.
        teacher_out = self._teacher_forward(inputs)
        with tf.GradientTape() as tape:
            student_out = self._features.student(inputs, training=True)
            terms, y_pred = self.compute_terms(x, y, sample_weight, teacher_out, student_out)
            loss = self._total(terms)
            # Each replica's loss is a mean over its share of the batch;
            # dividing by the replica count makes the summed gradients the
            # gradient of the global mean (a no-op on one device).
            scaled = self.optimizer.scale_loss(scale_loss_for_distribution(loss))
        trainable = self.trainable_weights
        gradients = tape.gradient(scaled, trainable)
        self.optimizer.apply_gradients(zip(gradients, trainable))
        return self._update_metrics(x, y, y_pred, sample_weight, loss, terms)

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        teacher_out, student_out = self._forward(x, training=False)
        terms, y_pred = self.compute_terms(x, y, sample_weight, teacher_out, student_out)
        return self._update_metrics(x, y, y_pred, sample_weight, self._total(terms), terms)

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.student(x, training=False)

    def _update_metrics(self, x, y, y_pred, sample_weight, loss, terms):
        batch = ops.shape(x["token_ids"])[0]
        self._loss_tracker.update_state(loss, sample_weight=batch)
        for name, value in terms.items():
            self.term_trackers[name].update_state(value, sample_weight=batch)
        if y is None:
            if self._compile_metrics is not None:
                raise ValueError("The compiled `metrics` need labels, but the dataset yields "
                                 "none. Compile without `metrics` for label-free distillation.")
            return {m.name: m.result() for m in self.metrics}
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def compile(self, optimizer="adamw", loss=None, **kwargs):
        """Like `keras.Model.compile`; the loss comes from the constructor."""
        if loss is not None:
            raise ValueError("The Distiller builds its loss from its constructor arguments "
                             "(kd_weight, label_weight, ...); do not pass `loss` to compile.")
        super().compile(optimizer=optimizer, **kwargs)

    # ------------------------------------------------------------ serializing
    def get_config(self):
        config = super().get_config()
        ser = keras.saving.serialize_keras_object
        config.update({
            "teacher": ser(self.teacher),
            "student": ser(self.student),
            "temperature": None if self._temperature_arg is None else ser(self._temperature_arg),
            "kd_weight": ser(self.weights_by_term["kd"]),
            "label_weight": ser(self.weights_by_term["label"]),
            "cosine_weight": ser(self.weights_by_term["cosine"]),
            "hidden_mse_weight": ser(self.weights_by_term["hidden_mse"]),
            "attention_mse_weight": ser(self.weights_by_term["attention_mse"]),
            "layer_map": (self._layer_map_arg if isinstance(self._layer_map_arg, str)
                          else [list(p) for p in self._layer_map_arg]),
            "cosine_layers": self._cosine_layers_arg,
            "projection": self._projection_arg,
            "kd_positions": self.kd_positions,
            "kd_loss": None if self.kd_loss is None else ser(self.kd_loss),
            "hidden_loss": None if self.hidden_loss is None else ser(self.hidden_loss),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        des = keras.saving.deserialize_keras_object
        for key in ("teacher", "student", "temperature", "kd_weight", "label_weight",
                    "cosine_weight", "hidden_mse_weight", "attention_mse_weight",
                    "kd_loss", "hidden_loss"):
            if isinstance(config.get(key), dict):
                config[key] = des(config[key])
        return cls(**config)
