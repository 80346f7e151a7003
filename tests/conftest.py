"""Shared fixtures: tiny HF-format BERT checkpoints and a numpy reference BERT."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
from bert_fixtures import numpy_bert_forward  # noqa: E402
from bert_fixtures import write_hf_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """Path of a 2-layer, hidden-32 random BERT checkpoint in HF format."""
    path = str(tmp_path_factory.mktemp("tiny_bert"))
    write_hf_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def numpy_bert():
    return numpy_bert_forward
