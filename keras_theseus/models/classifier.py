"""Text classifiers on any keras-hub `BertBackbone`."""

import keras
import keras_hub

from keras_theseus.models.fused_adamw import FusedAdamW


def build_text_classifier(backbone, num_classes, dropout=0.1, preprocessor=None):
    """Put a classification head on a BERT backbone.

    The result is a plain keras-hub `BertTextClassifier` (pooled `[CLS]`
    output → dropout → Dense `logits`), so it saves to `.keras`, exports and
    fine-tunes like any keras-hub task.

    Args:
        backbone: a `keras_hub.models.BertBackbone` (or our subclass).
        num_classes: int >= 2.
        dropout: float in [0, 1).
        preprocessor: optional keras-hub preprocessor. Leave it `None` when the
            data pipeline tokenizes (as `keras_theseus.datasets` does), so the
            model takes `token_ids` / `segment_ids` / `padding_mask`.

    Example:
    ```python
    backbone = keras_theseus.models.load_backbone("all_minilm_l6_v2")
    classifier = keras_theseus.models.build_text_classifier(backbone, 2)
    compile_text_classifier(classifier)
    ```
    """
    if not isinstance(backbone, keras_hub.models.BertBackbone):
        raise TypeError(
            "`backbone` must be a keras_hub.models.BertBackbone. "
            f"Received: {type(backbone).__name__}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2. Received: {num_classes!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: {dropout!r}")
    return keras_hub.models.BertTextClassifier(
        backbone=backbone,
        num_classes=num_classes,
        preprocessor=preprocessor,
        dropout=dropout,
    )


def bert_optimizer(learning_rate=5e-5, weight_decay=0.01, total_steps=None,
                   warmup_fraction=0.1, global_clipnorm=None):
    """AdamW (`FusedAdamW`) with BERT's warm-up then decay schedule.

    Args:
        learning_rate: peak learning rate (> 0).
        weight_decay: AdamW decoupled weight decay.
        total_steps: if given, warm up linearly for
            `warmup_fraction * total_steps` steps, then cosine-decay to 0
            (Keras' `CosineDecay` with warm-up); otherwise constant.
        warmup_fraction: in [0, 1).
        global_clipnorm: clip the gradients to this global norm (BERT's
            reference optimizer clips at 1.0); None: off.

    Example:
    ```python
    distiller.compile(optimizer=bert_optimizer(1e-4, total_steps=750))
    ```
    """
    if learning_rate <= 0:
        raise ValueError(f"`learning_rate` must be > 0. Received: {learning_rate!r}")
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"`warmup_fraction` must be in [0, 1). Received: {warmup_fraction!r}")
    schedule = learning_rate
    if total_steps is not None:
        if total_steps < 1:
            raise ValueError(f"`total_steps` must be >= 1. Received: {total_steps!r}")
        warmup = int(warmup_fraction * total_steps)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else learning_rate,
            decay_steps=max(1, total_steps - warmup),
            warmup_target=learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    if global_clipnorm is not None and not global_clipnorm > 0:
        raise ValueError(f"`global_clipnorm` must be > 0 or None. Received: {global_clipnorm!r}")
    # FusedAdamW: Keras' AdamW with TF's one-pass Adam kernel (same
    # arithmetic; the update of MiniLM's 22M parameters ~2.3x faster).
    return FusedAdamW(learning_rate=schedule, weight_decay=weight_decay,
                      global_clipnorm=global_clipnorm)


def accuracy_metrics():
    """The metrics every keras_theseus classifier and trainer reports: `accuracy`.

    A fresh list each call (a metric holds state, so two compiled models
    must not share one). The recipes pass it to their trainers' `compile`
    so that every History has the same `accuracy` / `val_accuracy` keys as
    `compile_text_classifier`'s.

    Example:
    ```python
    distiller.compile(optimizer=bert_optimizer(1e-4), metrics=accuracy_metrics())
    ```
    """
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


def compile_text_classifier(
    model,
    learning_rate=5e-5,
    weight_decay=0.01,
    jit_compile="auto",
    steps_per_execution=1,
    total_steps=None,
    warmup_fraction=0.1,
):
    """Compile a classifier the way BERT fine-tuning is usually done.

    AdamW, sparse categorical cross-entropy on logits, accuracy metric.
    `jit_compile="auto"` by default (Keras' rule: XLA on GPU/TPU, off on
    CPU-only machines and under a distribution strategy): on CPU, TF 2.21's
    graph mode with oneDNN kernels measured 1.10× faster than XLA for the
    MiniLM fine-tune step, 1.23× for Theseus, 1.04× for the Distiller
    (`benchmarks/xla_train_steps.py`). Pass `True` to force XLA.

    Args:
        model: the classifier to compile.
        learning_rate, weight_decay, total_steps, warmup_fraction: the
            optimizer, see `bert_optimizer`.
        jit_compile: `"auto"`, `True` (XLA) or `False`, for the train/eval
            steps.
        steps_per_execution: steps per compiled call.

    Example:
    ```python
    compile_text_classifier(classifier, learning_rate=3e-5)
    classifier.fit(train_ds, validation_data=dev_ds, epochs=2)
    ```
    """
    model.compile(
        optimizer=bert_optimizer(learning_rate, weight_decay, total_steps, warmup_fraction),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=accuracy_metrics(),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model
