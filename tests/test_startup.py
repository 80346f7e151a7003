"""The `keras-theseus` command starts TensorFlow without its C++ chatter."""

import os
import subprocess
import sys

from keras_theseus.startup import drop_startup_noise
from keras_theseus.startup import is_command_line

SCRIPT = os.path.join(os.path.dirname(sys.executable), "keras-theseus")


def test_only_known_startup_lines_are_dropped():
    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to "
        "STDERR",
        "I0000 00:00:1796346822.795617    9559 port.cc:153] oneDNN custom operations are on.",
        "To enable the following instructions: AVX2 AVX512F, in other operations, rebuild",
        "E0000 00:00:1796346825.660528    9559 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error",
        "E0000 00:00:1796346825.660528    9559 something.cc:1] a real error",
        "Traceback (most recent call last):",
    ]
    assert drop_startup_noise(lines) == lines[-2:]
    assert not is_command_line()  # pytest is not the console script


def test_console_script_stderr_is_clean(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_THESEUS_DEBUG")}
    result = subprocess.run([SCRIPT, "presets"], capture_output=True, text=True, env=env,
                            cwd=str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all_minilm_l6_v2:" in result.stdout
    assert result.stderr == ""
