"""Bort-style subarchitecture search: extract, distil briefly, measure, score."""

import os
import time

import keras
import numpy as np
import pandas as pd

from keras_theseus.distill.distiller import Distiller
from keras_theseus.distill.losses import soft_cross_entropy
from keras_theseus.distribute.replication import replicate
from keras_theseus.distribute.replication import unreplicated
from keras_theseus.distribute.strategies import is_chief
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.distribute.strategies import strategy_scope
from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.importance import compute_importance
from keras_theseus.dynabert.importance import rewire
from keras_theseus.models.classifier import bert_optimizer
from keras_theseus.models.precision import with_precision
from keras_theseus.search.extraction import extract_candidate
from keras_theseus.search.scoring import pareto_front
from keras_theseus.search.scoring import w_score
from keras_theseus.timing.flops import count_flops
from keras_theseus.timing.latency import measure_latency
from keras_theseus.timing.latency import synthetic_inputs

COLUMNS = ["name", "num_layers", "num_heads", "hidden_dim", "intermediate_dim", "params",
           "gflops", "latency_ms", "teacher_latency_ms", "speedup", "error", "accuracy",
           "train_seconds"]


def prepare_teacher(teacher, importance_data, importance_batches=None):
    """A frozen, importance-rewired `DynaBertClassifier` copy of a keras-hub classifier."""
    model = DynaBertClassifier.from_classifier(teacher, use_masks=True)
    heads, neurons = compute_importance(model, importance_data, importance_batches)
    rewire(model, heads, neurons)
    return model


def evaluate_against_teacher(student, teacher, data):
    """Cross-entropy of `student` against the teacher's softmax, and label accuracy."""
    ce, correct, seen = [], 0, 0
    for x, y in data:
        t = teacher(x, training=False)
        s = student(x, training=False)
        ce.append(float(soft_cross_entropy(t, s)) * len(y))
        correct += int((np.argmax(np.asarray(s), -1) == np.asarray(y)).sum())
        seen += len(y)
    return sum(ce) / seen, correct / seen


