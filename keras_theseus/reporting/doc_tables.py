"""Tables in README and docs generated from benchmarks/results.json.

A Markdown file marks a generated table with two comments:

    <!-- results.json: compare_movie_reviews_6to3 -->
    ... (rewritten by `update_doc_tables`)
    <!-- end results.json -->

so a figure in the docs is always the recorded one, never a hand-copied
number that drifts from the record.
"""

import re

from keras_theseus.reporting.results import load_records

_BLOCK = re.compile(r"(<!-- results\.json: (?P<experiment>[\w.\-]+) -->\n)(?P<body>.*?)"
                    r"(<!-- end results\.json -->)", re.DOTALL)


def _points(value, signed=False):
    text = f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"
    return text.replace("-", "−")


def comparison_table(records, experiment):
    """A Markdown table of one comparison experiment's seeded records.

    One row per method (the newest record of each, in recording order):
    dev mean, test mean ± std over seeds, its 95% CI, the share of the
    teacher, the paired difference against the grid's baseline with its
    95% CI and p-value, and the measured speedup.

    Args:
        records: benchmark records (`load_records`).
        experiment: the records' `experiment` name, e.g.
            `"compare_movie_reviews_6to3"` (`benchmarks/compare_methods.py`).

    Returns:
        The table as a string (no trailing newline).

    Raises:
        ValueError: no seeded record has that experiment name.

    Example:
    ```python
    records = keras_theseus.reporting.load_records("benchmarks/results.json")
    print(comparison_table(records, "compare_movie_reviews_6to3"))
    ```
    """
    latest = {}
    for record in records:
        if record.get("experiment") == experiment and record.get("seeds"):
            latest.pop(record["method"], None)   # re-recorded: keep the new one, in its place
            latest[record["method"]] = record
    if not latest:
        known = sorted({r.get("experiment") for r in records if r.get("seeds")})
        raise ValueError(f"No seeded records for experiment {experiment!r} in results.json. "
                         f"Experiments with seeds: {known}")
    baseline = next((m for m, r in latest.items() if r.get("p_vs_truncated") is None), None)
    lines = ["| method | dev mean | test mean ± std | 95% CI | of teacher | "
             f"Δ vs `{baseline}` [95% CI] | p | speedup |",
             "|---|---|---|---|---|---|---|---|"]
    for method, r in latest.items():
        extra = r.get("extra") or {}
        if r.get("p_vs_truncated") is None:
            delta, p = "—", "—"
        else:
            low, high = extra["difference_ci95"]
            delta = (f"{_points(extra['difference'], True)} "
                     f"[{_points(low, True)}, {_points(high, True)}]")
            p = f"{r['p_vs_truncated']:.3f}" if r["p_vs_truncated"] >= 0.001 else "< 0.001"
        dev = _points(extra["dev_mean"]) if "dev_mean" in extra else "–"
        speedup = f"{r['speedup']:.2f}×" if r.get("speedup") else "–"
        lines.append(
            f"| `{method}` | {dev} | {_points(r['mean'])} ± {_points(extra.get('std', 0.0))} "
            f"({len(r['seeds'])} seeds) | [{_points(r['ci95_low'])}, {_points(r['ci95_high'])}]"
            f" | {100 * r['retention']:.1f}% | {delta} | {p} | {speedup} |")
    return "\n".join(lines)


def render_doc_tables(text, records):
    """`text` with every marked block replaced by its generated table."""

    def replace(match):
        table = comparison_table(records, match.group("experiment"))
        return f"{match.group(1)}{table}\n{match.group(4)}"

    return _BLOCK.sub(replace, text)


def update_doc_tables(paths, json_path):
    """Rewrite the marked tables of Markdown files from a results JSON file.

    Args:
        paths: Markdown files; files without a marked block are left alone.
        json_path: the results file (`benchmarks/results.json`).

    Returns:
        The paths whose content changed.
    """
    records = load_records(json_path)
    changed = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = render_doc_tables(text, records)
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            changed.append(path)
    return changed
