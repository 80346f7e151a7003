"""The three-stage BERT-of-Theseus recipe as one function."""

import dataclasses

import keras

from keras_theseus.distribute.replication import replicate
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.distribute.strategies import strategy_scope
from keras_theseus.models.classifier import compile_text_classifier
from keras_theseus.models.precision import with_precision
from keras_theseus.models.resumable_fit import fit_resumable
from keras_theseus.models.resumable_fit import stage_dir as _stage_dir
from keras_theseus.theseus.extraction import extract_successor
from keras_theseus.theseus import schedules as schedules_lib
from keras_theseus.theseus.replacement_scheduler import ReplacementScheduler
from keras_theseus.theseus.schedules import LinearReplacement
from keras_theseus.theseus.theseus_classifier import TheseusClassifier


@dataclasses.dataclass
class TheseusResult:
    """What `compress_with_theseus` returns.

    Attributes:
        successor: the compact keras-hub classifier after stage 3.
        theseus: the stage-2 `TheseusClassifier`.
        replacing_history, successor_history: Keras `History` objects.
    """

    successor: keras.Model
    theseus: TheseusClassifier
    replacing_history: keras.callbacks.History
    successor_history: keras.callbacks.History


def default_schedule(replacing_steps, base=0.3, reach_one_at=0.8):
    """Linear curriculum from `base` reaching p = 1 at `reach_one_at` of stage 2.

    The paper's slope (0.0006, p = 1 after ~1,170 steps) is tuned for GLUE-
    sized runs; on a few hundred steps it would never reach p = 1.
    """
    steps = max(1, int(reach_one_at * replacing_steps))
    return LinearReplacement(base=base, slope=(1.0 - base) / steps)


