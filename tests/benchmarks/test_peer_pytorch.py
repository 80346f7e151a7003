"""The PyTorch peer benchmark, end to end on a tiny checkpoint."""

import importlib.util
import json
import os
import sys

import pytest
from bert_fixtures import write_hf_checkpoint

pytest.importorskip("torch")
pytest.importorskip("transformers")

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "peer_pytorch.py")


def load_script():
    # As when run as a script: its folder (with peer_inputs.py) on sys.path.
    folder = os.path.abspath(os.path.dirname(SCRIPT))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("peer_pytorch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peer_benchmark_runs_both_stacks_on_the_same_function(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    checkpoint = tmp_path / "tiny"
    write_hf_checkpoint(str(checkpoint), num_layers=2, max_positions=128)
    results = tmp_path / "results.json"
    raw = tmp_path / "raw.json"
    report = load_script().main([
        "--preset", str(checkpoint), "--depths", "2", "1", "--rounds", "1", "--repeats", "1",
        "--warmup", "0", "--eval-repeats", "1", "--eval-sentences", "40",
        "--stacks", "torch", "keras", "torch_bf16", "keras_bf16", "--results", str(results),
        "--raw", str(raw),
        "--tolerance", "1e-5"])
    summary = report["summary"]
    for layers in (2, 1):
        for case in ("infer_b32_s128", "infer_b32_s64", "infer_b1_s128", "train_b32_s64"):
            assert summary["torch"][f"{layers}L_{case}"] > 0
            assert summary["keras"][f"{layers}L_{case}"] > 0
    assert summary["keras"]["2L_eval_real_bucketed"] > 0
    assert summary["torch"]["2L_eval_real_dynamic_padding"] > 0
    # Same weights, same head: the two stacks compute the same function.
    diffs = report["exactness"]["keras"]
    assert set(diffs) == {"2L_hidden", "2L_logits", "1L_hidden", "1L_logits"}
    assert max(diffs.values()) < 1e-5
    # bfloat16 stacks: both run (torch under autocast, ours in mixed_bfloat16),
    # within bfloat16 rounding of float32, and are compared with each other.
    for stack in ("torch_bf16", "keras_bf16"):
        assert summary[stack]["2L_train_b32_s64"] > 0
        assert 0 < max(report["exactness"][stack].values()) < 0.1
    records = json.load(open(results))
    bf16 = [r for r in records if r["method"].startswith("keras_bf16:")]
    assert bf16 and all(r["extra"]["reference"] == "torch_bf16" for r in bf16)
    assert not any(r["method"].startswith("torch") for r in records)
    assert {r["experiment"] for r in records} == {"peer_pytorch"}
    assert all(r["metric"] == "latency_ratio_vs_torch" and r["student_metric"] > 0
               for r in records)
    assert (tmp_path / "RESULTS.md").exists()
    assert json.load(open(raw))["rounds"]["torch"][0]


def test_bad_arguments_are_refused(tmp_path):
    script = load_script()
    with pytest.raises(SystemExit):
        script.main(["--rounds", "0", "--results", ""])
    with pytest.raises(SystemExit):
        script.main(["--variant", "keras=--xla_cpu_use_xnnpack=true", "--results", ""])
