import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sentence_similarity_example_runs():
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "sentence_similarity.py"),
         "A man is playing a guitar.", "Someone is playing an acoustic guitar.",
         "The central bank raised interest rates again."],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [l for l in result.stdout.splitlines() if "~" in l]
    assert len(lines) == 3
    scores = [float(l.split()[0]) for l in lines]
    assert scores[0] > scores[1] + 0.4 and scores[0] > scores[2] + 0.4


def test_cli_presets_lists_default():
    result = subprocess.run([sys.executable, "-m", "keras_theseus.cli", "presets"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all_minilm_l6_v2" in result.stdout


def test_theseus_three_stages_quick(tmp_path):
    out = tmp_path / "successor.keras"
    cmd = [sys.executable, os.path.join(ROOT, "examples", "theseus_three_stages.py"),
           "--quick", "--layers", "2", "--output", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_THESEUS_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "successor 2 layers: test accuracy" in result.stdout
    assert out.is_file()
    # Never overwrites what a user saved.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode != 0 and "--overwrite" in again.stderr


def test_distill_student_quick(tmp_path):
    out = tmp_path / "student.keras"
    cmd = [sys.executable, os.path.join(ROOT, "examples", "distill_student.py"),
           "--quick", "--layers", "2", "--output", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_THESEUS_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "student keeps teacher layers [0, 5]" in result.stdout
    assert "student 2 layers: test accuracy" in result.stdout
    assert out.is_file()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode != 0 and "--overwrite" in again.stderr
