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


def _wait_for(path, deadline, process):
    while not os.path.isfile(path):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.2)


@pytest.mark.parametrize("method", ["theseus"])
def test_resume_after_sigterm_gives_the_uninterrupted_result(method, tiny_checkpoint, tmp_path,
                                                             monkeypatch):
    """Kill a real run mid-stage-2, `--resume` it, compare with an uninterrupted run."""
    import keras
    import numpy as np

    from keras_theseus import cli

    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path / "cache"))
    args = ["compress", "--quick", "--preset", tiny_checkpoint, "--method", method,
            "--layers", "1", "--teacher-epochs", "2", "--epochs", "3",
            "--successor-epochs", "2", "--no-export", "--output-dir", str(tmp_path / "runs"),
            "--verbose", "0"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_theseus.cli", *args, "--run-name", "killed"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path))
    killed = tmp_path / "runs" / "killed"
    # Epoch 1 of stage 2 is backed up: kill the run inside epoch 2.
    _wait_for(str(killed / "checkpoints" / "theseus" / "replacing" / "training_metadata.json"),
              time.time() + 300, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-3000:]
    assert "--resume RUN_DIR" in err
    assert read_status(str(killed))["status"] == "interrupted"
    assert cli.main(["compress", "--resume", str(killed), "--verbose", "0"]) == 0
    assert read_status(str(killed))["status"] == "complete"
    assert not (killed / "checkpoints").exists()   # backups go once the run is complete
    assert cli.main([*args, "--run-name", "straight"]) == 0
    straight = tmp_path / "runs" / "straight"
    resumed_metrics = (killed / "metrics.csv").read_text().splitlines()
    straight_metrics = (straight / "metrics.csv").read_text().splitlines()
    accuracy = resumed_metrics[0].split(",").index("test_accuracy")
    assert [r.split(",")[accuracy] for r in resumed_metrics] == [
        r.split(",")[accuracy] for r in straight_metrics]
    a = keras.saving.load_model(str(killed / "student.keras")).get_weights()
    b = keras.saving.load_model(str(straight / "student.keras")).get_weights()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_resume_refuses_what_it_cannot_continue(tmp_path, capsys):
    from keras_theseus import cli

    (tmp_path / "old").mkdir()
    assert cli.main(["compress", "--resume", str(tmp_path / "old")]) == 1
    assert "is not a resumable run directory" in capsys.readouterr().err
    assert cli.main(["compress", "--resume", str(tmp_path / "old"), "--layers", "2"]) == 1
    assert "drop --layers" in capsys.readouterr().err
    done = tmp_path / "done"
    done.mkdir()
    (done / "run_config.json").write_text("{}")
    with RunStatus(str(done)):
        pass
    assert cli.main(["compress", "--resume", str(done)]) == 1
    assert "is complete; nothing to resume" in capsys.readouterr().err


def test_clue_resume_after_an_interrupted_save_gives_the_uninterrupted_result(
        tmp_path, monkeypatch, capsys):
    """`clue --resume`: task, data dir and settings come from the run; outputs are rewritten."""
    import numpy as np
    from bert_fixtures import write_clue_checkpoint

    from keras_theseus import cli
    from keras_theseus.datasets import load_clue
    from keras_theseus.datasets import validate_clue_submission
    from keras_theseus.workflows import clue_baseline

    clue_dir = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "clue")
    checkpoint = write_clue_checkpoint(tmp_path / "tiny_zh", clue_dir)
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path / "cache"))
    args = ["clue", "afqmc", "--data-dir", clue_dir, "--preset", checkpoint, "--method",
            "distill", "--layers", "1", "--sequence-length", "32", "--batch-size", "4",
            "--teacher-epochs", "1", "--epochs", "2", "--no-xla",
            "--output-dir", str(tmp_path / "runs"), "--verbose", "0"]
    write_submission = clue_baseline.write_clue_submission
    logits = []

    def interrupted(path, data, test_logits):
        logits.append(test_logits)
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"id": 0, "la')   # half a file, as a kill mid-write leaves it
        raise KeyboardInterrupt

    def recorded(path, data, test_logits):
        logits.append(test_logits)
        return write_submission(path, data, test_logits)

    monkeypatch.setattr(clue_baseline, "write_clue_submission", interrupted)
    assert cli.main([*args, "--run-name", "killed"]) == 130
    assert "keras-theseus clue --resume RUN_DIR" in capsys.readouterr().err
    killed = tmp_path / "runs" / "killed"
    assert read_status(str(killed)) == {**read_status(str(killed)), "status": "interrupted",
                                        "stage": "save"}
    assert (killed / "checkpoints").is_dir()
    monkeypatch.setattr(clue_baseline, "write_clue_submission", recorded)

    assert cli.main(["clue", "--resume", str(killed), "--layers", "2"]) == 1
    assert "drop --layers" in capsys.readouterr().err
    assert cli.main(["clue", "tnews", "--resume", str(killed)]) == 1
    assert "started on CLUE task 'afqmc'" in capsys.readouterr().err
    assert cli.main(["clue"]) == 1
    assert "TASK and --data-dir required" in capsys.readouterr().err

    # The resumed run restores every finished stage from its backups instead
    # of retraining: the same student, so the same test logits.
    assert cli.main(["clue", "--resume", str(killed), "--verbose", "0"]) == 0
    assert read_status(str(killed))["status"] == "complete"
    assert not (killed / "checkpoints").exists()
    np.testing.assert_allclose(logits[1], logits[0], atol=1e-5)
    data = load_clue("afqmc", clue_dir)
    assert validate_clue_submission(str(killed / "afqmc_predict.json"), data) == len(data.test)
