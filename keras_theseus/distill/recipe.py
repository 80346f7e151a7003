"""Task distillation of a layer-dropped student in one call."""

import keras_hub

from keras_theseus.distill.distiller import Distiller
from keras_theseus.distill.layer_selection import layer_dropped_student
from keras_theseus.distribute.replication import replicate
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.distribute.strategies import strategy_scope
from keras_theseus.models.classifier import accuracy_metrics
from keras_theseus.models.classifier import bert_optimizer
from keras_theseus.models.precision import with_precision
from keras_theseus.models.resumable_fit import fit_resumable


def distill_classifier(teacher, train_data, validation_data=None, student=None, num_layers=3,
                       init="spread", epochs=3, learning_rate=1e-4, weight_decay=0.01,
                       jit_compile="auto", callbacks=None, verbose="auto", backup_dir=None,
                       precision=None, strategy=None, **distiller_kwargs):
    """Distil a fine-tuned classifier into a smaller one with `Distiller.fit`.

    Args:
        teacher: fine-tuned `keras_hub.models.BertTextClassifier`.
        train_data: batched `tf.data.Dataset` of `(x, y)`; its cardinality
            sizes the warm-up/cosine learning-rate schedule.
        validation_data: optional dataset for `fit`.
        student: a ready student; default a layer-dropped copy of the
            teacher (`num_layers`, `init` as in `layer_dropped_student`).
        num_layers, init: see `select_layers`.
        epochs, learning_rate, weight_decay: the AdamW budget.
        jit_compile: XLA-compile the steps (needs a static batch size):
            `"auto"` (XLA except on CPU-only machines, where it measured
            slower), `True` or `False`.
        callbacks: passed to `fit`.
        backup_dir: resume an interrupted run from here (see
            `keras_theseus.models.fit_resumable`).
        precision: train teacher pass and student in this precision
            (`"float32"`, `"mixed_bfloat16"`, `"mixed_float16"`, `"auto"`,
            see `keras_theseus.models.resolve_precision`); None (default)
            keeps the models' own. Every loss term is computed in float32.
        strategy: train under this `tf.distribute` strategy: a
            `tf.distribute.Strategy` or a name (`"mirrored"`,
            `"multi_worker"`, `"tpu"`, see `keras_theseus.distribute.
            resolve_strategy`); None (default) trains on one device.
            `train_data` is batched by the global batch size, which the
            strategy splits over its replicas.
            Teacher and student are rebuilt in its scope (same weights)
            when they were built outside it.
        **distiller_kwargs: `Distiller` arguments (`temperature`, `kd_weight`,
            `label_weight`, `cosine_weight`, `hidden_mse_weight`, ...).

    Returns:
        `(student, history)`: the trained plain keras-hub student and the
        `fit` History (every loss term per epoch).

    Example:
    ```python
    student, history = distill_classifier(teacher, train_ds, dev_ds, num_layers=3,
                                          kd_weight=1.0, label_weight=1.0,
                                          hidden_mse_weight=1.0)
    ```
    """
    if not isinstance(teacher, keras_hub.models.BertTextClassifier):
        raise TypeError("`teacher` must be a keras_hub.models.BertTextClassifier. "
                        f"Received: {type(teacher).__name__}")
    strategy = resolve_strategy(strategy)
    teacher = replicate(with_precision(teacher, precision), strategy)
    steps = int(train_data.cardinality())
    total_steps = steps * epochs if steps > 0 else None
    with strategy_scope(strategy):
        if student is None:
            student = layer_dropped_student(teacher, num_layers, init)
        else:
            student = replicate(with_precision(student, precision), strategy)
        distiller = Distiller(teacher, student, **distiller_kwargs)
        distiller.compile(optimizer=bert_optimizer(learning_rate, weight_decay, total_steps),
                          metrics=accuracy_metrics(),
                          jit_compile=jit_compile)
    history = fit_resumable(distiller, train_data, backup_dir, validation_data=validation_data,
                            epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
    return student, history
