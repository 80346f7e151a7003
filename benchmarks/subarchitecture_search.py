"""Bort-style subarchitecture search under the fine-tuned MiniLM teacher, then the winner distilled.

    .venv/bin/python benchmarks/subarchitecture_search.py

1. Space: depths 2/3/4 × heads 8/12 (head size 32) × hidden 256/384 × FFN 768
   (12 candidates), each cut from the importance-rewired teacher, distilled
   for `--steps` steps, measured (params, FLOPs, b32×128 latency
   interleaved with the teacher, CE against the teacher on held-out dev).
   Resumable: finished candidates are kept in `search_<dataset>.csv`; a final
   pass times all architectures together (`search_<dataset>_scored.csv`).
2. W (weights `--error-weight`:1:1 for error:params:latency) and the
   Pareto frontier; plot `search_<dataset>.png`. The chosen candidate is the
   best W among those at least `--min-speedup`× faster than the teacher
   (`select_candidate`): the target is retention at a speed floor, so the
   floor is a constraint and W weighs error above size.
3. The chosen candidate is distilled for `--epochs` (soft CE + label CE)
   and scored on test: retention and speedup go to results.json / RESULTS.md.
"""

import argparse
import os
import time

import keras

import keras_theseus as kt
from common import HERE
from common import accuracy
from common import add_teacher_arguments
from common import bucketing_note
from common import load_teacher_and_splits
from keras_theseus.models.classifier import accuracy_metrics
from keras_theseus.search import SearchSpace
from keras_theseus.search import extract_candidate
from keras_theseus.search import plot_search
from keras_theseus.search import prepare_teacher
from keras_theseus.search import search_subarchitectures
from keras_theseus.search import select_candidate


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_teacher_arguments(p)
    p.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4])
    p.add_argument("--heads", type=int, nargs="+", default=[8, 12])
    p.add_argument("--hidden-sizes", type=int, nargs="+", default=[256, 384])
    p.add_argument("--intermediate-sizes", type=int, nargs="+", default=[768])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--heldout-batches", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--min-speedup", type=float, default=3.0,
                   help="choose among candidates at least this much faster than the teacher")
    p.add_argument("--error-weight", type=float, default=4.0,
                   help="W weight of the error; params and latency weigh 1 each")
    p.add_argument("--time-budget", type=float, default=None, help="seconds for the search")
    args = p.parse_args()

    _, teacher, _, train, dev, test = load_teacher_and_splits(args)
    heldout = dev.take(args.heldout_batches)
    teacher_test = accuracy(teacher, test)

    space = SearchSpace(depths=args.depths, heads=args.heads, hidden_sizes=args.hidden_sizes,
                        intermediate_sizes=args.intermediate_sizes)
    csv = os.path.join(HERE, f"search_{args.dataset}.csv")
    weights = {"params": 1.0, "latency_ms": 1.0, "error": args.error_weight}
    start = time.time()
    table = search_subarchitectures(teacher, train, heldout, space, steps=args.steps,
                                    results_path=csv, learning_rate=args.learning_rate,
                                    time_budget_seconds=args.time_budget, weights=weights)
    search_wall = time.time() - start
    print(table.to_string(), flush=True)
    table.to_csv(os.path.join(HERE, f"search_{args.dataset}_scored.csv"), index=False)
    best = select_candidate(table, min_speedup=args.min_speedup)
    plot_search(table, os.path.join(HERE, f"search_{args.dataset}.png"),
                title=f"{len(table)} candidates under {args.preset}, {args.steps} KD steps each",
                chosen=best["name"])
    print(f"chosen: {best['name']} (pareto {best['pareto']})", flush=True)

    # Distil the chosen candidate fully.
    source = prepare_teacher(teacher, heldout)
    candidate = next(c for c in space.candidates(teacher) if c.name == best["name"])
    keras.utils.set_random_seed(0)
    student = extract_candidate(source, candidate)
    # As in the search: KD at T = 1 from the rewired teacher, plus labels.
    trainer = kt.distill.Distiller(source.to_text_classifier(name="teacher"), student,
                                   temperature=1.0, kd_weight=1.0, label_weight=1.0)
    total = int(train.cardinality()) * args.epochs
    trainer.compile(optimizer=kt.models.bert_optimizer(args.learning_rate, total_steps=total,
                                                       global_clipnorm=1.0),
                    metrics=accuracy_metrics(),
                    jit_compile=True)
    start = time.time()
    trainer.fit(train, validation_data=dev, epochs=args.epochs, verbose=2, shuffle=False)
    wall = time.time() - start
    scores = {"dev": accuracy(student, dev), "test": accuracy(student, test)}
    (record,) = kt.reporting.measure_student_records(teacher, {
        f"search winner {best['name']} ({len(table)} candidates, {args.steps} steps)": {
            "model": student, "metric": scores["test"],
            "config": {"layers": int(best["num_layers"]), "heads": int(best["num_heads"]),
                       "hidden": int(best["hidden_dim"]),
                       "intermediate": int(best["intermediate_dim"])},
            "notes": (f"best W (error:params:latency {args.error_weight:g}:1:1) of {len(table)} "
                      f"candidates with speedup >= {args.min_speedup:g}, on the Pareto "
                      f"frontier: {bool(best['pareto'])}; search wall {search_wall:.0f}s; then "
                      f"{args.epochs} epochs soft CE + label CE at lr {args.learning_rate:g}, "
                      f"len {args.sequence_length}{bucketing_note(args)}; dev "
                      f"{scores['dev']:.4f}; wall {wall:.0f}s; table {os.path.basename(csv)}."),
            "extra": {"table": table.to_dict("records"), "dev_accuracy": scores["dev"],
                      "wall_seconds": wall, "search_wall_seconds": search_wall}}},
        experiment=f"search_{args.dataset}", dataset=args.dataset, teacher_name=args.preset,
        teacher_metric=teacher_test)
    print(f"{best['name']}: test {scores['test']:.4f} (teacher {teacher_test:.4f}), "
          f"speedup {record['speedup']:.2f}", flush=True)
    kt.reporting.append_record(record, args.results)
    kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))


if __name__ == "__main__":
    main()
