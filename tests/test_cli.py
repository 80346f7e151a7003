"""`keras-theseus` subcommands end to end in subprocesses, on tiny real checkpoints."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from bert_fixtures import write_clue_checkpoint

from keras_theseus.datasets import load_clue
from keras_theseus.datasets import validate_clue_submission

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUE_FIXTURES = os.path.join(ROOT, "tests", "fixtures", "clue")


def run_script(*args, tmp_path, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "KERAS_THESEUS_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(tmp_path))


def cli(*args, tmp_path, timeout=600):
    return run_script("-m", "keras_theseus.cli", *args, tmp_path=tmp_path, timeout=timeout)


@pytest.mark.parametrize("command", ["compress", "clue", "export", "benchmark",
                                     "fetch-assets", "presets"])
def test_help_everywhere(tmp_path, command):
    result = cli(command, "--help", tmp_path=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: keras-theseus " + command in result.stdout


def test_compress_report_and_export(tmp_path, tiny_checkpoint):
    out = tmp_path / "runs"
    args = ["compress", "--quick", "--preset", tiny_checkpoint, "--method", "distill",
            "--layers", "1", "--output-dir", str(out), "--verbose", "2"]
    result = cli(*args, "--run-name", "first", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = out / "first"
    assert {"report.md", "metrics.csv", "accuracy_vs_latency.png", "student.keras",
            "serving", "student_hf"} <= set(os.listdir(run))
    hf_config = json.loads((run / "student_hf" / "config.json").read_text())
    assert hf_config["num_hidden_layers"] == 1 and hf_config["num_labels"] == 2
    assert (run / "serving" / "student" / "1" / "saved_model.pb").is_file()
    metrics = pd.read_csv(run / "metrics.csv", index_col=0)
    assert list(metrics.index) == ["teacher", "student"]
    assert list(metrics["layers"]) == [2, 1]
    assert "speedup_b32x40" in metrics.columns
    assert "student" in result.stdout and "report:" in result.stdout  # summary table
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "distill compression" in report and "2,048 train" not in report
    assert "2048 train / 128 dev / 256 test rows" in report
    # A quick run says what its numbers are, in the report and on the console.
    assert "Quick run: a smoke test of the pipeline, not a measurement." in report
    assert "Quick run: a smoke test" in result.stdout
    assert "AutoModelForSequenceClassification.from_pretrained(\"student_hf\")" in report
    # The same run name again is refused, and nothing is touched.
    stamp = os.path.getmtime(run / "report.md")
    again = cli(*args, "--run-name", "first", tmp_path=tmp_path)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    assert os.path.getmtime(run / "report.md") == stamp

    # export: every format from the saved student, never overwriting.
    exported = tmp_path / "exported"
    result = cli("export", str(run / "student.keras"), "--format", "all", "--output",
                 str(exported), "--preset", tiny_checkpoint, "--sequence-length", "16",
                 tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (exported / "student" / "1" / "saved_model.pb").is_file()
    assert (exported / "student.tflite").is_file() and (exported / "student.onnx").is_file()
    result = cli("export", str(run / "student.keras"), "--format", "tflite", "--output",
                 str(exported), tmp_path=tmp_path)
    assert result.returncode != 0 and "overwrite" in result.stderr
    result = cli("export", str(run / "student.keras"), "--output", str(exported),
                 tmp_path=tmp_path)  # serving, version "next"
    assert result.returncode == 0 and (exported / "student" / "2").is_dir()
    result = cli("export", str(run / "student.keras"), "--format", "hf", "--output",
                 str(exported), tmp_path=tmp_path)
    assert result.returncode != 0 and "needs --preset" in result.stderr
    for fmt, name in (("hf", "student_hf"), ("keras_hub_preset", "student_preset")):
        extra = ["--label-names", "neg,pos"] if fmt == "hf" else []
        result = cli("export", str(run / "student.keras"), "--format", fmt, "--output",
                     str(exported), "--preset", tiny_checkpoint, "--sequence-length", "16",
                     *extra, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"{fmt}: {exported / name}" in result.stdout
    hf_config = json.loads((exported / "student_hf" / "config.json").read_text())
    assert hf_config["id2label"] == {"0": "neg", "1": "pos"}
    assert (exported / "student_preset" / "task.json").is_file()

    # benchmark the exported SavedModel against the .keras student
    result = cli("benchmark", str(run / "student.keras"), str(exported / "student" / "1"),
                 "--batch-size", "2", "--sequence-length", "16", "--repeats", "2",
                 tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "speedup" in result.stdout


def _chinese_checkpoint(path):
    return write_clue_checkpoint(path, CLUE_FIXTURES)


def test_clue_baseline_writes_a_valid_submission(tmp_path):
    """examples/clue/run_clue.py end to end on the fixtures (pair task, Theseus)."""
    checkpoint = _chinese_checkpoint(tmp_path / "tiny_zh")
    script = os.path.join(ROOT, "examples", "clue", "run_clue.py")
    result = run_script(script, "afqmc", "--data-dir", CLUE_FIXTURES, "--preset", checkpoint,
                 "--method", "theseus", "--layers", "1", "--sequence-length", "32",
                 "--batch-size", "4", "--teacher-epochs", "1", "--epochs", "1", "--no-xla",
                 "--output-dir", str(tmp_path / "clue_runs"), "--verbose", "2",
                 tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "clue_runs" / "afqmc-theseus1-001"
    submission = run / "afqmc_predict.json"
    assert validate_clue_submission(str(submission), load_clue("afqmc", CLUE_FIXTURES)) == 6
    assert f"submission: {submission}" in result.stdout
    metrics = pd.read_csv(run / "metrics.csv", index_col=0)
    assert "dev_accuracy" in metrics.columns
    assert "Accuracy is on dev" in (run / "report.md").read_text(encoding="utf-8")


def test_clue_cli_single_sentence_task_with_distillation(tmp_path):
    checkpoint = _chinese_checkpoint(tmp_path / "tiny_zh")
    result = cli("clue", "cluewsc2020", "--data-dir", CLUE_FIXTURES, "--preset", checkpoint,
                 "--method", "distill", "--layers", "1", "--sequence-length", "40",
                 "--batch-size", "8", "--teacher-epochs", "1", "--epochs", "1", "--no-xla",
                 "--output-dir", str(tmp_path / "runs"), "--run-name", "wsc", "--export",
                 "--verbose", "0", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "runs" / "wsc"
    data = load_clue("cluewsc2020", CLUE_FIXTURES)
    assert validate_clue_submission(str(run / "cluewsc2020_predict.json"), data) == 6
    assert (run / "serving" / "student" / "1" / "saved_model.pb").is_file()


def test_clue_errors_name_the_problem(tmp_path):
    result = cli("clue", "afqmc", "--data-dir", str(tmp_path), tmp_path=tmp_path,
                 timeout=300)
    assert result.returncode == 1 and "afqmc_public.zip" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("clue", "glue", "--data-dir", str(tmp_path), tmp_path=tmp_path, timeout=300)
    assert result.returncode == 2 and "invalid choice: 'glue'" in result.stderr


@pytest.mark.parametrize("flags,expected", [([], "auto"), (["--xla"], True),
                                            (["--no-xla"], False)])
def test_xla_flags_choose_the_train_step_compilation(flags, expected):
    from keras_theseus import cli as cli_module

    args = cli_module.build_parser().parse_args(["compress", *flags])
    assert cli_module._config_from_args(args)["jit_compile"] == expected


def test_xla_flags_are_exclusive(capsys):
    from keras_theseus import cli as cli_module

    with pytest.raises(SystemExit):
        cli_module.build_parser().parse_args(["compress", "--xla", "--no-xla"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("argv,expected", [
    (["compress"], "all_minilm_l6_v2"),
    (["compress", "--dataset", "chinese_sentiment"], "all_minilm_l6_v2_zh"),
    (["clue", "afqmc", "--data-dir", "x"], "all_minilm_l6_v2_zh"),
    (["compress", "--dataset", "chinese_sentiment", "--preset", "/ckpt"], "/ckpt"),
])
def test_default_preset_follows_the_language(argv, expected):
    from keras_theseus import cli as cli_module

    args = cli_module.build_parser().parse_args(argv)
    assert cli_module._config_from_args(args)["preset"] == expected


def test_compress_defaults_are_compression_configs():
    import dataclasses

    from keras_theseus import cli as cli_module
    from keras_theseus.datasets import CLUE_TASKS
    from keras_theseus.datasets import LOADERS
    from keras_theseus.workflows import CompressionConfig

    args = cli_module.build_parser().parse_args(["compress"])
    assert cli_module._config_from_args(args) == dataclasses.asdict(CompressionConfig())
    clue = cli_module.build_parser().parse_args(["clue", "afqmc", "--data-dir", "x"])
    assert (clue.sequence_length, clue.epochs, clue.teacher_epochs) == (128, 3, 3)
    # The choices are the package's own lists.
    parser = cli_module.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    assert set(next(a for a in sub["compress"]._actions if a.dest == "dataset").choices) \
        == set(LOADERS)
    assert set(next(a for a in sub["clue"]._actions if a.dest == "task").choices) \
        == set(CLUE_TASKS)


BAD_INPUT = [
    # (arguments, exit code, the one error line's text)
    (["compress", "--layers", "0"], 1, "`num_layers` (--layers) must be a positive int. "
                                       "Received: 0"),
    (["compress", "--layers", "3"], 1, "`num_layers` (--layers) must be at most the "
                                       "teacher's 2 layers"),
    (["compress", "--layers", "2.5"], 2, "argument --layers: invalid int value: '2.5'"),
    (["compress", "--dataset", "imdb"], 2, "argument --dataset: invalid choice: 'imdb' "
                                           "(choose from"),
    (["compress", "--method", "prune"], 2, "argument --method: invalid choice: 'prune'"),
    (["compress", "--method", "dynabert", "--width", "0"], 1,
     "`width` (--width) must be in (0, 1]. Received: 0.0"),
    (["compress", "--sequence-length", "2"], 1,
     "`sequence_length` (--sequence-length) must be an int >= 3"),
    (["compress", "--sequence-length", "64"], 1,
     "`sequence_length` (--sequence-length)=64 exceeds the model's maximum of 40"),
    (["compress", "--batch-size", "0"], 1, "`batch_size` (--batch-size) must be a positive int"),
    (["compress", "--epochs", "-1"], 1, "`epochs` (--epochs) must be a positive int"),
    (["compress", "--learning-rate", "0"], 1, "`learning_rate` (--learning-rate) must be > 0"),
    (["compress", "--preset", "/no/such/checkpoint"], 1, "Unknown preset '/no/such/checkpoint'"),
    (["compress", "--precision", "bf16"], 2, "argument --precision: invalid choice: 'bf16' "
                                             "(choose from 'auto', 'float32', "
                                             "'mixed_bfloat16', 'mixed_float16')"),
    (["compress", "--strategy", "gpu"], 2, "argument --strategy: invalid choice: 'gpu' "
                                           "(choose from 'mirrored', 'multi_worker', 'tpu')"),
    (["compress", "--strategy", "multi_worker"], 1,
     "--strategy multi_worker needs --run-name: every worker must write to the same run "
     "directory."),
    (["benchmark", "MODEL_NOT_KERAS", "--precision", "fp8"], 2,
     "argument --precision: invalid choice: 'fp8'"),
    (["export", "MODEL_NOT_KERAS"], 1, "is not a Keras archive (the .keras zip file"),
    (["export", "MISSING.keras"], 1, "MISSING.keras does not exist."),
    (["export", "MODEL_NOT_KERAS", "--format", "pdf"], 2, "argument --format: invalid choice: "
                                                         "'pdf'"),
    (["benchmark", "MODEL_NOT_KERAS"], 1, "nor a SavedModel directory."),
    (["clue", "afqmc", "--data-dir", "BROKEN_CLUE"], 1, "train.json: line 2: invalid JSON"),
    (["compare", "--seeds", "0"], 1, "Comparison config `seeds` must be a positive int"),
    (["compare", "--methods", "prune"], 1, "Comparison config `methods.method` must be one of"),
    (["compare", "--layers", "9"], 1, "`num_layers` must be at most the teacher's 6 layers"),
    (["compare", "--layers", "4"], 1, "`num_layers` 4 does not divide the teacher's 6 layers"),
    (["compare", "--datasets", "imdb"], 2, "argument --datasets: invalid choice: 'imdb'"),
    (["compare", "--config", "GRID.yaml"], 1, "`training` must be keys among"),
    (["compare", "--config", "NO_GRID.yaml"], 1, "'NO_GRID.yaml' does not exist"),
]


@pytest.mark.parametrize("argv,code,message", BAD_INPUT,
                         ids=[" ".join(a[:3]) for a, _, _ in BAD_INPUT])
def test_bad_input_gets_one_error_line(argv, code, message, tiny_checkpoint, tmp_path,
                                       capsys, monkeypatch):
    """Each bad value: exit code, one `keras-theseus <command>: error:` line, no training."""
    from keras_theseus import cli as cli_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "MODEL_NOT_KERAS").write_text("not a zip")
    (tmp_path / "GRID.yaml").write_text("training: {epoch: 3}\n")
    clue = tmp_path / "BROKEN_CLUE" / "afqmc"
    clue.mkdir(parents=True)
    good = '{"sentence1": "a", "sentence2": "b", "label": "0"}\n'
    (clue / "train.json").write_text(good + "{broken\n")
    for split in ("dev.json", "test.json"):
        (clue / split).write_text(good)
    if argv[0] in ("compress", "clue"):
        if "--preset" not in argv:
            argv = [*argv, "--preset", tiny_checkpoint]
        if "--layers" not in argv:
            argv = [*argv, "--layers", "1"]
        if "--sequence-length" not in argv:
            argv = [*argv, "--sequence-length", "16"]
        argv = [*argv, "--output-dir", str(tmp_path / "runs")]
    if argv[0] == "compare":
        argv = [*argv, "--output-dir", str(tmp_path / "runs"), "--cache-dir",
                str(tmp_path / "cache")]
    try:
        result = cli_module.main(argv)
    except SystemExit as e:  # argparse
        result = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert result == code
    assert err[-1].startswith(f"keras-theseus {argv[0]}: error: "), err
    assert message in err[-1]
    assert not (tmp_path / "runs").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("tf_config,message", [
    (None, "TF_CONFIG is not set: multi-worker training needs it on every worker"),
    ("{bad", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 1}}',
     "TF_CONFIG `task.index` must be an int in [0, 1)"),
])
def test_multi_worker_with_a_bad_tf_config_names_it(tf_config, message, tmp_path, capsys,
                                                   monkeypatch):
    from keras_theseus import cli as cli_module

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    code = cli_module.main(["compress", "--strategy", "multi_worker", "--run-name", "r",
                            "--output-dir", str(tmp_path / "runs")])
    assert code == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [error[0]] and message in error[0], error
    assert not (tmp_path / "runs").exists()  # refused before any run directory
