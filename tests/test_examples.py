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
