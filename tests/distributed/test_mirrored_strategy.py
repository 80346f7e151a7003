import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def report():
    result = subprocess.run([sys.executable, os.path.join(HERE, "mirrored_run.py")],
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-4000:]
    line = [l for l in result.stdout.splitlines() if l.startswith("REPORT ")][-1]
    return json.loads(line[len("REPORT "):])


def test_two_replicas(report):
    assert report["replicas"] == 2


def test_theseus_matches_single_device(report):
    # Same stateless draws on every replica and as on one device.
    assert report["theseus_step"][0] == report["theseus_step"][1] == 8
    assert report["theseus_branch_counts"][0] == report["theseus_branch_counts"][1]
    rate = report["theseus_rate"]
    assert rate[0] == pytest.approx(rate[1])
    assert all(r == pytest.approx(rate[0]) for r in report["theseus_rate_per_replica"])
    np.testing.assert_allclose(*report["theseus_loss"], rtol=1e-4)
    assert report["theseus_weights_diff"] < 1e-4


def test_distiller_matches_single_device(report):
    # Token-masked terms average over each replica's real tokens, then over
    # replicas: equal to the one-device mean up to padding imbalance.
    np.testing.assert_allclose(*report["distiller_loss"], rtol=1e-3)
    assert report["distiller_weights_diff"] < 1e-3
    assert {"kd", "label", "cosine", "hidden_mse", "loss"} <= set(report["distiller_terms"])
    # TimingCallback works under the strategy too.
    assert {"step_ms_p50", "latency_ms_p99", "throughput"} <= set(report["distiller_terms"])
