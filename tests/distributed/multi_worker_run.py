"""One worker of a multi-worker run (or the one-process reference) of every recipe.

Run as a script by `test_multi_worker.py`:

    multi_worker_run.py --index I --ports P0,P1 --out DIR --checkpoint CKPT
                        [--methods a,b] [--backup DIR] [--kill-at EPOCH:BATCH]

`--index -1` runs without a strategy (the one-process reference with the same
global batch); `--index 0/1` sets TF_CONFIG for a two-worker cluster on
loopback ports and trains under `MultiWorkerMirroredStrategy`. Writes
`<out>/<index>.json` (scalars) and `<out>/<index>.npz` (final weights).
"""

import argparse
import json
import os
import signal
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--index", type=int, required=True)
parser.add_argument("--ports", default="")
parser.add_argument("--out", required=True)
parser.add_argument("--checkpoint", default=None)
parser.add_argument("--methods",
                    default="sgd,theseus,distill,dynabert,search,job")
parser.add_argument("--backup", default=None)
parser.add_argument("--kill-at", default=None)
args = parser.parse_args()

if args.index >= 0:
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"localhost:{p}" for p in args.ports.split(",")]},
        "task": {"type": "worker", "index": args.index}})

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from keras_theseus.distribute import resolve_strategy  # noqa: E402

# The strategy first: MultiWorkerMirroredStrategy must exist before any op runs.
STRATEGY = resolve_strategy("multi_worker") if args.index >= 0 else None

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from bert_fixtures import toy_batch  # noqa: E402

from keras_theseus import models  # noqa: E402
from keras_theseus.datasets import TextClassificationData  # noqa: E402
from keras_theseus.distill import Distiller  # noqa: E402
from keras_theseus.distill import distill_classifier  # noqa: E402
from keras_theseus.distribute import strategy_scope  # noqa: E402
from keras_theseus.dynabert import DynaBertClassifier  # noqa: E402
from keras_theseus.dynabert import DynaBertTrainer  # noqa: E402
from keras_theseus.dynabert import train_dynabert  # noqa: E402
from keras_theseus.search import SearchSpace  # noqa: E402
from keras_theseus.search import search_subarchitectures  # noqa: E402
from keras_theseus.theseus import LinearReplacement  # noqa: E402
from keras_theseus.theseus import TheseusClassifier  # noqa: E402
from keras_theseus.theseus import compress_with_theseus  # noqa: E402
from keras_theseus.workflows import run_compress_job  # noqa: E402

GLOBAL_BATCH = 16
X, Y = toy_batch(64, length=8, seed=3)
report, weights = {}, {}


def train_data():
    # Built anew per recipe, as a fresh process would: the same seeded order.
    return tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(64, seed=1).batch(
        GLOBAL_BATCH, drop_remainder=True)


def dev_data():
    return tf.data.Dataset.from_tensor_slices((X, Y)).take(32).batch(GLOBAL_BATCH)


def teacher():
    # Dropout 0: replicas draw other dropout masks than one device does, and
    # the comparison with the one-process run is exact only without them.
    keras.utils.set_random_seed(0)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=4, num_heads=2,
                                            hidden_dim=16, intermediate_dim=32,
                                            max_sequence_length=12, dropout=0.0)
    return models.build_text_classifier(backbone, 2, dropout=0.0)


def keep(name, model, inputs=None):
    for i, w in enumerate(model.get_weights()):
        weights[f"{name}/{i}"] = np.asarray(w)
    # A direct call reads this worker's copy of each variable (no collective).
    inputs = X if inputs is None else inputs
    weights[f"{name}_logits"] = np.asarray(model(inputs, training=False), "float32")


