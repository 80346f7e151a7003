"""Which worker of a multi-worker run writes the run directory, and where it is."""

import contextlib
import os

from keras_theseus.distribute.keras_patches import is_multi_worker
from keras_theseus.distribute.strategies import is_chief
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.workflows.compress import new_run_dir
from keras_theseus.workflows.run_status import RunStatus


def writes_files(config):
    """False on the non-chief workers of a multi-worker run, True everywhere else.

    Every worker trains; the chief alone writes the run directory (config,
    status, checkpoints, report, exported student).
    """
    return is_chief(resolve_strategy(config.strategy))


def worker_run_dir(output_dir, prefix, run_name, overwrite, config):
    """The run directory: made by the chief, only named on the other workers.

    Under `strategy="multi_worker"` every worker must name the same
    directory, so `run_name` is required; the chief creates it
    (`new_run_dir`, with its `overwrite` rule) and the other workers read the
    checkpoints it writes there when a run resumes. It must be on a
    filesystem all workers share (or the same path on one machine).

    Raises:
        ValueError: multi-worker without `run_name`.
    """
    strategy = resolve_strategy(config.strategy)
    if strategy is not None and is_multi_worker(strategy):
        if run_name is None:
            raise ValueError("`run_name` is required with strategy='multi_worker' (--run-name): "
                             "every worker must use the same run directory.")
        if not is_chief(strategy):
            return os.path.join(output_dir, run_name)
    return new_run_dir(output_dir, prefix, run_name=run_name, overwrite=overwrite)


class _Stages:
    def stage(self, name):
        pass


def run_status(run_dir, writes):
    """`RunStatus(run_dir)` on the worker that writes, a no-op context elsewhere."""
    return RunStatus(run_dir) if writes else contextlib.nullcontext(_Stages())
