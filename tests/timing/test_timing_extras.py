import os
import subprocess
import sys

import pytest
from bert_fixtures import toy_batch

from keras_theseus import callbacks
from keras_theseus import export
from keras_theseus import models
from keras_theseus import timing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _classifier(num_layers=2, hidden=32):
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=num_layers, num_heads=2,
                                            hidden_dim=hidden, intermediate_dim=2 * hidden,
                                            max_sequence_length=16)
    return models.build_text_classifier(backbone, 2)


def test_flops_match_the_analytic_count():
    h, i, s, layers = 32, 64, 8, 2
    flops = timing.count_flops(_classifier(layers, h), batch_size=2, sequence_length=s)
    matmuls = 2 * (s * 2 * (4 * h * h + 2 * h * i) + 2 * 2 * s * s * h) * layers
    # Matmuls dominate; softmax, layer norms, GELU and the pooler add a little.
    assert matmuls < flops < 1.3 * matmuls
    assert timing.count_flops(_classifier(4, h), 2, s) > 1.8 * timing.count_flops(
        _classifier(2, h), 2, s) - 1e5
    with pytest.raises(ValueError, match="batch_size"):
        timing.count_flops(_classifier(), batch_size=0)


def test_timing_callback_logs_step_and_latency_percentiles():
    model = _classifier()
    models.compile_text_classifier(model, jit_compile=False)
    x, y = toy_batch(32)
    cb = callbacks.TimingCallback(timing.synthetic_inputs(4, 8, 60), latency_every=2,
                                  warmup_steps=1, latency_repeats=3)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb]).history
    assert len(history["step_ms_p50"]) == 2
    assert all(0 < a <= b <= c for a, b, c in zip(history["step_ms_p50"],
                                                  history["step_ms_p90"],
                                                  history["step_ms_p99"]))
    # Latency only at epoch 2 (latency_every=2).
    assert len(history["latency_ms_p50"]) == 1 and history["throughput"][0] > 0
    assert len(cb.steps_ms) == 2 * 4 - 1
    assert cb.device["kind"] in ("CPU", "GPU", "TPU")
    with pytest.raises(ValueError, match="latency_every"):
        callbacks.TimingCallback(latency_every=0)


def test_timing_callback_config_round_trips_through_json():
    import json

    import numpy as np

    cb = callbacks.TimingCallback(timing.synthetic_inputs(2, 8, 60), latency_every=3,
                                  warmup_steps=1, latency_warmup=0, latency_repeats=4)
    config = json.loads(json.dumps(cb.get_config()))
    again = callbacks.TimingCallback.from_config(config)
    assert (again.latency_every, again.warmup_steps, again.latency_warmup,
            again.latency_repeats) == (3, 1, 0, 4)
    for key, value in cb.inference_inputs.items():
        np.testing.assert_array_equal(np.asarray(again.inference_inputs[key]), value)
    assert callbacks.TimingCallback.from_config(
        callbacks.TimingCallback().get_config()).inference_inputs is None


def test_benchmark_saved_models_and_cli(tmp_path):
    teacher, student = _classifier(4), _classifier(1)
    for m in (teacher, student):
        m(toy_batch(2)[0])
    teacher_path, student_path = str(tmp_path / "teacher.keras"), str(tmp_path / "student.keras")
    teacher.save(teacher_path)
    student.save(student_path)
    served = export.export_for_serving(student, str(tmp_path / "serving"), "student")
    table = timing.benchmark_models([teacher_path, student_path, served], batch_size=4,
                                    sequence_length=16, warmup=1, repeats=3)
    assert list(table.index) == ["teacher.keras", "student.keras", "1"]
    assert table.loc["teacher.keras", "speedup"] == 1.0
    assert table.loc["teacher.keras", "params"] > table.loc["student.keras", "params"]
    assert table.loc["teacher.keras", "gflops"] > 3 * table.loc["student.keras", "gflops"]
    result = subprocess.run(
        [sys.executable, "-m", "keras_theseus.cli", "benchmark", teacher_path, student_path,
         "--batch-size", "2", "--sequence-length", "8", "--repeats", "2",
         "--csv", str(tmp_path / "t.csv")],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "speedup relative to teacher.keras" in result.stdout
    assert (tmp_path / "t.csv").is_file()
    with pytest.raises(ValueError, match="neither"):
        timing.load_for_benchmark(str(tmp_path / "missing.keras"))
