"""What a compression train step costs against plain fine-tuning, on real shapes.

    .venv/bin/python benchmarks/train_step_costs.py --layers 3 2

Accuracy comparisons live in the comparison runner (`keras-theseus compare
--config benchmarks/grids/*.yaml`, recorded by compare_methods.py); this
script times what the runner does not: for each student depth n, on one
padded b×len training batch of the dataset, interleaved in one process,

- the Theseus train step at replacement rate 0.5 and 1, as a ratio to one
  fine-tune step of the whole predecessor (the teacher's own layers);
- the KD step (soft KL at T + labels, and with the last-layer cosine and
  hidden-state MSE terms) as a ratio to (teacher forward + the student's
  plain train step), the cost the Distiller's one teacher pass should
  stay near.

- the DynaBERT steps (DynaBERT_w: every width at full depth; DynaBERT:
  every width × depth; the default multipliers, the teacher pass
  included) as a ratio to one fine-tune step of the teacher, each with
  its sub-networks computed on sliced kernels (what the trainer does) and,
  as the reference, with masks that keep the same heads and neurons
  (what it did before: a masked head costs as much as a kept one).

Each becomes a record with `train_step_ratio` in results.json; the
trainers are compiled as they compile by default (`jit_compile="auto"`:
no XLA on a CPU).
"""

import argparse
import os

import keras

import keras_theseus as kt
from keras_theseus.distill import Distiller
from keras_theseus.theseus import TheseusClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
KD_TERMS = {"kd": {"kd_weight": 1.0, "label_weight": 1.0},
            "kd_hidden": {"kd_weight": 1.0, "label_weight": 1.0, "cosine_weight": 1.0,
                          "hidden_mse_weight": 1.0}}


def theseus_step_times(teacher, n, batch, repeats):
    """Theseus train step (p = 0.5 and p = 1) vs fine-tuning the predecessor."""
    models = {"predecessor": kt.models.drop_layers(
        teacher, list(range(teacher.backbone.num_layers)))}
    for name, rate in (("theseus_p0.5", 0.5), ("theseus_p1", 1.0)):
        models[name] = TheseusClassifier.from_predecessor(teacher, n, replacement_rate=rate)
    for model in models.values():
        kt.models.compile_text_classifier(model, learning_rate=1e-9)
    return kt.timing.measure_train_step(models, batch, warmup=2, repeats=repeats)


def kd_step_times(teacher, n, batch, repeats, temperature):
    """KD steps vs (teacher forward + student plain train step), interleaved."""
    x, y = batch
    plain = kt.distill.layer_dropped_student(teacher, n)
    kt.models.compile_text_classifier(plain, learning_rate=1e-9)
    calls = {"student_step": lambda _: plain.train_on_batch(x, y),
             "teacher_forward": kt.timing.inference_function(teacher)}
    for name, terms in KD_TERMS.items():
        distiller = Distiller(teacher, kt.distill.layer_dropped_student(teacher, n),
                              temperature=temperature, **terms)
        distiller.compile(optimizer=keras.optimizers.AdamW(1e-9))
        calls[name] = lambda _, d=distiller: d.train_on_batch(x, y)
    return kt.timing.measure_latency(calls, x, warmup=2, repeats=repeats)


def _masked_forward(model, inputs, width=1.0, depth=1.0, training=False, return_hidden=False):
    """`DynaBertClassifier.forward` with prefix masks instead of sliced kernels."""
    from keras_theseus.dynabert import depth_layers
    from keras_theseus.dynabert.multipliers import subnetwork_masks

    layers = depth_layers(model.num_layers, depth)
    heads, neurons, _ = subnetwork_masks(model.num_layers, model.num_heads,
                                         model.intermediate_dim, width, depth)
    return model.run_layers(inputs, layers, [heads[i] for i in layers],
                            [neurons[i] for i in layers], training, return_hidden)


