"""DynaBERT end to end: importance → rewiring → DynaBERT_w → DynaBERT."""

import dataclasses

import keras

from keras_theseus.distribute.replication import replicate
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.distribute.strategies import strategy_scope
from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.importance import compute_importance
from keras_theseus.dynabert.importance import rewire
from keras_theseus.dynabert.multipliers import DEFAULT_DEPTHS
from keras_theseus.dynabert.multipliers import DEFAULT_WIDTHS
from keras_theseus.dynabert.trainer import DynaBertTrainer
from keras_theseus.dynabert.trainer import frozen_copy
from keras_theseus.models.classifier import accuracy_metrics
from keras_theseus.models.classifier import bert_optimizer
from keras_theseus.models.precision import with_precision
from keras_theseus.models.resumable_fit import fit_resumable
from keras_theseus.models.resumable_fit import stage_dir


@dataclasses.dataclass
class DynaBertResult:
    """What `train_dynabert` returns: the model and each phase's History."""

    model: DynaBertClassifier
    head_importance: object
    neuron_importance: object
    width_history: keras.callbacks.History
    depth_history: keras.callbacks.History


def train_dynabert(teacher, train_data, validation_data=None, importance_data=None,
                   widths=DEFAULT_WIDTHS, depths=DEFAULT_DEPTHS, width_epochs=1,
                   depth_epochs=1, learning_rate=2e-5, hidden_weights=(0.1, 1.0),
                   importance_batches=None, clip_norm=1.0, jit_compile="auto", callbacks=None,
                   verbose="auto", backup_dir=None, precision=None, strategy=None):
    """DynaBERT (Hou et al., 2020) from a fine-tuned classifier, through `fit`.

    1. Convert `teacher` to a `DynaBertClassifier`, score heads and neurons
       on `importance_data` and rewire (outputs unchanged).
    2. DynaBERT_w: every batch visits all `widths` at full depth, distilled
       from the rewired teacher (soft CE + `hidden_weights[0]`·hidden MSE).
    3. DynaBERT: every batch visits `depths` × `widths`, distilled from the
       phase-1 model at full size (λ2 = `hidden_weights[1]`).
    A phase with 0 epochs is skipped.

    Args:
        teacher: fine-tuned keras-hub `BertTextClassifier`.
        train_data: batches of `(inputs, labels)`.
        validation_data: optional; scored on the full network by `fit`.
        importance_data: labelled batches for importance (default
            `validation_data`).
        widths, depths: multipliers.
        width_epochs, depth_epochs: epochs of phases 1 and 2.
        learning_rate: AdamW peak (warm-up + cosine per phase).
        hidden_weights: λ2 of phases 1 and 2.
        importance_batches: cap on importance batches.
        clip_norm: gradient clipping of the accumulated gradients.
        jit_compile: XLA for the train steps: `"auto"` (XLA except on
            CPU-only machines, where it measured slower), `True` or `False`.
        callbacks: extra callbacks for both phases (e.g.
            `SubnetworkEvaluator`).
        backup_dir: resume an interrupted run from here: each phase backs up
            to its own subdirectory (`dynabert_w`, `dynabert`) with weights,
            masks, optimizer and data order (see
            `keras_theseus.models.fit_resumable`). Importance and rewiring
            are recomputed: they are deterministic functions of the teacher.
        precision: train in this precision (`"float32"`, `"mixed_bfloat16"`,
            `"mixed_float16"`, `"auto"`, see
            `keras_theseus.models.resolve_precision`); None (default) keeps
            the teacher's. Importance scores and losses stay float32.
        strategy: train under this `tf.distribute` strategy: a
            `tf.distribute.Strategy` or a name (`"mirrored"`,
            `"multi_worker"`, `"tpu"`, see `keras_theseus.distribute.
            resolve_strategy`); None (default) trains on one device.
            `train_data` is batched by the global batch size, which the
            strategy splits over its replicas.
            Importance and rewiring run before, on one device; the
            rewired model is then built in the scope, so the masks of
            every replica are one mirrored variable.

    Returns:
        `DynaBertResult`.

    Example:
    ```python
    result = train_dynabert(teacher, train, dev)
    small = extract_subnetwork(result.model, width=0.5, depth=0.5)
    ```
    """
    model = DynaBertClassifier.from_classifier(with_precision(teacher, precision))
    importance_data = importance_data if importance_data is not None else validation_data
    if importance_data is None:
        raise ValueError("Pass `importance_data` (labelled batches, e.g. the dev split) or "
                         "`validation_data` to score heads and neurons.")
    heads, neurons = compute_importance(model, importance_data, importance_batches)
    rewire(model, heads, neurons)
    strategy = resolve_strategy(strategy)
    model = replicate(model, strategy)
    steps = int(train_data.cardinality())
    histories = []
    for stage, epochs, depth_list, hidden_weight in (
            ("dynabert_w", width_epochs, (1.0,), hidden_weights[0]),
            ("dynabert", depth_epochs, depths, hidden_weights[1])):
        if not epochs:
            histories.append(None)
            continue
        with strategy_scope(strategy):
            trainer = DynaBertTrainer(model, frozen_copy(model), widths=widths,
                                      depths=depth_list, hidden_weight=hidden_weight,
                                      clip_norm=clip_norm)
            trainer.compile(
                optimizer=bert_optimizer(learning_rate,
                                         total_steps=steps * epochs if steps > 0 else None),
                metrics=accuracy_metrics(),
                jit_compile=jit_compile)
        histories.append(fit_resumable(
            trainer, train_data, stage_dir(backup_dir, stage), validation_data=validation_data,
            epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False))
    return DynaBertResult(model, heads, neurons, histories[0], histories[1])