class KillAt(keras.callbacks.Callback):
    """SIGKILL this worker at the start of batch `batch` of epoch `epoch` (0-based)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.kill_epoch, self.kill_batch, self.epoch = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == self.kill_epoch and batch == self.kill_batch:
            os.kill(os.getpid(), signal.SIGKILL)


class RecordStart(keras.callbacks.Callback):
    """The Theseus state after `BackupAndRestore` restored it."""

    def on_train_begin(self, logs=None):
        report["theseus_start"] = {
            "initial_epoch": int(self.model._initial_epoch or 0),
            "step": int(self.model.replacement_step.numpy()),
            "rate": float(self.model.replacement_rate.numpy()),
        }


def run_sgd():
    # The trainers under plain SGD: unlike Adam, SGD's update is proportional
    # to the gradient, so a loss not scaled by the global batch (or a batch
    # not split over the replicas) shows as a different result.
    def fit(trainer, name, model):
        trainer.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False,
                        **({"loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}
                           if name == "sgd_theseus" else {}))
        report[f"{name}_loss"] = trainer.fit(train_data(), epochs=1, verbose=0,
                                             shuffle=False).history["loss"]
        keep(name, model)

    with strategy_scope(STRATEGY):
        theseus = TheseusClassifier.from_predecessor(teacher(), 2, seed=7,
                                                     schedule=LinearReplacement(0.3, 0.05))
    fit(theseus, "sgd_theseus", theseus)
    with strategy_scope(STRATEGY):
        big = teacher()
        keras.utils.set_random_seed(1)
        student = models.build_text_classifier(models.ExactGeluBertBackbone(
            vocabulary_size=60, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16,
            max_sequence_length=12, dropout=0.0), 2, dropout=0.0)
        distiller = Distiller(big, student, kd_weight=1.0, label_weight=1.0,
                              hidden_mse_weight=1.0)
    fit(distiller, "sgd_distill", student)
    with strategy_scope(STRATEGY):
        dyna = DynaBertClassifier.from_classifier(teacher())
        trainer = DynaBertTrainer(dyna, DynaBertClassifier.from_classifier(teacher(),
                                                                           use_masks=False),
                                  widths=[1.0, 0.5], clip_norm=None)
    fit(trainer, "sgd_dynabert", dyna)


def text_data():
    frame = pd.DataFrame({"text": ["the movie was great", "i loved it", "very good acting",
                                   "great fun !", "the movie was terrible", "i hated it",
                                   "very bad acting", "boring plot ."] * 4,
                          "label": [1, 1, 1, 1, 0, 0, 0, 0] * 4})
    return TextClassificationData(name="toy", train=frame, dev=frame.iloc[::4],
                                  test=frame.iloc[1::4], label_names=["neg", "pos"])


def run_job():
    # The main job (what `keras-theseus compress --strategy multi_worker
    # --run-name job` runs): every worker trains, the chief alone writes.
    global TEXT_INPUTS
    data = text_data()
    run_dir, metrics, run = run_compress_job(
        data, output_dir=os.path.join(args.out, "runs"),
        run_name="job" if STRATEGY is not None else "job-single", export=False,
        latency_repeats=1, verbose=0, preset=args.checkpoint, method="distill", num_layers=1,
        sequence_length=8, batch_size=GLOBAL_BATCH, teacher_epochs=1, epochs=1,
        cache_teacher=False, strategy="multi_worker" if STRATEGY is not None else None)
    TEXT_INPUTS = next(iter(data.tf_dataset("test", run.preprocessor, batch_size=8,
                                            shuffle=False)))[0]
    # The teacher fine-tune under the strategy: its History and both models.
    report["job_teacher_loss"] = run.histories["teacher"].history["loss"]
    keep("job_teacher", run.teacher, TEXT_INPUTS)
    keep("job_student", run.student, TEXT_INPUTS)
    report["job"] = {"run_dir": os.path.basename(run_dir), "metrics": metrics is not None,
                     "files": sorted(os.listdir(run_dir)) if metrics is not None else None,
                     "report_says_strategy": metrics is not None and STRATEGY is not None and
                     "strategy multi_worker (2 replicas;" in open(
                         os.path.join(run_dir, "report.md"), encoding="utf-8").read(),
                     "student_accuracy": None if metrics is None
                     else float(metrics.loc["student", "test_accuracy"])}


def run_theseus():
    callbacks = [RecordStart()]
    if args.kill_at:
        callbacks.append(KillAt(*map(int, args.kill_at.split(":"))))
    result = compress_with_theseus(
        teacher(), train_data(), num_successor_layers=2, replacing_epochs=3,
        successor_epochs=1, schedule=LinearReplacement(0.3, 0.05), learning_rate=1e-3,
        seed=7, jit_compile=False, verbose=0, replacing_callbacks=callbacks,
        backup_dir=args.backup, strategy=STRATEGY)
    theseus = result.theseus
    report["theseus_loss"] = result.replacing_history.history["loss"]
    report["theseus_step"] = int(theseus.replacement_step.numpy())
    report["theseus_rate"] = float(theseus.replacement_rate.numpy())
    report["theseus_branch_counts"] = theseus.branch_counts.numpy().tolist()
    if STRATEGY is not None:
        report["theseus_rate_per_replica"] = [
            float(v.numpy()) for v in STRATEGY.experimental_local_results(
                theseus.replacement_rate.value)]
    report["successor_loss"] = result.successor_history.history["loss"]
    keep("successor", result.successor)


def run_distill():
    student, history = distill_classifier(
        teacher(), train_data(), num_layers=2, epochs=2, learning_rate=1e-3,
        jit_compile=False, verbose=0, kd_weight=1.0, label_weight=1.0, temperature=2.0,
        hidden_mse_weight=1.0, strategy=STRATEGY)
    report["distill_loss"] = history.history["loss"]
    report["distill_terms"] = {k: v for k, v in history.history.items()}
    keep("distill", student)


def run_dynabert():
    result = train_dynabert(teacher(), train_data(), dev_data(), widths=[1.0, 0.5],
                            depths=[1.0], width_epochs=1, depth_epochs=0,
                            learning_rate=1e-3, jit_compile=False, verbose=0,
                            strategy=STRATEGY)
    report["dynabert_loss"] = result.width_history.history["loss"]
    masks = [v for v in result.model.variables if "mask" in v.path]
    report["dynabert_masks"] = len(masks)
    if STRATEGY is not None:
        # Every replica holds the same masks.
        report["dynabert_mask_replicas_equal"] = all(
            all(np.array_equal(a.numpy(), b.numpy()) for b in
                STRATEGY.experimental_local_results(m.value))
            for m in masks for a in STRATEGY.experimental_local_results(m.value)[:1])
    keep("dynabert", result.model)


def run_search():
    space = SearchSpace(depths=[1], heads=[2], hidden_sizes=[8], intermediate_sizes=[16])
    table = search_subarchitectures(
        teacher(), train_data(), dev_data(), space, steps=3, latency_batch_size=2,
        latency_sequence_length=8, latency_repeats=1, final_latency_pass=False,
        jit_compile=False, verbose=0, strategy=STRATEGY)
    report["search_error"] = dict(zip(table["name"], table["error"].astype(float)))


for method in args.methods.split(","):
    globals()[f"run_{method}"]()

os.makedirs(args.out, exist_ok=True)
np.savez(os.path.join(args.out, f"{args.index}.npz"), **weights)
with open(os.path.join(args.out, f"{args.index}.json"), "w") as f:
    json.dump(report, f)
print("DONE", flush=True)
