"""The DynaBERT step-memory diagnostic runs a real trainer step and reports peak RSS."""

import importlib.util
import json
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks",
                      "dynabert_step_memory.py")


def _module():
    spec = importlib.util.spec_from_file_location("dynabert_step_memory", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_peak_memory_and_step_time_of_a_tiny_encoder(capsys):
    _module().main(["--layers", "2", "--hidden", "32", "--heads", "4", "--intermediate", "64",
                    "--vocabulary-size", "100", "--batch-size", "4", "--sequence-length", "16",
                    "--steps", "1"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["subnetworks"] == 16
    assert report["shape"]["hidden"] == 32 and report["shape"]["sequence_length"] == 16
    rss = report["peak_rss_mb"]
    # Peak RSS never shrinks, and the traced step allocates something.
    assert 0 < rss["before"] <= rss["after_first_step"] <= rss["after_1_more"]
    assert report["step_seconds_median"] > 0


def test_steps_must_be_positive():
    with pytest.raises(SystemExit):
        _module().main(["--steps", "0"])
