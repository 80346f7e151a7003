"""Every recipe under MultiWorkerMirroredStrategy with two real worker processes.

Two processes on this machine form a cluster through TF_CONFIG on loopback
ports (CPU, one replica each) and run `multi_worker_run.py`; a third runs
the same recipes without a strategy on the same global batch (16).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "multi_worker_run.py")
TIMEOUT_S = 600


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ",".join(map(str, ports))


def _command(index, out, checkpoint, ports="", methods=None, backup=None, kill_at=None):
    command = [sys.executable, SCRIPT, "--index", str(index), "--out", str(out),
               "--checkpoint", checkpoint, "--ports", ports]
    for flag, value in (("--methods", methods), ("--backup", backup), ("--kill-at", kill_at)):
        if value is not None:
            command += [flag, str(value)]
    return command


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}


def _start(*args, **kwargs):
    return subprocess.Popen(_command(*args, **kwargs), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env())


def _finish(processes, expect_ok=True):
    """Wait for every process; on a failure or time-out kill them all and fail with the logs."""
    deadline = time.monotonic() + TIMEOUT_S
    logs = []
    try:
        for p in processes:
            out, _ = p.communicate(timeout=max(1, deadline - time.monotonic()))
            logs.append(out)
    except subprocess.TimeoutExpired:
        for p in processes:
            p.kill()
        pytest.fail("a worker did not finish in time:\n" + "\n".join(
            (p.communicate()[0] or "")[-3000:] for p in processes))
    if expect_ok:
        for p, out in zip(processes, logs):
            assert p.returncode == 0, out[-4000:]
    return logs


def _load(out, index):
    with open(os.path.join(out, f"{index}.json")) as f:
        report = json.load(f)
    return report, dict(np.load(os.path.join(out, f"{index}.npz")))


@pytest.fixture(scope="module")
def runs(tiny_checkpoint, tmp_path_factory):
    """Reports and weights of worker 0, worker 1 and the one-process run (-1)."""
    root = tmp_path_factory.mktemp("multi_worker")
    out = root / "out"
    ports = _free_ports(2)
    # All three at once: the workers wait on each other's collectives, and
    # the one-process run fills those gaps on the two cores.
    _finish([_start(i, out, tiny_checkpoint, ports, backup=root / "backup_workers")
             for i in (0, 1)] + [_start(-1, out, tiny_checkpoint, backup=root / "backup_single")])
    return {i: _load(out, i) for i in (-1, 0, 1)}, root


def _names(weights):
    return sorted({key.split("/")[0] for key in weights if "/" in key})


def _max_diff(a, b, name):
    keys = [k for k in a if k.startswith(name + "/")]
    return max(float(np.abs(a[k] - b[k]).max()) for k in keys)


def test_workers_end_with_identical_weights_and_reports(runs):
    (report0, weights0), (report1, weights1) = runs[0][0], runs[0][1]
    assert set(_names(weights0)) == {"job_teacher", "job_student", "successor", "distill",
                                     "dynabert", "sgd_theseus", "sgd_distill", "sgd_dynabert"}
    for key in weights0:
        np.testing.assert_array_equal(weights0[key], weights1[key], err_msg=key)
    # Every History (epoch logs) is the global one on both workers.
    assert {k: v for k, v in report0.items() if k != "job"} == \
        {k: v for k, v in report1.items() if k != "job"}


def test_main_job_trains_on_every_worker_and_the_chief_writes(runs):
    chief, other = runs[0][0][0]["job"], runs[0][1][0]["job"]
    assert chief["run_dir"] == other["run_dir"] == "job"
    assert chief["metrics"] and not other["metrics"]
    # Complete: report written, backups removed once the run finished.
    assert {"report.md", "metrics.csv", "student.keras", "run_config.json",
            "status.json"} <= set(chief["files"])
    assert "checkpoints" not in chief["files"]
    assert chief["report_says_strategy"]
    assert 0.0 <= chief["student_accuracy"] <= 1.0
    assert runs[0][-1][0]["job"]["metrics"]   # the same job without a strategy


def test_trainers_equal_the_one_process_run_under_sgd(runs):
    # SGD's update is proportional to the gradient: a loss not scaled by the
    # global batch, a batch not split over the replicas, another data order
    # or token-masked terms averaged per replica would all show here.
    (single, single_w), (worker, worker_w) = runs[0][-1], runs[0][0]
    for name in ("sgd_theseus", "sgd_distill", "sgd_dynabert"):
        assert _max_diff(worker_w, single_w, name) < 1e-5, name
        np.testing.assert_allclose(worker[f"{name}_loss"], single[f"{name}_loss"], rtol=1e-5)


def test_recipes_match_the_one_process_run(runs):
    (single, single_w), (worker, worker_w) = runs[0][-1], runs[0][0]
    # AdamW divides each gradient by its running RMS, so float rounding in
    # the all-reduce moves weights whose gradient is ~0 by up to ~lr: the
    # models' outputs are compared, and the losses.
    for name in ("successor", "distill", "dynabert"):
        np.testing.assert_allclose(worker_w[f"{name}_logits"], single_w[f"{name}_logits"],
                                   atol=1e-3, err_msg=name)
    for key in ("theseus_loss", "successor_loss", "distill_loss", "dynabert_loss"):
        np.testing.assert_allclose(worker[key], single[key], rtol=1e-3, err_msg=key)
    # Theseus: the same draws as on one device, p and step in sync on every replica.
    assert worker["theseus_step"] == single["theseus_step"] == 12
    assert worker["theseus_branch_counts"] == single["theseus_branch_counts"]
    assert worker["theseus_rate"] == pytest.approx(single["theseus_rate"])
    assert worker["theseus_rate_per_replica"] == [pytest.approx(single["theseus_rate"])]
    # DynaBERT: the masks are one mirrored variable, equal on every replica.
    assert worker["dynabert_masks"] == single["dynabert_masks"] > 0
    assert worker["dynabert_mask_replicas_equal"] is True
    # Search: each candidate distilled under the strategy, scored on one device.
    assert worker["search_error"].keys() == single["search_error"].keys()
    for name, error in single["search_error"].items():
        assert worker["search_error"][name] == pytest.approx(error, rel=1e-4)
    # The teacher fine-tune (in the main job) draws dropout masks per
    # replica, so only its loss is close to the one-process run's (same
    # data, same global batch).
    np.testing.assert_allclose(worker["job_teacher_loss"], single["job_teacher_loss"],
                               rtol=0.02)


def test_killed_worker_resumes_from_the_last_epoch(runs, tiny_checkpoint):
    (uninterrupted, uninterrupted_w), root = runs[0][0], runs[1]
    out, backup = root / "resumed", root / "backup_killed"
    ports = _free_ports(2)
    # Worker 1 is killed (SIGKILL) at batch 2 of replacing epoch 2; worker 0
    # then waits on a collective that never completes and is killed too.
    worker0 = _start(0, out, tiny_checkpoint, ports, methods="theseus", backup=backup)
    worker1 = _start(1, out, tiny_checkpoint, ports, methods="theseus", backup=backup,
                     kill_at="1:2")
    _finish([worker1], expect_ok=False)
    assert worker1.returncode == -signal.SIGKILL
    worker0.kill()
    _finish([worker0], expect_ok=False)
    with open(backup / "replacing" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 1
    # Both restarted with the same backup directory, on new ports.
    ports = _free_ports(2)
    _finish([_start(i, out, tiny_checkpoint, ports, methods="theseus", backup=backup)
             for i in (0, 1)])
    (resumed0, weights0), (resumed1, weights1) = _load(out, 0), _load(out, 1)
    assert resumed0 == resumed1
    # Restored, not retrained: epoch 1 done, 4 replacement steps, and the
    # p of the last of them, 0.3 + 0.05 * 3.
    assert resumed0["theseus_start"] == {"initial_epoch": 1, "step": 4,
                                         "rate": pytest.approx(0.45)}
    assert resumed0["theseus_step"] == uninterrupted["theseus_step"]
    assert resumed0["theseus_branch_counts"] == uninterrupted["theseus_branch_counts"]
    assert resumed0["theseus_rate"] == pytest.approx(uninterrupted["theseus_rate"])
    np.testing.assert_allclose(resumed0["theseus_loss"], uninterrupted["theseus_loss"][1:],
                               rtol=1e-5)
    for key in uninterrupted_w:
        if key.startswith("successor"):
            np.testing.assert_allclose(weights0[key], uninterrupted_w[key], atol=1e-6,
                                       err_msg=key)
            np.testing.assert_array_equal(weights0[key], weights1[key])
