"""Every grid in benchmarks/grids/ is a valid comparison config."""

import glob
import os

import pytest

from keras_theseus.workflows import comparison_config

GRIDS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks",
                                      "grids", "*.yaml")))


def test_there_are_grids():
    assert len(GRIDS) >= 4


@pytest.mark.parametrize("path", GRIDS, ids=os.path.basename)
def test_grid_is_a_valid_comparison_config(path):
    config = comparison_config(path)
    assert config.name == os.path.splitext(os.path.basename(path))[0]
    labels = [spec.label for spec in config.methods]
    assert len(labels) == len(set(labels)) and config.baseline in labels
