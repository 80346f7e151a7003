"""Tests for keras_theseus.utils: argument checks, atomic JSON writes and
deprecation aliases."""

import json
import os

import numpy as np
import pytest

from keras_theseus.utils import is_int, is_number, write_json_atomically


def test_is_int_accepts_numpy_integers_and_rejects_bools_and_floats():
    assert is_int(3) and is_int(np.int64(3))
    assert not is_int(True)
    assert not is_int(3.0)


def test_is_number_rejects_bools_and_non_finite_values():
    assert is_number(0.5) and is_number(np.float32(0.5)) and is_number(2)
    assert not is_number(False)
    assert not is_number(float("nan"))
    assert not is_number(float("inf"))
    assert not is_number("0.5")


@pytest.mark.parametrize("module_name, old_name", [
    ("keras_theseus.theseus", "ReplacementScheduler"),
    ("keras_theseus.dynabert", "SubnetworkEvaluator"),
    ("keras_theseus.dynabert", "SubnetworkSampler"),
    ("keras_theseus.timing", "TimingCallback"),
])
def test_moved_callbacks_warn_and_resolve_to_keras_theseus_callbacks(module_name, old_name):
    import importlib

    import keras_theseus.callbacks

    module = importlib.import_module(module_name)
    with pytest.warns(DeprecationWarning, match=f"keras_theseus.callbacks.{old_name}"):
        old = getattr(module, old_name)
    assert old is getattr(keras_theseus.callbacks, old_name)


def test_unknown_names_still_raise_attribute_error():
    import keras_theseus.theseus

    with pytest.raises(AttributeError, match="NoSuchThing"):
        keras_theseus.theseus.NoSuchThing


def test_write_json_atomically_writes_through_a_staging_file_and_creates_parents(tmp_path):
    path = str(tmp_path / "run" / "nested" / "cell.json")
    write_json_atomically(path, {"accuracy": np.float32(0.5), "名": "评论"}, default=float)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert json.loads(text) == {"accuracy": 0.5, "名": "评论"}
    assert "评论" in text and text.endswith("\n")    # readable, not \u-escaped
    assert os.listdir(os.path.dirname(path)) == ["cell.json"]


def test_write_json_atomically_keeps_the_previous_file_when_serialisation_fails(tmp_path):
    path = str(tmp_path / "status.json")
    write_json_atomically(path, {"status": "running"})
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomically(path, {"status": object()})
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == {"status": "running"}
    assert os.listdir(tmp_path) == ["status.json"]    # no staging file left behind
