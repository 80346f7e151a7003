"""Every grid in benchmarks/grids/ is a valid comparison config."""

import glob
import json
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


CELLS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "cells")
CELL_FILES = sorted(glob.glob(os.path.join(CELLS, "*", "*-k*-seed*-*.json")))


def test_kept_cells_are_found_by_their_key():
    """Each cell kept in benchmarks/cells/ is the one its key would look up.

    `run_cell` reads `<label>-k<k>-seed<seed>-<digest of key>.json`: a file
    renamed, edited or written under another format would be silently
    retrained instead of reused, so the record would no longer be its source.
    """
    from keras_theseus.workflows.comparison import CELL_FORMAT
    from keras_theseus.workflows.comparison import _digest

    assert CELL_FILES, "benchmarks/cells/ keeps the recorded grids' cells"
    for path in CELL_FILES:
        with open(path, encoding="utf-8") as f:
            cell = json.load(f)
        key, name = cell["key"], os.path.basename(path)
        label = key["method"]["label"]
        assert name == f"{label}-k{key['num_layers']}-seed{key['seed']}-{_digest(key)}.json"
        assert key["format"] == CELL_FORMAT
        assert key["dataset"] == os.path.basename(os.path.dirname(path))
        assert len(cell["test_predictions"]) > 0
        assert 0.0 <= cell["dev_accuracy"] <= 1.0 and 0.0 <= cell["test_accuracy"] <= 1.0
