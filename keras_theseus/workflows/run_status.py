"""`status.json` in a run directory: running, complete, interrupted or failed."""

import datetime
import json
import os

from keras_theseus.utils import write_json_atomically

STATUS_FILE = "status.json"


def _now():
    return datetime.datetime.now().isoformat(timespec="seconds")


class RunStatus:
    """Keep `<run_dir>/status.json` saying how far a run got.

    A context manager around a run: on entry the status is `"running"`
    (with the process id and start time); `stage(name)` records the stage
    in progress; a normal exit writes `"complete"`, Ctrl-C (or SIGTERM, which
    the `keras-theseus` command turns into Ctrl-C) writes `"interrupted"` and
    any other exception `"failed"` with its message. A run directory whose
    status is not `"complete"` is not a finished run, whatever files it holds
    (`report.md` is written last).

    Args:
        run_dir: the run directory (it must exist).

    Example:
    ```python
    with RunStatus(run_dir) as status:
        status.stage("teacher")
        ...
        status.stage("report")
        write_report(run_dir, ...)
    read_status(run_dir)["status"]  # "complete"
    ```
    """

    def __init__(self, run_dir):
        if not os.path.isdir(run_dir):
            raise FileNotFoundError(f"`run_dir` {run_dir!r} is not a directory.")
        self.run_dir = run_dir
        self.record = {}

    def _write(self, **fields):
        self.record.update(fields, updated=_now())
        # Never a half-written status, even when the run is killed mid-write.
        write_json_atomically(os.path.join(self.run_dir, STATUS_FILE), self.record,
                              indent=2)

    def __enter__(self):
        self._write(status="running", stage=None, pid=os.getpid(), started=_now())
        return self

    def stage(self, name):
        """Record the stage now in progress."""
        self._write(stage=name)

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self._write(status="complete", stage=None)
        elif issubclass(kind, KeyboardInterrupt):
            self._write(status="interrupted")
        else:
            self._write(status="failed", error=f"{kind.__name__}: {error}")
        return False


def read_status(run_dir):
    """The `status.json` record of a run directory (`{"status": "unknown"}` if absent).

    Example:
    ```python
    read_status("keras_theseus_runs/movie_reviews-theseus3-001")["status"]  # "complete"
    ```
    """
    path = os.path.join(run_dir, STATUS_FILE)
    if not os.path.isfile(path):
        return {"status": "unknown"}
    with open(path, encoding="utf-8") as f:
        return json.load(f)
