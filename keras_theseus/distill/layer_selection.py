"""Which teacher layers a layer-dropped student keeps, and a search over them."""

import itertools
import time

import keras_hub
import numpy as np
import pandas as pd

from keras_theseus.distill.distiller import Distiller
from keras_theseus.models.classifier import accuracy_metrics
from keras_theseus.models.fused_adamw import FusedAdamW
from keras_theseus.models.layer_dropping import EMBEDDING_AND_POOLER_LAYERS
from keras_theseus.models.layer_dropping import drop_layers

STRATEGIES = ("first", "last", "every_other", "spread")


def select_layers(num_layers, num_keep, strategy="spread"):
    """Teacher layer indices kept by a layer-dropped student.

    Args:
        num_layers: teacher depth L.
        num_keep: student depth k, 1 <= k <= L.
        strategy: `"spread"` (DistilBERT: evenly spaced including the first
            and last layer, `round(linspace(0, L-1, k))`, which gives
            [0, 2, 4, 7, 9, 11] for 12 -> 6), `"first"` (0..k-1, the
            truncated student), `"last"`, `"every_other"` (0, 2, 4, ...;
            needs k <= ceil(L/2)), or an explicit list of k distinct indices.

    Returns:
        A sorted list of k indices (an explicit list is returned as given).

    Example:
    ```python
    select_layers(12, 6, "spread")   # [0, 2, 4, 7, 9, 11]
    ```
    """
    if not isinstance(num_keep, int) or not 1 <= num_keep <= num_layers:
        raise ValueError(f"`num_keep` must be an int in [1, {num_layers}]. Received: {num_keep!r}")
    if isinstance(strategy, (list, tuple)):
        layers = list(strategy)
        if len(layers) != num_keep or len(set(layers)) != num_keep or not all(
                isinstance(i, int) and 0 <= i < num_layers for i in layers):
            raise ValueError(f"An explicit layer list must hold {num_keep} distinct indices in "
                             f"[0, {num_layers}). Received: {strategy!r}")
        return layers
    if strategy == "first":
        return list(range(num_keep))
    if strategy == "last":
        return list(range(num_layers - num_keep, num_layers))
    if strategy == "every_other":
        if 2 * (num_keep - 1) >= num_layers:
            raise ValueError(f"'every_other' keeps layers 0, 2, 4, ...: {num_keep} of "
                             f"{num_layers} layers do not fit. Use 'spread'.")
        return list(range(0, 2 * num_keep, 2))
    if strategy == "spread":
        if num_keep == 1:
            return [num_layers - 1]
        return [int(i) for i in np.round(np.linspace(0, num_layers - 1, num_keep))]
    raise ValueError(f"`strategy` must be one of {STRATEGIES} or a list of layer indices. "
                     f"Received: {strategy!r}")


def layer_dropped_student(teacher, num_keep=None, strategy="spread", backbone_class=None):
    """A smaller keras-hub classifier initialised from some teacher layers.

    Embeddings, pooler and head are copied from the teacher; the encoder
    keeps the teacher layers chosen by `select_layers`.

    Args:
        teacher: a fine-tuned `keras_hub.models.BertTextClassifier`.
        num_keep: student depth (not needed with an explicit list).
        strategy: see `select_layers`.
        backbone_class: see `keras_theseus.models.assemble_classifier`.

    Example:
    ```python
    student = layer_dropped_student(teacher, 3, "spread")   # layers 0, 2, 5 of 6
    ```
    """
    if not isinstance(teacher, keras_hub.models.BertTextClassifier):
        raise TypeError("`teacher` must be a keras_hub.models.BertTextClassifier. "
                        f"Received: {type(teacher).__name__}")
    if num_keep is None:
        if not isinstance(strategy, (list, tuple)):
            raise ValueError("`num_keep` is required unless `strategy` is a layer list.")
        num_keep = len(strategy)
    layers = select_layers(teacher.backbone.num_layers, num_keep, strategy)
    return drop_layers(teacher, layers, backbone_class=backbone_class)


def candidate_subsets(num_layers, num_keep, max_candidates=None, seed=0):
    """Subsets of `num_keep` of `num_layers` layers to score.

    All `C(L, k)` subsets when they fit in `max_candidates`; otherwise the
    named strategies (spread, first, last, every other) plus a seeded random
    sample of the rest.
    """
    every = [list(c) for c in itertools.combinations(range(num_layers), num_keep)]
    if max_candidates is None or len(every) <= max_candidates:
        return every
    if max_candidates < 1:
        raise ValueError(f"`max_candidates` must be >= 1. Received: {max_candidates}")
    chosen = []
    for strategy in ("spread", "first", "last", "every_other"):
        try:
            layers = select_layers(num_layers, num_keep, strategy)
        except ValueError:
            continue
        if layers not in chosen:
            chosen.append(layers)
    rng = np.random.default_rng(seed)
    rest = [c for c in every if c not in chosen]
    for i in rng.permutation(len(rest)):
        if len(chosen) >= max_candidates:
            break
        chosen.append(rest[i])
    return chosen[:max_candidates]


