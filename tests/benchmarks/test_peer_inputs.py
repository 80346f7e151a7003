"""The PyTorch peer benchmark feeds every stack the library's synthetic inputs."""

import importlib.util
import os

import numpy as np
import pytest

from keras_theseus.timing import synthetic_inputs

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "peer_inputs.py")


@pytest.mark.parametrize("batch_size,length,vocabulary_size", [(4, 16, 30522), (2, 8, 60)])
def test_peer_inputs_equal_synthetic_inputs(batch_size, length, vocabulary_size):
    # The peer scripts re-implement them in numpy so that their torch workers
    # never import TensorFlow; this keeps the two from drifting apart.
    spec = importlib.util.spec_from_file_location("peer_pytorch_inputs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    peer = module.random_inputs(batch_size, length, vocabulary_size)
    ours = synthetic_inputs(batch_size, length, vocabulary_size)
    for key in ("token_ids", "segment_ids", "padding_mask"):
        np.testing.assert_array_equal(peer[key], np.asarray(ours[key]))
        assert peer[key].dtype == np.int32
