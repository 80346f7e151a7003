"""Train Theseus and the Distiller on one device and under MirroredStrategy.

Run as a script (the two logical CPU devices must exist before TensorFlow
initializes), prints a JSON report of the differences.
"""

import json
import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bert_fixtures import toy_batch  # noqa: E402

from keras_theseus import distill  # noqa: E402
from keras_theseus import models  # noqa: E402
from keras_theseus.callbacks import TimingCallback  # noqa: E402
from keras_theseus.timing import synthetic_inputs  # noqa: E402
from keras_theseus.theseus import LinearReplacement  # noqa: E402
from keras_theseus.theseus import TheseusClassifier  # noqa: E402


def classifier(layers, hidden, seed):
    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=layers, num_heads=2,
                                            hidden_dim=hidden, intermediate_dim=2 * hidden,
                                            max_sequence_length=12, dropout=0.0)
    return models.build_text_classifier(backbone, 2, dropout=0.0)


X, Y = toy_batch(64, seed=3)
DATA = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16, drop_remainder=True)
TEACHER_WEIGHTS = classifier(4, 16, 0).get_weights()
STUDENT_WEIGHTS = classifier(2, 8, 1).get_weights()


def theseus_run():
    teacher = classifier(4, 16, 0)
    teacher.set_weights(TEACHER_WEIGHTS)
    model = TheseusClassifier.from_predecessor(teacher, 2, seed=7,
                                               schedule=LinearReplacement(0.3, 0.05))
    # Plain SGD: a step with zero gradients moves nothing, on any device count.
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    history = model.fit(DATA, epochs=2, verbose=0)
    return model, history.history


def distiller_run():
    teacher = classifier(4, 16, 0)
    teacher.set_weights(TEACHER_WEIGHTS)
    student = classifier(2, 8, 1)
    student.set_weights(STUDENT_WEIGHTS)
    d = distill.Distiller(teacher, student, kd_weight=1.0, label_weight=1.0,
                          cosine_weight=1.0, hidden_mse_weight=1.0)
    d.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=False)
    timing = TimingCallback(synthetic_inputs(4, 8, 60), warmup_steps=1, latency_repeats=2)
    history = d.fit(DATA, epochs=2, verbose=0, callbacks=[timing])
    return d, history.history


def weights_diff(a, b):
    return float(max(np.abs(x - y).max() for x, y in zip(a.get_weights(), b.get_weights())))


report = {}
single_theseus, single_theseus_history = theseus_run()
single_distiller, single_distiller_history = distiller_run()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
report["replicas"] = strategy.num_replicas_in_sync
with strategy.scope():
    mirrored_theseus, mirrored_theseus_history = theseus_run()
    mirrored_distiller, mirrored_distiller_history = distiller_run()

report["theseus_weights_diff"] = weights_diff(single_theseus, mirrored_theseus)
report["theseus_rate"] = [float(single_theseus.replacement_rate.numpy()),
                          float(mirrored_theseus.replacement_rate.numpy())]
report["theseus_rate_per_replica"] = [
    float(v.numpy()) for v in strategy.experimental_local_results(
        mirrored_theseus.replacement_rate.value)]
report["theseus_step"] = [int(single_theseus.replacement_step.numpy()),
                          int(mirrored_theseus.replacement_step.numpy())]
report["theseus_branch_counts"] = [single_theseus.branch_counts.numpy().tolist(),
                                   mirrored_theseus.branch_counts.numpy().tolist()]
report["theseus_loss"] = [single_theseus_history["loss"], mirrored_theseus_history["loss"]]
report["distiller_weights_diff"] = weights_diff(single_distiller.student,
                                                mirrored_distiller.student)
report["distiller_loss"] = [single_distiller_history["loss"],
                            mirrored_distiller_history["loss"]]
report["distiller_terms"] = sorted(k for k in mirrored_distiller_history)
print("REPORT " + json.dumps(report))
