"""The W score and the Pareto frontier of a search table."""

import numpy as np
import pandas as pd

DEFAULT_WEIGHTS = {"params": 1.0, "latency_ms": 1.0, "error": 1.0}


def w_score(table, weights=None):
    """Bort-style score W: higher when parameters, latency and error are lower.

        W = −(α·log p + β·log i + γ·log e) / (α + β + γ) + const

    with p the parameter count, i the measured latency and e the error
    (cross-entropy against the teacher's outputs on held-out data), and
    α, β, γ = `weights`. Each term is normalised by the column's maximum,
    so W is unitless and 0 for a candidate that is worst on every axis;
    normalisation only shifts W by a constant, so the ranking is that of
    maximising 1 / (p^α · i^β · e^γ): halving any one quantity raises W by
    the same amount whatever its unit or scale.

    Source: de Wynter & Perry, "Optimal Subarchitecture Extraction for
    BERT" (arXiv 2010.10499, §3) choose the candidate that maximises a
    coefficient W(p, i, e) growing as all three decrease; their released code
    does not contain it and the paper was not available offline here, so
    this is our scale-free geometric form of that objective, not a copy.

    Args:
        table: DataFrame with `params`, `latency_ms` and `error` (> 0).
        weights: `{"params": α, "latency_ms": β, "error": γ}` (≥ 0, not all
            0); default all 1.

    Returns:
        A Series of W, aligned with `table`.
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = set(weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"Unknown W weight(s) {sorted(unknown)}; use {sorted(DEFAULT_WEIGHTS)}.")
    if any(v < 0 for v in weights.values()) or not sum(weights.values()) > 0:
        raise ValueError(f"W weights must be >= 0 and not all 0. Received: {weights!r}")
    total = sum(weights.values())
    score = pd.Series(0.0, index=table.index)
    for column, weight in weights.items():
        values = table[column].astype(float)
        if (values <= 0).any():
            raise ValueError(f"W needs positive `{column}` values.")
        score -= weight * np.log(values / values.max())
    return score / total


def select_candidate(table, min_speedup=None, max_latency_ms=None):
    """The chosen candidate: the best W among those meeting the constraints.

    A deployment usually comes with a hard requirement ("at least 3× faster
    than the teacher", "under 200 ms"); W then only ranks the candidates that
    meet it. Without constraints this is argmax W.

    Args:
        table: a search table with `W`, `speedup` and `latency_ms`.
        min_speedup: keep candidates with `speedup >= min_speedup`.
        max_latency_ms: keep candidates with `latency_ms <= max_latency_ms`.

    Returns:
        The chosen row (a pandas Series).

    Example:
    ```python
    table = search_subarchitectures(teacher, train, heldout, space)
    best = select_candidate(table, min_speedup=3.0)
    ```
    """
    keep = pd.Series(True, index=table.index)
    if min_speedup is not None:
        if not min_speedup > 0:
            raise ValueError(f"`min_speedup` must be > 0. Received: {min_speedup!r}")
        keep &= table["speedup"] >= min_speedup
    if max_latency_ms is not None:
        if not max_latency_ms > 0:
            raise ValueError(f"`max_latency_ms` must be > 0. Received: {max_latency_ms!r}")
        keep &= table["latency_ms"] <= max_latency_ms
    if not keep.any():
        raise ValueError(
            f"No candidate meets min_speedup={min_speedup!r}, max_latency_ms="
            f"{max_latency_ms!r}; the fastest reaches {table['speedup'].max():.2f}× "
            f"({table['latency_ms'].min():.1f} ms).")
    return table.loc[table.loc[keep, "W"].idxmax()]


def pareto_front(table, columns=("params", "latency_ms", "error")):
    """Boolean Series: True for rows no other row dominates (all `columns` minimised).

    Row a dominates row b if a is ≤ b in every column and < in at least one.
    """
    values = table[list(columns)].to_numpy(dtype=float)
    front = np.ones(len(values), bool)
    for i, row in enumerate(values):
        dominated = (values <= row).all(axis=1) & (values < row).any(axis=1)
        front[i] = not dominated.any()
    return pd.Series(front, index=table.index)


def plot_search(table, path, x="latency_ms", y="error", title="", chosen=None):
    """Save a PNG of `y` against `x`, the Pareto frontier and the chosen candidate marked.

    `chosen` names the chosen candidate (e.g. `select_candidate(...)["name"]`);
    by default the argmax of W.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    front = table[table["pareto"]]
    rest = table[~table["pareto"]]
    ax.scatter(rest[x], rest[y], color="0.6", label="candidate")
    # The frontier is over (params, latency, error): in this 2-D view it is a set of
    # points, not a curve, so it is marked rather than joined.
    ax.scatter(front[x], front[y], color="tab:blue",
               label="Pareto frontier (params, latency, error)")
    if chosen is None:
        best, label = table.loc[table["W"].idxmax()], "argmax W"
    else:
        rows = table[table["name"] == chosen]
        if rows.empty:
            raise ValueError(f"`chosen` must name a candidate of the table. Received: {chosen!r}")
        best, label = rows.iloc[0], "chosen"
    ax.scatter([best[x]], [best[y]], marker="*", s=200, color="tab:red",
               label=f"{label}: {best['name']}")
    for _, row in table.iterrows():
        ax.annotate(row["name"], (row[x], row[y]), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
