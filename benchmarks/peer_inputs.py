"""What the PyTorch peer benchmarks feed every stack: numpy only, no TensorFlow.

Shared by peer_pytorch.py and profile_inference.py. Their torch workers
import this module, so it must not import TensorFlow (its thread pools
would share the process being timed): `random_inputs` is
`keras_theseus.timing.synthetic_inputs` in numpy, kept equal to it by
tests/benchmarks/test_peer_inputs.py.
"""

import numpy as np


def random_inputs(batch_size, sequence_length, vocabulary_size, seed=0):
    """Full-length int32 inputs, the same arrays for every stack.

    `keras_theseus.timing.synthetic_inputs` in numpy: the torch worker must
    not import TensorFlow (its thread pools would share the process being
    timed). Same rule, same arrays (tests/benchmarks/test_peer_inputs.py).
    """
    rng = np.random.default_rng(seed)
    ids = rng.integers(min(1000, vocabulary_size // 2), vocabulary_size,
                       (batch_size, sequence_length)).astype("int32")
    ids[:, 0] = 101 if vocabulary_size > 101 else 2
    return {"token_ids": ids,
            "segment_ids": np.zeros_like(ids),
            "padding_mask": np.ones_like(ids)}


def write_head(path, hidden_size, num_classes=2, seed=0):
    """A fixed random classifier head (`kernel`, `bias`) every stack loads."""
    rng = np.random.default_rng(seed)
    np.savez(path, kernel=rng.normal(0, 0.02, (hidden_size, num_classes)).astype("float32"),
             bias=np.zeros(num_classes, "float32"))
    return path
