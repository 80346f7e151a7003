"""Confidence intervals and paired tests for accuracy over seeds and sentences.

A test split of ~1,000 sentences gives one model a standard error of about
1.1 points, and seeds add their own spread: a difference between two
methods means something only with an interval around it. Models compared
here were evaluated on the same test sentences with the same seeds, so the
tests are paired.
"""

import math

import numpy as np
from scipy import stats


def mean_confidence_interval(values, confidence=0.95):
    """Mean, sample std and the Student-t interval of the mean.

    Args:
        values: 1-D sequence of per-seed scores.
        confidence: interval coverage.

    Returns:
        dict with `n`, `mean`, `std` (ddof 1; 0 for one value), `ci_low`,
        `ci_high` (equal to the mean for one value: no interval from one
        seed).

    Example:
    ```python
    mean_confidence_interval([0.80, 0.82, 0.84])
    # mean 0.82, std 0.02, 95% CI 0.82 ± 4.303·0.02/√3 = [0.7703, 0.8697]
    ```
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"`values` must be a non-empty 1-D sequence. Received shape "
                         f"{values.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1). Received: {confidence!r}")
    n, mean = values.size, float(values.mean())
    if n == 1:
        return {"n": 1, "mean": mean, "std": 0.0, "ci_low": mean, "ci_high": mean}
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def paired_bootstrap(correct_a, correct_b, resamples=10000, confidence=0.95, seed=0):
    """Paired bootstrap over seeds and sentences of accuracy(a) − accuracy(b).

    Each resample draws seeds with replacement and, independently, test
    sentences with replacement, and takes the mean difference of
    correctness over the drawn (seed, sentence) pairs; the same draws apply
    to both methods, which keeps the pairing. Both sources of variation, a
    different seed and a different test sample, are in the interval.

    Args:
        correct_a, correct_b: `(seeds, sentences)` arrays of 0/1
            correctness (row i of both from seed i, column j the same test
            sentence); 1-D arrays are one seed.
        resamples: bootstrap resamples.
        confidence: interval coverage.
        seed: the bootstrap's own random seed.

    Returns:
        dict with `mean_difference` (observed), `ci_low`, `ci_high`
        (percentile interval) and `p_value`, the two-sided bootstrap
        p-value `min(1, 2·min(P*(d ≤ 0), P*(d ≥ 0)))`.

    Example:
    ```python
    paired_bootstrap([[1, 0, 0]], [[0, 0, 0]])
    # difference 1/3; resampled means are 0, 1/3, 2/3, 1 with probability
    # 8/27, 12/27, 6/27, 1/27: p = 2·8/27 ≈ 0.59, 95% interval [0, 1]
    ```
    """
    a = np.atleast_2d(np.asarray(correct_a, dtype="float64"))
    b = np.atleast_2d(np.asarray(correct_b, dtype="float64"))
    if a.shape != b.shape or a.ndim != 2 or a.size == 0:
        raise ValueError("`correct_a` and `correct_b` must be same-shape (seeds, sentences) "
                         f"arrays. Received: {a.shape} and {b.shape}")
    if not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"`resamples` must be a positive int. Received: {resamples!r}")
    diff = a - b
    seeds, sentences = diff.shape
    rng = np.random.default_rng(seed)
    # A resample's mean is (seed counts)ᵀ · D · (sentence counts) / (S·N):
    # multinomial counts instead of index arrays keep it one matrix product.
    seed_counts = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=resamples)
    sentence_counts = rng.multinomial(sentences, np.full(sentences, 1 / sentences),
                                      size=resamples)
    means = ((seed_counts @ diff) * sentence_counts).sum(1) / (seeds * sentences)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail], method="inverted_cdf")
    p = min(1.0, 2 * min(float((means <= 0).mean()), float((means >= 0).mean())))
    return {"mean_difference": float(diff.mean()), "ci_low": float(low),
            "ci_high": float(high), "p_value": p}


def mcnemar_exact(correct_a, correct_b):
    """Exact McNemar test of two classifiers on the same sentences (one seed).

    Counts the discordant sentences, b = a right and b wrong, c = the
    reverse, and gives the two-sided binomial p-value of b among b + c at
    1/2 (1.0 when no sentence is discordant).

    Returns:
        dict with `a_only`, `b_only` and `p_value`.

    Example:
    ```python
    mcnemar_exact([1] * 7 + [0] * 6, [0] * 1 + [1] * 12)   # b=1, c=6: p = 2·8/128
    ```
    """
    a = np.asarray(correct_a).astype(bool)
    b = np.asarray(correct_b).astype(bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("`correct_a` and `correct_b` must be same-length 1-D arrays. "
                         f"Received: {a.shape} and {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    n = a_only + b_only
    p = 1.0 if n == 0 else float(stats.binomtest(a_only, n, 0.5).pvalue)
    return {"a_only": a_only, "b_only": b_only, "p_value": p}
