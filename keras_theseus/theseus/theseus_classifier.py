"""BERT-of-Theseus: successor modules that stochastically replace predecessor layers."""

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from keras.src.losses.loss import scale_loss_for_distribution
from keras.src.losses.loss import unscale_loss_for_distribution

from keras_theseus.distill.losses import soft_target_kl
from keras_theseus.distribute.checked_fit import StrategyCheckedFit
from keras_theseus.theseus import schedules as schedules_lib
from keras_theseus.theseus.schedules import check_probability

SUCCESSOR_INITS = ("first", "every_rth", "last_of_module", "random")


def successor_depths(num_layers):
    """The successor depths a predecessor of `num_layers` layers can be split into."""
    return [d for d in range(1, num_layers + 1) if num_layers % d == 0]


def successor_source_layers(num_layers, num_successor_layers, init="first"):
    """Which predecessor layer initializes each successor layer.

    Args:
        num_layers: predecessor depth L.
        num_successor_layers: successor depth n; L / n must be an integer r.
        init: `"first"` (layers 0..n-1, the PyTorch reference), `"every_rth"`
            (the first layer of each module: 0, r, 2r, ...),
            `"last_of_module"` (r-1, 2r-1, ...), `"random"` (no copy), or an
            explicit list of n layer indices.

    Returns:
        A list of n predecessor layer indices, or None for `"random"`.
    """
    if not isinstance(num_successor_layers, int) or num_successor_layers < 1:
        raise ValueError(
            f"`num_successor_layers` must be an int >= 1. Received: {num_successor_layers!r}"
        )
    if num_layers % num_successor_layers:
        raise ValueError(
            f"The predecessor's {num_layers} layers cannot be split into "
            f"{num_successor_layers} equal modules: `num_successor_layers` must divide "
            f"{num_layers} (choose one of {successor_depths(num_layers)})."
        )
    r = num_layers // num_successor_layers
    if isinstance(init, (list, tuple)):
        if len(init) != num_successor_layers or not all(
            isinstance(i, int) and 0 <= i < num_layers for i in init
        ):
            raise ValueError(
                f"An explicit `init` must list {num_successor_layers} layer indices in "
                f"[0, {num_layers}). Received: init={init!r}"
            )
        return list(init)
    if init == "first":
        return list(range(num_successor_layers))
    if init == "every_rth":
        return [i * r for i in range(num_successor_layers)]
    if init == "last_of_module":
        return [i * r + r - 1 for i in range(num_successor_layers)]
    if init == "random":
        return None
    raise ValueError(
        f"`init` must be one of {SUCCESSOR_INITS} or a list of layer indices. Received: {init!r}"
    )


