"""A run directory says whether it is finished: status.json, and SIGTERM mid-run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from keras_theseus.workflows import RunStatus
from keras_theseus.workflows import read_status


def test_status_records_complete_interrupted_and_failed(tmp_path):
    with RunStatus(str(tmp_path)) as status:
        assert read_status(str(tmp_path))["status"] == "running"
        status.stage("compress")
        record = read_status(str(tmp_path))
        assert record["stage"] == "compress" and record["pid"] == os.getpid()
    assert read_status(str(tmp_path))["status"] == "complete"

    with pytest.raises(KeyboardInterrupt):
        with RunStatus(str(tmp_path)) as status:
            status.stage("evaluate")
            raise KeyboardInterrupt
    record = read_status(str(tmp_path))
    assert (record["status"], record["stage"]) == ("interrupted", "evaluate")

    with pytest.raises(ValueError):
        with RunStatus(str(tmp_path)):
            raise ValueError("bad batch")
    record = read_status(str(tmp_path))
    assert record["status"] == "failed" and record["error"] == "ValueError: bad batch"
    assert sorted(os.listdir(tmp_path)) == ["status.json"]  # no staging file left
    assert read_status(str(tmp_path / "nowhere"))["status"] == "unknown"
    with pytest.raises(FileNotFoundError, match="run_dir"):
        RunStatus(str(tmp_path / "nowhere"))


def test_sigterm_mid_run_leaves_an_interrupted_run(tiny_checkpoint, tmp_path):
    run = tmp_path / "runs" / "killed"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "KERAS_THESEUS_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_theseus.cli", "compress", "--quick", "--preset",
         tiny_checkpoint, "--layers", "1", "--teacher-epochs", "50", "--output-dir",
         str(tmp_path / "runs"), "--run-name", "killed", "--verbose", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=str(tmp_path))
    deadline = time.time() + 240
    while read_status(str(run)).get("stage") != "compress":
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, "the run never reached the compress stage"
        time.sleep(0.5)
    time.sleep(3)  # inside the teacher's fit
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "keras-theseus compress: interrupted" in err
    record = json.loads((run / "status.json").read_text())
    assert (record["status"], record["stage"]) == ("interrupted", "compress")
    assert not (run / "report.md").exists()