def search_layer_subsets(teacher, train_data, validation_data, num_keep, candidates=None,
                         steps=50, learning_rate=5e-5, temperature=2.0, max_candidates=None,
                         jit_compile="auto", seed=0, verbose=1):
    """Rank which teacher layers a `num_keep`-layer student should keep.

    Each candidate subset initialises a layer-dropped student that is
    scored twice on `validation_data`: as initialised ("zero-shot") and
    after a short distillation of `steps` steps (soft-target KL at
    `temperature` plus hard-label CE) on `train_data`. One `Distiller` is
    compiled once and reused: each candidate only reloads the student's
    weights and resets the optimizer, so candidates cost training time, not
    tracing time.

    Args:
        teacher: fine-tuned `keras_hub.models.BertTextClassifier`.
        train_data: batched `tf.data.Dataset` of `(x, y)`; its first
            `steps` batches (repeated if needed) train every candidate.
            Batches of static size if `jit_compile`.
        validation_data: batched `tf.data.Dataset` of `(x, y)`.
        num_keep: student depth k.
        candidates: list of layer lists; default `candidate_subsets`.
        steps: distillation steps per candidate (0: zero-shot only).
        learning_rate: AdamW learning rate of the short distillation.
        temperature: KD temperature.
        max_candidates: cap for the default candidates.
        jit_compile: XLA for the distillation steps (`"auto"`, `True`,
            `False`).
        seed: seeds the candidate sample and the input order.
        verbose: 1 prints one line per candidate.

    Returns:
        `pandas.DataFrame` sorted best first with columns `layers`,
        `accuracy`, `teacher_kl` (KL to the teacher at T = 1), `zero_shot_accuracy`,
        `zero_shot_kl`, `seconds`, and `rank`.

    Example:
    ```python
    table = search_layer_subsets(teacher, train_ds, dev_ds, num_keep=3, steps=60)
    best = table.iloc[0]["layers"]
    ```
    """
    if not isinstance(teacher, keras_hub.models.BertTextClassifier):
        raise TypeError("`teacher` must be a keras_hub.models.BertTextClassifier. "
                        f"Received: {type(teacher).__name__}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"`steps` must be an int >= 0. Received: {steps!r}")
    num_layers = teacher.backbone.num_layers
    if candidates is None:
        candidates = candidate_subsets(num_layers, num_keep, max_candidates, seed)
    candidates = [select_layers(num_layers, num_keep, list(c)) for c in candidates]
    if not candidates:
        raise ValueError("`candidates` is empty.")

    student = drop_layers(teacher, candidates[0])
    distiller = Distiller(teacher, student, temperature=temperature, kd_weight=1.0,
                          label_weight=1.0)
    # FusedAdamW: Keras' AdamW defaults, with an embedding row that repeats
    # in a batch updated as Adam says (Keras 3.15's AdamW overshoots it).
    distiller.compile(optimizer=FusedAdamW(learning_rate), jit_compile=jit_compile,
                      metrics=accuracy_metrics())
    # Snapshot the fresh optimizer state (zero moments, step 0, and its
    # learning rate) so each candidate starts from it without recompiling.
    distiller.optimizer.build(distiller.trainable_variables)
    fresh_optimizer = [v.numpy() for v in distiller.optimizer.variables]
    scorer = Distiller(teacher, student, temperature=1.0, kd_weight=1.0, label_weight=0.0)
    scorer.compile(metrics=accuracy_metrics(),
                   jit_compile=jit_compile)
    # Every candidate trains on the same `steps` batches: a fair comparison,
    # and the tokenization runs once.
    train_steps = train_data.repeat().take(steps).cache() if steps else None

    def score():
        result = scorer.evaluate(validation_data, verbose=0, return_dict=True)
        return result["accuracy"], result["kd"]

    rows = []
    for i, layers in enumerate(candidates):
        start = time.perf_counter()
        source = teacher.backbone.transformer_layers
        for target, index in zip(student.backbone.transformer_layers, layers):
            target.set_weights(source[index].get_weights())
        for name in EMBEDDING_AND_POOLER_LAYERS:
            student.backbone.get_layer(name).set_weights(
                teacher.backbone.get_layer(name).get_weights())
        student.output_dense.set_weights(teacher.output_dense.get_weights())
        for variable, value in zip(distiller.optimizer.variables, fresh_optimizer):
            variable.assign(value)
        zero_acc, zero_kl = score()
        if steps:
            distiller.fit(train_steps, epochs=1, verbose=0, shuffle=False)
            accuracy, kl = score()
        else:
            accuracy, kl = zero_acc, zero_kl
        seconds = time.perf_counter() - start
        rows.append({"layers": layers, "accuracy": float(accuracy), "teacher_kl": float(kl),
                     "zero_shot_accuracy": float(zero_acc), "zero_shot_kl": float(zero_kl),
                     "seconds": seconds})
        if verbose:
            print(f"[{i + 1}/{len(candidates)}] layers {layers}: accuracy {accuracy:.4f} "
                  f"KL {kl:.4f} (zero-shot {zero_acc:.4f} / {zero_kl:.4f}) {seconds:.0f}s",
                  flush=True)
    table = pd.DataFrame(rows).sort_values(["accuracy", "teacher_kl"],
                                           ascending=[False, True]).reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table