def compress_with_theseus(
    predecessor,
    train_data,
    validation_data=None,
    num_successor_layers=3,
    init="first",
    schedule=None,
    replacing_epochs=2,
    successor_epochs=1,
    learning_rate=5e-5,
    successor_learning_rate=None,
    train_embeddings=False,
    train_classifier=False,
    seed=0,
    jit_compile="auto",
    replacing_callbacks=None,
    successor_callbacks=None,
    verbose="auto",
    kd_weight=0.0,
    temperature=2.0,
    successor_kd_weight=0.0,
    backup_dir=None,
    precision=None,
    strategy=None,
):
    """Stages 2 and 3 of BERT-of-Theseus on a fine-tuned predecessor.

    Stage 1 — fine-tune the predecessor — is `keras_theseus.models.
    finetune_teacher` (or any fine-tuned keras-hub `BertTextClassifier`);
    `examples/theseus_three_stages.py` runs all three stages end to end.
    Stage 2 trains successor modules that stochastically replace the
    predecessor's layers (a `TheseusClassifier` that owns its schedule).
    Stage 3 extracts the successor and fine-tunes it alone (p = 1). Each
    stage is a plain `model.fit`, usable on its own.

    Args:
        predecessor: fine-tuned `keras_hub.models.BertTextClassifier`.
        train_data: batched `tf.data.Dataset` of `(inputs, labels)`.
        validation_data: optional dataset for `fit`.
        num_successor_layers: n; must divide the predecessor's depth.
        init: successor initialization (see `successor_source_layers`).
        schedule: replacement schedule; default `default_schedule`. A
            schedule that runs in the train step goes to the model; a
            Python-only one (a function, `CallableReplacement`) to a
            `ReplacementScheduler` callback.
        replacing_epochs: stage-2 epochs.
        successor_epochs: stage-3 epochs (0 skips stage 3).
        learning_rate: stage-2 peak learning rate (AdamW, warm-up, cosine).
        successor_learning_rate: stage-3 learning rate (default the same).
        train_embeddings, train_classifier: also train these in stage 2.
        seed: draws and shuffling seed.
        jit_compile: XLA for both stages: `"auto"` (XLA except on CPU-only
            machines, where it measured slower), `True` or `False`.
        replacing_callbacks: extra callbacks for stage 2.
        successor_callbacks: extra callbacks for stage 3 (separate
            instances: a callback such as `EarlyStopping` keeps state).
        verbose: `fit` verbosity.
        kd_weight, temperature: Theseus + KD: stage 2 also minimises the
            temperature-softened KL to the predecessor's logits with this
            weight (0, the default, is the paper's recipe; see
            `TheseusClassifier`).
        successor_kd_weight: > 0 makes stage 3 a distillation from the
            predecessor (`distill_classifier`: KD at `temperature` with this
            weight plus the hard labels) instead of plain fine-tuning.
        backup_dir: resume an interrupted run from here: each stage backs
            up to its own subdirectory (`replacing`, `successor`), with the
            replacement step, optimizer and data order (see
            `fit_resumable`); a finished stage is restored, not retrained.
        precision: train in this precision (`"float32"`, `"mixed_bfloat16"`,
            `"mixed_float16"`, `"auto"`, see `keras_theseus.models.
            resolve_precision`); None (default) keeps the predecessor's.
            The successor computes in it.
        strategy: train under this `tf.distribute` strategy: a
            `tf.distribute.Strategy` or a name (`"mirrored"`,
            `"multi_worker"`, `"tpu"`, see `keras_theseus.distribute.
            resolve_strategy`); None (default) trains on one device.
            `train_data` is batched by the global batch size, which the
            strategy splits over its replicas.
            The replacement draws are the same on every replica (a
            stateless function of seed and step), and p and the step
            counter are synchronised. The predecessor is rebuilt in the
            scope (same weights) when it was built outside it.

    Returns:
        `TheseusResult`.

    Example:
    ```python
    data = keras_theseus.datasets.load_movie_reviews()
    teacher, preprocessor, _ = keras_theseus.models.finetune_teacher(data)
    result = compress_with_theseus(
        teacher, data.tf_dataset("train", preprocessor),
        data.tf_dataset("dev", preprocessor), num_successor_layers=3)
    result.successor.evaluate(data.tf_dataset("test", preprocessor))
    ```
    """
    keras.utils.set_random_seed(seed)
    strategy = resolve_strategy(strategy)
    # Every model below (Theseus, successor, stage-3 teacher) is built from
    # the predecessor and computes in its precision.
    predecessor = replicate(with_precision(predecessor, precision), strategy)
    steps_per_epoch = int(train_data.cardinality())
    if steps_per_epoch < 1:
        raise ValueError(
            "`train_data` must be a finite, batched tf.data.Dataset of known length "
            f"(cardinality {steps_per_epoch})."
        )
    if not isinstance(replacing_epochs, int) or replacing_epochs < 1:
        raise ValueError(f"`replacing_epochs` must be an int >= 1. Received: {replacing_epochs!r}")
    if not isinstance(successor_epochs, int) or successor_epochs < 0:
        raise ValueError(
            f"`successor_epochs` must be an int >= 0. Received: {successor_epochs!r}")
    replacing_steps = steps_per_epoch * replacing_epochs
    schedule = schedules_lib.get(
        schedule if schedule is not None else default_schedule(replacing_steps))
    setter = [] if schedule.traceable else [ReplacementScheduler(schedule)]
    with strategy_scope(strategy):
        theseus = TheseusClassifier.from_predecessor(
            predecessor, num_successor_layers, init=init, train_embeddings=train_embeddings,
            train_classifier=train_classifier, seed=seed,
            schedule=schedule if schedule.traceable else None,
            kd_weight=kd_weight, temperature=temperature,
        )
        compile_text_classifier(theseus, learning_rate=learning_rate,
                                total_steps=replacing_steps, jit_compile=jit_compile)
    replacing_history = fit_resumable(
        theseus, train_data, _stage_dir(backup_dir, "replacing"),
        validation_data=validation_data, epochs=replacing_epochs, shuffle=False,
        callbacks=setter + list(replacing_callbacks or []),
        verbose=verbose,
    )
    with strategy_scope(strategy):
        successor = extract_successor(theseus)
    successor_history = None
    if successor_epochs and successor_kd_weight:
        from keras_theseus.distill.recipe import distill_classifier

        # Stage 3 as distillation: the successor keeps learning the
        # predecessor's soft targets instead of the hard labels alone.
        successor, successor_history = distill_classifier(
            predecessor, train_data, validation_data, student=successor,
            epochs=successor_epochs, learning_rate=successor_learning_rate or learning_rate,
            jit_compile=jit_compile, callbacks=successor_callbacks, verbose=verbose,
            backup_dir=_stage_dir(backup_dir, "successor"), kd_weight=successor_kd_weight,
            label_weight=1.0, temperature=temperature, strategy=strategy)
    elif successor_epochs:
        with strategy_scope(strategy):
            compile_text_classifier(
                successor, learning_rate=successor_learning_rate or learning_rate,
                total_steps=steps_per_epoch * successor_epochs, jit_compile=jit_compile,
            )
        successor_history = fit_resumable(
            successor, train_data, _stage_dir(backup_dir, "successor"),
            validation_data=validation_data, epochs=successor_epochs, shuffle=False,
            callbacks=list(successor_callbacks or []), verbose=verbose,
        )
    return TheseusResult(successor, theseus, replacing_history, successor_history)
