"""The comparison statistics against hand-computed values and scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from keras_theseus.reporting import mcnemar_exact
from keras_theseus.reporting import mean_confidence_interval
from keras_theseus.reporting import paired_bootstrap


def test_t_interval_by_hand():
    out = mean_confidence_interval([0.80, 0.82, 0.84])
    # t(0.975, 2) = 4.302653; se = 0.02 / sqrt(3)
    half = 4.302653 * 0.02 / math.sqrt(3)
    assert out["n"] == 3 and out["mean"] == pytest.approx(0.82)
    assert out["std"] == pytest.approx(0.02)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((0.82 - half, 0.82 + half), abs=1e-6)


def test_one_value_has_no_interval():
    assert mean_confidence_interval([0.9]) == {"n": 1, "mean": 0.9, "std": 0.0,
                                               "ci_low": 0.9, "ci_high": 0.9}


def test_mcnemar_by_hand_and_against_scipy():
    a = [1] * 7 + [0] * 6
    b = [0] * 1 + [1] * 12
    out = mcnemar_exact(a, b)   # b = 1, c = 6: p = 2 (C(7,0) + C(7,1)) / 2^7
    assert (out["a_only"], out["b_only"]) == (1, 6)
    assert out["p_value"] == pytest.approx(2 * 8 / 128)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    k, n = int((x & ~y.astype(bool)).sum()), int((x != y).sum())
    assert mcnemar_exact(x, y)["p_value"] == pytest.approx(stats.binomtest(k, n).pvalue)
    assert mcnemar_exact([1, 0], [1, 0])["p_value"] == 1.0


def test_paired_bootstrap_by_hand():
    # One seed, three sentences, differences [1, 0, 0]: a resample's mean is
    # 0, 1/3, 2/3, 1 with probabilities 8/27, 12/27, 6/27, 1/27.
    out = paired_bootstrap([[1, 0, 0]], [[0, 0, 0]], resamples=200000)
    assert out["mean_difference"] == pytest.approx(1 / 3)
    assert out["p_value"] == pytest.approx(2 * 8 / 27, abs=0.01)
    assert (out["ci_low"], out["ci_high"]) == (0.0, 1.0)


def test_paired_bootstrap_resamples_seeds_too():
    # Seed 0: a beats b by 10 points, seed 1: they tie. Resampling seeds
    # widens the interval beyond what the sentences alone give.
    rng = np.random.default_rng(1)
    b = rng.integers(0, 2, (2, 400))
    a = b.copy()
    flip = np.flatnonzero(a[0] == 0)[:40]
    a[0, flip] = 1
    out = paired_bootstrap(a, b, resamples=20000)
    assert out["mean_difference"] == pytest.approx(0.05)
    assert out["ci_low"] <= 0.0 < out["ci_high"]   # a tie is a possible seed draw
    one_seed = paired_bootstrap(a[:1], b[:1], resamples=20000)
    assert one_seed["ci_low"] > 0 and one_seed["p_value"] < 0.001


@pytest.mark.parametrize("call,match", [
    (lambda: mean_confidence_interval([]), "`values` must be a non-empty"),
    (lambda: mean_confidence_interval([1, 2], confidence=1.5), "`confidence`"),
    (lambda: paired_bootstrap([[1, 0]], [[1, 0, 1]]), "same-shape"),
    (lambda: paired_bootstrap([[1]], [[0]], resamples=0), "`resamples`"),
    (lambda: mcnemar_exact([1, 0], [1]), "same-length"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