def dynabert_step_times(teacher, batch, repeats):
    """DynaBERT_w and DynaBERT steps, sliced vs masked, vs a teacher fine-tune step."""
    import functools

    from keras_theseus.dynabert import DEFAULT_DEPTHS
    from keras_theseus.dynabert import DEFAULT_WIDTHS
    from keras_theseus.dynabert import DynaBertClassifier
    from keras_theseus.dynabert import DynaBertTrainer
    from keras_theseus.dynabert import frozen_copy

    models = {"fine_tune": kt.models.drop_layers(
        teacher, list(range(teacher.backbone.num_layers)))}
    kt.models.compile_text_classifier(models["fine_tune"], learning_rate=1e-9)
    for stage, depths, hidden_weight in (("dynabert_w", (1.0,), 0.1),
                                         ("dynabert", DEFAULT_DEPTHS, 1.0)):
        for path in ("sliced", "masked"):
            student = DynaBertClassifier.from_classifier(teacher)
            if path == "masked":
                student.forward = functools.partial(_masked_forward, student)
            trainer = DynaBertTrainer(student, frozen_copy(student), widths=DEFAULT_WIDTHS,
                                      depths=depths, hidden_weight=hidden_weight)
            trainer.compile(optimizer=kt.models.bert_optimizer(1e-9))
            models[f"{stage}_{path}"] = trainer
    return kt.timing.measure_train_step(models, batch, warmup=2, repeats=repeats)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="movie_reviews", choices=sorted(kt.datasets.LOADERS))
    p.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    p.add_argument("--layers", type=int, nargs="+", default=[3, 2])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--parts", nargs="+", default=["theseus", "kd", "dynabert"],
                   choices=["theseus", "kd", "dynabert"], help="which steps to time")
    p.add_argument("--teacher-epochs", type=int, default=1,
                   help="the cached teacher to load (the main job's is 1 epoch)")
    p.add_argument("--results", default=os.path.join(HERE, "results.json"))
    args = p.parse_args()
    data = kt.datasets.load_dataset(args.dataset)
    teacher, pre, _ = kt.models.finetune_teacher(
        data, preset=args.preset, sequence_length=args.sequence_length,
        epochs=args.teacher_epochs, batch_size=args.batch_size, verbose=2)
    batch = next(iter(data.tf_dataset("train", pre, batch_size=args.batch_size)))
    shape = f"b{args.batch_size}×{args.sequence_length}"
    common = dict(experiment=f"train_step_costs_{args.dataset}", dataset=args.dataset,
                  teacher=args.preset, metric="train_step_ratio", teacher_metric=1.0,
                  batch_size=args.batch_size, sequence_length=args.sequence_length)
    L = teacher.backbone.num_layers
    for n in args.layers if "theseus" in args.parts else []:
        steps = theseus_step_times(teacher, n, batch, args.repeats)
        base = steps["predecessor"]["median_ms"]
        for name in ("theseus_p0.5", "theseus_p1"):
            ratio = steps[name]["median_ms"] / base
            kt.reporting.append_record(kt.reporting.make_record(
                method=f"{name} {L}→{n}", train_step_ratio=ratio, student_config={"layers": n},
                notes=(f"Theseus step {steps[name]['median_ms']:.0f} ms vs predecessor "
                       f"fine-tune step {base:.0f} ms at {shape}: ratio {ratio:.2f}."),
                extra={"train_steps": steps}, **common), args.results)
            print(f"{name} {L}→{n}: {ratio:.2f}× the predecessor's step", flush=True)
    for n in args.layers if "kd" in args.parts else []:
        stats = kd_step_times(teacher, n, batch, args.repeats, args.temperature)
        base = stats["teacher_forward"]["median_ms"] + stats["student_step"]["median_ms"]
        for name in KD_TERMS:
            ratio = stats[name]["median_ms"] / base
            kt.reporting.append_record(kt.reporting.make_record(
                method=f"{name} {L}→{n}", train_step_ratio=ratio, student_config={"layers": n},
                notes=(f"KD step {stats[name]['median_ms']:.0f} ms vs teacher forward "
                       f"{stats['teacher_forward']['median_ms']:.0f} + student step "
                       f"{stats['student_step']['median_ms']:.0f} ms at {shape}, T "
                       f"{args.temperature:g}: ratio {ratio:.2f}."),
                extra={"steps": stats}, **common), args.results)
            print(f"{name} {L}→{n}: {ratio:.2f}× (teacher forward + student step)", flush=True)
    if "dynabert" in args.parts:
        steps = dynabert_step_times(teacher, batch, args.repeats)
        base = steps["fine_tune"]["median_ms"]
        for stage in ("dynabert_w", "dynabert"):
            sliced, masked = (steps[f"{stage}_{p}"]["median_ms"] for p in ("sliced", "masked"))
            kt.reporting.append_record(kt.reporting.make_record(
                method=f"{stage} step {L}L", train_step_ratio=sliced / base,
                student_config={"layers": L}, notes=(
                    f"{stage} step (every width{' × depth' if stage == 'dynabert' else ''}, "
                    f"teacher pass included) {sliced:.0f} ms on sliced kernels, {masked:.0f} "
                    f"ms with masks ({masked / sliced:.2f}× slower), vs a fine-tune step of "
                    f"the teacher {base:.0f} ms at {shape}: ratio {sliced / base:.2f}."),
                extra={"train_steps": steps}, **common), args.results)
            print(f"{stage}: sliced {sliced:.0f} ms, masked {masked:.0f} ms "
                  f"({masked / sliced:.2f}×), {sliced / base:.2f}× a fine-tune step", flush=True)
    kt.reporting.write_markdown(args.results, os.path.join(HERE, "RESULTS.md"))


if __name__ == "__main__":
    main()