def search_subarchitectures(teacher, train_data, heldout_data, space, steps=100,
                            results_path=None, importance_data=None, importance_batches=8,
                            learning_rate=1e-4, label_weight=0.0, max_candidates=None,
                            time_budget_seconds=None, latency_batch_size=32,
                            latency_sequence_length=128, latency_repeats=5, weights=None,
                            final_latency_pass=True, jit_compile="auto", verbose=1,
                            precision=None, strategy=None):
    """Search `space` under `teacher`: each candidate extracted, distilled `steps` steps, measured.

    For every candidate, fewest parameters first:
    1. extract initial weights from the rewired teacher (`extract_candidate`);
    2. distil for `steps` batches of `train_data` (soft CE against the
       teacher's logits, + `label_weight` · label CE);
    3. measure parameters, FLOPs (batch 1), latency on this device
       (`latency_batch_size` × `latency_sequence_length`, interleaved with
       the teacher, `inference_function`'s path) and the error: cross-entropy
       against the teacher's outputs on `heldout_data` (plus label accuracy).
    Then `W` (`w_score`) and the Pareto frontier over (params, latency,
    error) are added, the table is sorted by W, and the best candidate is the
    first row (argmax W is always on the frontier).

    Resumable: with `results_path`, each finished candidate is appended to
    that CSV at once and skipped when the search runs again. Budget:
    `max_candidates` and/or `time_budget_seconds` stop the search between
    candidates.

    Args:
        teacher: fine-tuned keras-hub `BertTextClassifier`.
        train_data: batches of `(inputs, labels)`; the first `steps` are used.
        heldout_data: batches for the error (e.g. a slice of dev).
        space: a `SearchSpace`.
        steps: distillation steps per candidate.
        results_path: CSV to resume from and write to.
        importance_data, importance_batches: data for head/neuron importance
            (default `heldout_data`).
        learning_rate: AdamW peak for the short distillation.
        weights: W weights (see `w_score`).
        final_latency_pass: after the last candidate, time every finished
            candidate's architecture again in one interleaved session with
            the teacher and use those latencies, so a table assembled over
            several (resumed) runs, or measured while the machine was busy,
            still compares like with like. Latency does not depend on the
            weights, so the architectures are rebuilt, not retrained.
        verbose: 1 prints one progress line per candidate.
        precision: train in this precision (`"float32"`, `"mixed_bfloat16"`,
            `"mixed_float16"`, `"auto"`, see
            `keras_theseus.models.resolve_precision`); None (default) keeps
            the teacher's. Candidates are distilled and
            timed in it; importance scores and losses stay float32.
        strategy: distil each candidate under this `tf.distribute`
            strategy (a `tf.distribute.Strategy` or a name, see
            `keras_theseus.distribute.resolve_strategy`); None (default)
            trains on one device. Importance, the error and the latency are
            measured on one device; under a multi-worker strategy only the
            chief appends to `results_path`.

    Returns:
        DataFrame (one row per finished candidate) with `COLUMNS`, `W` and
        `pareto`, best first.

    Example:
    ```python
    space = SearchSpace(depths=[2, 3, 4], heads=[6, 12], hidden_sizes=[384],
                        intermediate_sizes=[768, 1536])
    table = search_subarchitectures(teacher, train, dev.take(8), space, steps=100,
                                    results_path="search.csv")
    table.iloc[0]   # the chosen candidate
    ```
    """
    teacher = with_precision(teacher, precision)
    candidates = space.candidates(teacher)
    done = pd.DataFrame(columns=COLUMNS)
    if results_path and os.path.isfile(results_path):
        done = pd.read_csv(results_path)
        missing = set(COLUMNS) - set(done.columns)
        if missing:
            raise ValueError(f"{results_path} lacks columns {sorted(missing)}; is it a search "
                             "table? Remove it or pass another `results_path`.")
    finished = set(done["name"])
    source = prepare_teacher(teacher, importance_data if importance_data is not None
                             else heldout_data, importance_batches)
    # The rewired teacher as a plain keras-hub model: the candidates are
    # distilled from it with the library's Distiller and timed against it.
    strategy = resolve_strategy(strategy)
    frozen = source.to_text_classifier(name="teacher")
    frozen.trainable = False
    distributed_teacher = replicate(frozen, strategy)
    batches = list(train_data.take(steps))
    if len(batches) < steps:
        raise ValueError(f"`train_data` has {len(batches)} batches; `steps`={steps} needs more.")
    x_latency = synthetic_inputs(latency_batch_size,
                                 min(latency_sequence_length, source.max_sequence_length),
                                 source.vocabulary_size)
    start = time.perf_counter()
    todo = [c for c in candidates if c.name not in finished]
    if max_candidates is not None:
        todo = todo[:max(0, max_candidates - len(finished))]
    for k, candidate in enumerate(todo, start=1):
        if time_budget_seconds is not None and time.perf_counter() - start > time_budget_seconds:
            if verbose:
                print(f"time budget of {time_budget_seconds:.0f}s reached; "
                      f"{len(todo) - k + 1} candidate(s) left for a resumed run.", flush=True)
            break
        t0 = time.perf_counter()
        keras.utils.set_random_seed(0)
        with strategy_scope(strategy):
            student = extract_candidate(source, candidate)
            # KL at T = 1 has the soft cross-entropy's gradient; clipping at
            # 1.0 as DynaBERT's trainer does.
            trainer = Distiller(distributed_teacher, student, temperature=1.0, kd_weight=1.0,
                                label_weight=label_weight)
            trainer.compile(optimizer=bert_optimizer(learning_rate, total_steps=steps,
                                                     global_clipnorm=1.0),
                            jit_compile=jit_compile)
        if strategy is None:
            for x, y in batches:
                trainer.train_on_batch(x, y)
        else:
            # `fit` splits each batch over the replicas (`train_on_batch`
            # would give every replica the whole batch).
            trainer.fit(train_data.take(steps), epochs=1, verbose=0, shuffle=False)
            student = unreplicated(student)
        train_seconds = time.perf_counter() - t0
        error, accuracy = evaluate_against_teacher(student, frozen, heldout_data)
        latency = measure_latency({"teacher": frozen, "candidate": student}, x_latency,
                                  warmup=2, repeats=latency_repeats)
        row = {
            "name": candidate.name, "num_layers": candidate.num_layers,
            "num_heads": candidate.num_heads, "hidden_dim": candidate.hidden_dim,
            "intermediate_dim": candidate.intermediate_dim,
            "params": int(student.count_params()),
            "gflops": count_flops(student, 1, min(128, source.max_sequence_length)) / 1e9,
            "latency_ms": latency["candidate"]["median_ms"],
            "teacher_latency_ms": latency["teacher"]["median_ms"],
            "speedup": latency["teacher"]["median_ms"] / latency["candidate"]["median_ms"],
            "error": error, "accuracy": accuracy, "train_seconds": train_seconds,
        }
        done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
        if results_path and is_chief(strategy):
            pd.DataFrame([row])[COLUMNS].to_csv(
                results_path, mode="a", index=False,
                header=not os.path.isfile(results_path))
        if verbose:
            print(f"[{len(done)}/{len(candidates)}] {candidate.name}: {row['params'] / 1e6:.1f}M "
                  f"params, CE {error:.4f}, acc {accuracy:.4f}, {row['latency_ms']:.0f} ms "
                  f"({row['speedup']:.2f}×), {time.perf_counter() - t0:.0f}s", flush=True)
    if done.empty:
        return done.assign(W=[], pareto=[])
    done = done.reset_index(drop=True)
    if final_latency_pass:
        by_name = {c.name: c for c in candidates}
        timed = {"teacher": frozen}
        timed.update({name: extract_candidate(source, by_name[name])
                      for name in done["name"] if name in by_name})
        stats = measure_latency(timed, x_latency, warmup=2, repeats=latency_repeats)
        for i, name in enumerate(done["name"]):
            if name in stats:
                done.loc[i, "latency_ms"] = stats[name]["median_ms"]
                done.loc[i, "teacher_latency_ms"] = stats["teacher"]["median_ms"]
                done.loc[i, "speedup"] = stats["teacher"]["median_ms"] / stats[name]["median_ms"]
        if verbose:
            print(f"final latency pass: {len(timed) - 1} candidates and the teacher timed "
                  "together.", flush=True)
    done["W"] = w_score(done, weights)
    done["pareto"] = pareto_front(done)
    return done.sort_values("W", ascending=False).reset_index(drop=True)