@keras.saving.register_keras_serializable(package="keras_theseus")
class TheseusClassifier(StrategyCheckedFit, keras.Model):
    """A BERT classifier whose layers are progressively replaced by successors.

    The predecessor (a fine-tuned classifier with L transformer layers) is
    split into n modules of r = L / n consecutive layers. Successor module i
    is one transformer layer that replaces predecessor layers
    [i·r, (i+1)·r). In training, each module draws once per step (shared by
    the batch) whether its successor runs (probability p, the replacement
    rate) or its predecessor layers do; only the drawn branch is computed
    (`tf.cond`). In inference only the successors run, so the model is the
    compact successor.

    The model owns its replacement schedule, as an optimizer owns its
    learning-rate schedule: with `schedule=` (e.g. `LinearReplacement`), p is
    computed inside the compiled train step from the model's own step
    counter `replacement_step` (saved with the weights, so the schedule
    resumes after `BackupAndRestore`), with no Python work per batch. The
    schedule is part of `get_config`, so a saved model keeps it. Without a
    schedule, p is the non-trainable variable `replacement_rate` (constant,
    or set between steps from Python by
    `keras_theseus.callbacks.ReplacementScheduler` for Python-only
    schedules). The model reports p as the metric `replacement_rate`, and
    counts branch executions per module in `branch_counts`
    (`[predecessor, successor]` per row). The draws are a stateless function
    of `(seed, replacement_step)`: the same on every replica, and a resumed
    run draws exactly what an uninterrupted one would.

    What trains by default: the successor layers only. Predecessor layers are
    always frozen; `train_embeddings` / `train_classifier` unfreeze the
    embeddings and the pooler + classification head. When a step draws no
    successor and nothing else trains, the weight update is skipped (it has
    nothing to learn) but the step still counts for the schedule.

    Build it from a fine-tuned classifier with `from_predecessor`; the
    constructor takes the parts directly (used by `.keras` loading).

    Args:
        backbone: the predecessor's `keras_hub.models.BertBackbone` (this
            model owns it; `from_predecessor` passes a copy).
        num_classes: int.
        num_successor_layers: n, dividing the backbone's depth.
        dropout: classification-head dropout.
        replacement_rate: constant p in (0, 1] when there is no `schedule`
            (default 0.5); not allowed together with `schedule`.
        schedule: a `ReplacementSchedule` (or a float, a constant p, or its
            serialized config) evaluated in the train step; None keeps p at
            `replacement_rate`. Python-only schedules (`CallableReplacement`)
            go to the `ReplacementScheduler` callback instead.
        train_embeddings: bool, also train the embedding layers.
        train_classifier: bool, also train the pooler and the head.
        seed: seed of the per-step Bernoulli draws.
        kd_weight: weight of the knowledge-distillation term (default 0, off).
            With kd_weight > 0 the replacing phase also minimises
            `T² · KL(softmax(t/T) ‖ softmax(s/T))` between the predecessor's
            logits t (the all-predecessor path of this model, inference mode:
            one extra forward per step without gradients, as the
            `Distiller`'s teacher pass) and the mixed model's logits s.
            Unless `train_embeddings` / `train_classifier` are on, that path
            is exactly the fine-tuned predecessor.
        label_weight: weight of the hard-label loss given to `compile`
            (default 1).
        temperature: the KD softmax temperature T (default 2).

    Example:
    ```python
    theseus = TheseusClassifier.from_predecessor(
        teacher, num_successor_layers=3, schedule=LinearReplacement(0.3, 0.0006))
    theseus.compile(optimizer=keras_theseus.models.bert_optimizer(5e-5),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"])
    theseus.fit(train_ds, epochs=2)           # p follows the schedule, step by step
    successor = extract_successor(theseus)   # a plain keras-hub classifier
    ```
    """

    def __init__(
        self,
        backbone,
        num_classes,
        num_successor_layers,
        dropout=0.1,
        replacement_rate=None,
        train_embeddings=False,
        train_classifier=False,
        seed=None,
        schedule=None,
        kd_weight=0.0,
        label_weight=1.0,
        temperature=2.0,
        **kwargs,
    ):
        # The model computes in its backbone's precision (dtype policy): the
        # successors copy the backbone's layer configs, the head gets it
        # below, and `compile` wraps the optimizer for loss scaling under
        # mixed_float16.
        kwargs.setdefault("dtype", getattr(backbone, "dtype_policy", None))
        super().__init__(**kwargs)
        for name, value in (("kd_weight", kd_weight), ("label_weight", label_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{name}` must be a number >= 0. Received: {value!r}")
        if not kd_weight and not label_weight:
            raise ValueError("At least one of `kd_weight` and `label_weight` must be > 0: "
                             "with both 0 nothing trains.")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
                or not temperature > 0:
            raise ValueError(f"`temperature` must be a number > 0. Received: {temperature!r}")
        self.kd_weight = float(kd_weight)
        self.label_weight = float(label_weight)
        self.temperature = float(temperature)
        if not isinstance(backbone, keras_hub.models.BertBackbone):
            raise TypeError(
                "`backbone` must be a keras_hub.models.BertBackbone. "
                f"Received: {type(backbone).__name__}"
            )
        successor_source_layers(backbone.num_layers, num_successor_layers)  # validates
        if schedule is not None:
            schedule = schedules_lib.get(schedule)
            if not schedule.traceable:
                raise ValueError(
                    f"`schedule` must run inside the compiled train step; "
                    f"{type(schedule).__name__} runs only in Python. Pass it to the "
                    "keras_theseus.callbacks.ReplacementScheduler callback instead, or use "
                    "ConstantReplacement / LinearReplacement.")
            if replacement_rate is not None:
                raise ValueError(
                    "Pass either `replacement_rate` (a constant p) or `schedule`, not both. "
                    f"Received: replacement_rate={replacement_rate!r}, schedule={schedule!r}")
            initial_rate = schedule.rate(0)
        else:
            initial_rate = 0.5 if replacement_rate is None else replacement_rate
            check_probability("replacement_rate", initial_rate)
        self.schedule = schedule
        self.backbone = backbone
        self.num_classes = num_classes
        self.num_successor_layers = num_successor_layers
        self.module_size = backbone.num_layers // num_successor_layers
        self.dropout = dropout
        # Draws are stateless functions of (seed, step): identical on every
        # replica, and a resumed run draws what an uninterrupted one would.
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)

        hidden = backbone.hidden_dim
        self.embeddings = keras.Model(
            backbone.input, backbone.get_layer("embeddings_dropout").output,
            name="embeddings",
        )
        template = backbone.transformer_layers[0]
        self.successor_layers = []
        for i in range(num_successor_layers):
            config = template.get_config()
            config["name"] = f"successor_layer_{i}"
            config["trainable"] = True  # even if the predecessor was frozen
            # The predecessor's layer class and config: same FFN activation
            # and head size.
            layer = type(template).from_config(config)
            layer.build((None, None, hidden))
            self.successor_layers.append(layer)
        self.pooled_dense = backbone.get_layer("pooled_dense")
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout",
                                                   dtype=backbone.dtype_policy)
        self.output_dense = keras.layers.Dense(num_classes, name="logits",
                                               dtype=backbone.dtype_policy)
        self.output_dense.build((None, hidden))

        for layer in backbone.transformer_layers:
            layer.trainable = False
        self.embeddings.trainable = train_embeddings
        self.pooled_dense.trainable = train_classifier
        self.output_dense.trainable = train_classifier

        self.initial_replacement_rate = None if schedule is not None else float(initial_rate)
        self.replacement_rate = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(initial_rate),
            trainable=False, name="replacement_rate", aggregation="only_first_replica",
        )
        self.replacement_step = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False,
            name="replacement_step", aggregation="only_first_replica",
        )
        self.branch_counts = self.add_weight(
            shape=(num_successor_layers, 2), dtype="int64", initializer="zeros",
            trainable=False, name="branch_counts", aggregation="only_first_replica",
        )
        # Every weight exists now; mark built so that callbacks such as
        # BackupAndRestore can restore into a model that has not run yet.
        self.built = True

    @classmethod
    def from_predecessor(
        cls,
        predecessor,
        num_successor_layers,
        init="first",
        replacement_rate=None,
        train_embeddings=False,
        train_classifier=False,
        seed=None,
        schedule=None,
        **kwargs,
    ):
        """Build a Theseus model from a fine-tuned keras-hub classifier.

        The predecessor is copied (its layers are neither shared nor frozen),
        and successor layer i starts as a copy of the predecessor layer that
        `init` names (see `successor_source_layers`).

        Args:
            predecessor: a fine-tuned `keras_hub.models.BertTextClassifier`.
            num_successor_layers: n; must divide the predecessor's depth.
            init: successor initialization strategy (default `"first"`).
            replacement_rate, train_embeddings, train_classifier, seed,
                schedule: see the class docstring.
            **kwargs: `kd_weight`, `label_weight`, `temperature` (see the
                class docstring).
        """
        if not isinstance(predecessor, keras_hub.models.BertTextClassifier):
            raise TypeError(
                "`predecessor` must be a keras_hub.models.BertTextClassifier. "
                f"Received: {type(predecessor).__name__}"
            )
        source = successor_source_layers(
            predecessor.backbone.num_layers, num_successor_layers, init
        )
        old = predecessor.backbone
        config = old.get_config()
        config.pop("trainable", None)  # a frozen teacher still gives a trainable copy
        backbone = old.__class__.from_config(config)
        backbone.set_weights(old.get_weights())
        model = cls(
            backbone=backbone,
            num_classes=predecessor.num_classes,
            num_successor_layers=num_successor_layers,
            dropout=predecessor.dropout,
            replacement_rate=replacement_rate,
            train_embeddings=train_embeddings,
            train_classifier=train_classifier,
            seed=seed,
            schedule=schedule,
            **kwargs,
        )
        model.output_dense.set_weights(predecessor.output_dense.get_weights())
        if source is not None:
            for layer, index in zip(model.successor_layers, source):
                layer.set_weights(old.transformer_layers[index].get_weights())
        return model

    # --- forward -----------------------------------------------------------

    def draw_successors(self, step=None):
        """One Bernoulli(p) draw per module: True where the successor runs.

        The draw is a stateless function of `(seed, step)`; `step` defaults to
        `replacement_step`.
        """
        step = self.replacement_step if step is None else step
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        u = tf.random.stateless_uniform((self.num_successor_layers,), seed=seed)
        return u < self.replacement_rate

    def _count(self, module, branch):
        delta = np.zeros((self.num_successor_layers, 2), "int64")
        delta[module, branch] = 1
        self.branch_counts.assign_add(delta)

    def _module(self, i, x, padding_mask, use_successor, training):
        r = self.module_size
        # On one device the counter is bumped inside the branch that runs,
        # which proves only that branch executes. Under tf.distribute a
        # variable update inside a cond is a cross-replica sync point TF
        # cannot handle, so the count is taken from the draw instead.
        count_in_branch = not tf.distribute.has_strategy()
        if not count_in_branch:
            self.branch_counts.assign_add(tf.cast(tf.one_hot(
                tf.cast(use_successor, "int32"), 2), "int64")[None] * tf.one_hot(
                    i, self.num_successor_layers, dtype="int64")[:, None])

        def successor():
            if count_in_branch:
                self._count(i, 1)
            return self.successor_layers[i](x, padding_mask=padding_mask, training=training)

        def predecessor():
            if count_in_branch:
                self._count(i, 0)
            y = x
            for layer in self.backbone.transformer_layers[i * r:(i + 1) * r]:
                y = layer(y, padding_mask=padding_mask, training=training)
            return y

        return tf.cond(use_successor, successor, predecessor)

    def forward(self, inputs, use_successor=None, training=False):
        """Run the model with given module choices.

        Args:
            inputs: dict with `token_ids`, `segment_ids`, `padding_mask`.
            use_successor: bool tensor `(num_successor_layers,)`; None runs
                the successors only (inference).
            training: dropout on/off.

        Returns:
            Logits `(batch, num_classes)`.
        """
        padding_mask = inputs["padding_mask"]
        x = self.embeddings(inputs, training=training)
        for i in range(self.num_successor_layers):
            if use_successor is None:
                x = self.successor_layers[i](x, padding_mask=padding_mask, training=training)
            else:
                x = self._module(i, x, padding_mask, use_successor[i], training)
        pooled = self.pooled_dense(x[:, self.backbone.cls_token_index, :])
        return self.output_dense(self.output_dropout(pooled, training=training))

    def call(self, inputs, training=False):
        if training:
            return self.forward(inputs, self.draw_successors(), training=True)
        return self.forward(inputs, None, training=False)

    # --- training ----------------------------------------------------------

    def _models_in_scope(self):
        return {"theseus": self}

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self.jit_compile and x["token_ids"].shape[0] is None:
            # XLA cannot differentiate through tf.cond branches whose Dense
            # layers see a dynamic batch (Tensordot's permutation becomes a
            # runtime value). Say so instead of failing deep inside tf2xla.
            raise ValueError(
                "XLA-compiled Theseus training needs batches of a static size. "
                "Batch the training tf.data.Dataset with `drop_remainder=True` "
                "(keras_theseus datasets do so for the train split), or compile "
                "with `jit_compile=False`."
            )
        if self.schedule is not None:
            # The rate is a probability: float32 whatever the compute dtype.
            step = tf.cast(self.replacement_step, "float32")
            self.replacement_rate.assign(tf.cast(self.schedule(step), "float32"))
        use_successor = self.draw_successors()
        if self.kd_weight:
            # The predecessor's logits: its own path, no dropout, no gradient.
            teacher_logits = tf.stop_gradient(self.forward(
                x, tf.zeros((self.num_successor_layers,), "bool"), training=False))
        with tf.GradientTape() as tape:
            y_pred = self.forward(x, use_successor, training=True)
            loss = self.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            if self.label_weight != 1.0:
                loss = loss * self.label_weight
            if self.kd_weight:
                # float32 whatever the compute dtype (soft_target_kl casts).
                # compute_loss already divided the label term by the replica
                # count; the KD term, a mean over this replica's examples, too.
                loss = loss + scale_loss_for_distribution(self.kd_weight * soft_target_kl(
                    teacher_logits, y_pred, self.temperature))
            self._loss_tracker.update_state(
                unscale_loss_for_distribution(loss),
                sample_weight=tf.shape(keras.tree.flatten(x)[0])[0],
            )
            scaled = self.optimizer.scale_loss(loss)
        trainable = self.trainable_weights
        gradients = tape.gradient(scaled, trainable)

        def apply():
            self.optimizer.apply_gradients(zip(gradients, trainable))
            return tf.constant(True)

        def skip():
            # Keep the learning-rate schedule in step with the train steps.
            self.optimizer.iterations.assign_add(1)
            return tf.constant(False)

        only_successors_train = not any(
            w.trainable for w in self.embeddings.weights + self.pooled_dense.weights
            + self.output_dense.weights
        )
        if only_successors_train and not tf.distribute.has_strategy():
            # No successor drawn: every trainable weight has a zero gradient,
            # yet AdamW would still move it (momentum, weight decay); as
            # PyTorch skips parameters without gradients, skip the update.
            # (Under tf.distribute an optimizer update cannot sit inside a
            # cond, so it is applied; its gradients are zero.)
            tf.cond(tf.reduce_any(use_successor), apply, skip)
        else:
            apply()
        self.replacement_step.assign_add(1)
        metrics = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        metrics["replacement_rate"] = tf.identity(self.replacement_rate)
        return metrics

    def load_own_variables(self, store):
        # Files saved before 0.2 hold a fourth variable, `schedule_params`
        # ([enabled, base, slope, cutoff], written by ReplacementScheduler
        # during fit). Load the other three; an enabled schedule becomes the
        # model's own, so a run checkpointed mid-training resumes on it.
        own = self._trainable_variables + self._non_trainable_variables
        if len(store.keys()) == len(own) + 1:
            enabled, base, slope, cutoff = (float(v) for v in np.asarray(store[str(len(own))]))
            store = {str(i): store[str(i)] for i in range(len(own))}
            if enabled and self.schedule is None:
                if slope > 0:
                    self.schedule = schedules_lib.LinearReplacement(base, slope)
                else:
                    self.schedule = schedules_lib.ConstantReplacement(
                        base, replace_all_after=int(cutoff) if cutoff >= 0 else None)
                self.initial_replacement_rate = None
        super().load_own_variables(store)

    def get_config(self):
        config = super().get_config()
        config.update({
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "num_successor_layers": self.num_successor_layers,
            "dropout": self.dropout,
            "replacement_rate": self.initial_replacement_rate,
            "schedule": None if self.schedule is None
            else keras.saving.serialize_keras_object(self.schedule),
            # The layers' own `trainable` flags are the truth (a user may
            # have changed them after construction).
            "train_embeddings": self.embeddings.trainable,
            "train_classifier": self.output_dense.trainable,
            "seed": self.seed,
            "kd_weight": self.kd_weight,
            "label_weight": self.label_weight,
            "temperature": self.temperature,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        if config.get("schedule") is not None:
            config["schedule"] = schedules_lib.get(config["schedule"])
        return cls(**config)
