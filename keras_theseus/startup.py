"""TensorFlow started without its C++ start-up chatter, for the `keras-theseus` command.

Imported by `keras_theseus/__init__.py` before Keras, and active only in the
`keras-theseus` console script: a library user's process and its logging are
left as they are.
"""

import os
import re
import sys
import tempfile

# What TensorFlow's C++ runtime prints on stderr while it starts, before
# Python logging exists: absl's pre-init notice, info lines (oneDNN, "Could
# not find cuda drivers", CPU features) and, on a machine without a GPU,
# the failed CUDA probe. None of it is actionable for a CLI user.
STARTUP_NOISE = (
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"^I\d{4} "),
    re.compile(r"^To enable the following instructions:"),
    re.compile(r"^E\d{4} .*failed call to cuInit"),
)


def drop_startup_noise(lines):
    """The lines of `lines` that are not TensorFlow start-up noise (`STARTUP_NOISE`)."""
    return [line for line in lines if not any(p.search(line) for p in STARTUP_NOISE)]


def is_command_line():
    """True in the `keras-theseus` console script."""
    return os.path.basename(sys.argv[0] if sys.argv else "") == "keras-theseus"


def start_tensorflow_quietly():
    """Import TensorFlow with its C++ start-up lines kept off the console.

    Sets `TF_CPP_MIN_LOG_LEVEL=3` (unless set: the C++ runtime's later
    error lines, such as oneDNN's int64 notice, go too; errors that matter
    raise Python exceptions) and captures file descriptor 2 while
    TensorFlow loads and probes its devices. Lines matching `STARTUP_NOISE`
    are dropped, anything else is printed as it came. With
    `KERAS_THESEUS_DEBUG=1` nothing is changed or hidden.

    Example:
    ```python
    from keras_theseus.startup import start_tensorflow_quietly
    start_tensorflow_quietly()  # before anything imports tensorflow
    ```
    """
    if os.environ.get("KERAS_THESEUS_DEBUG") or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to capture: nothing to hide either
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines()
            # A failed start shows everything it printed.
            kept = lines if failed else drop_startup_noise(lines)
            if kept:
                print("\n".join(kept), file=sys.stderr)
