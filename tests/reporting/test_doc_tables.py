"""README / docs tables generated from results.json, and the repo's own tables in sync."""

import importlib.util
import os

import pytest

from keras_theseus.reporting import comparison_table
from keras_theseus.reporting import load_records
from keras_theseus.reporting.doc_tables import render_doc_tables

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _seeded(method, mean, p=None, difference=None, experiment="compare_x"):
    extra = {"std": 0.004, "dev_mean": mean - 0.01}
    if p is not None:
        extra.update(difference=difference, difference_ci95=[difference - 0.01,
                                                             difference + 0.015])
    return {"experiment": experiment, "method": method, "seeds": [0, 1, 2], "mean": mean,
            "ci95_low": mean - 0.01, "ci95_high": mean + 0.01, "p_vs_truncated": p,
            "retention": mean / 0.87, "speedup": 1.913, "extra": extra}


def test_comparison_table_rows_and_formatting():
    records = [_seeded("truncated", 0.855), _seeded("kd", 0.8738, p=0.0104, difference=0.0186),
               _seeded("theseus", 0.85, p=0.0004, difference=-0.005),
               _seeded("truncated", 0.9, experiment="other"), {"experiment": "compare_x",
                                                              "method": "single_seed"}]
    lines = comparison_table(records, "compare_x").splitlines()
    assert lines[0].startswith("| method | dev mean | test mean ± std | 95% CI |")
    assert "Δ vs `truncated` [95% CI]" in lines[0]
    assert len(lines) == 5     # header, rule, three seeded methods of this experiment
    assert lines[2] == ("| `truncated` | 84.50 | 85.50 ± 0.40 (3 seeds) | [84.50, 86.50] | "
                        "98.3% | — | — | 1.91× |")
    assert "| +1.86 [+0.86, +3.36] | 0.010 |" in lines[3]
    assert "| −0.50 [−1.50, +1.00] | < 0.001 |" in lines[4]


def test_a_re_recorded_method_replaces_its_row():
    records = [_seeded("truncated", 0.855), _seeded("kd", 0.86, p=0.2, difference=0.005),
               _seeded("kd", 0.87, p=0.01, difference=0.015)]
    table = comparison_table(records, "compare_x")
    assert table.count("`kd`") == 1 and "87.00 ± 0.40" in table


def test_unknown_experiment_names_the_known_ones():
    with pytest.raises(ValueError, match=r"'compare_y'.*\['compare_x'\]"):
        comparison_table([_seeded("truncated", 0.85)], "compare_y")


def test_marked_blocks_are_rewritten_and_the_rest_kept():
    text = ("intro\n<!-- results.json: compare_x -->\n| stale |\n<!-- end results.json -->\n"
            "outro\n")
    out = render_doc_tables(text, [_seeded("truncated", 0.855)])
    assert out.startswith("intro\n<!-- results.json: compare_x -->\n| method |")
    assert "| stale |" not in out and out.endswith("<!-- end results.json -->\noutro\n")
    assert render_doc_tables(out, [_seeded("truncated", 0.855)]) == out


def test_readme_and_docs_tables_match_results_json():
    """Edit benchmarks/results.json and run benchmarks/render_results.py, not the tables."""
    spec = importlib.util.spec_from_file_location(
        "render_results", os.path.join(ROOT, "benchmarks", "render_results.py"))
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    records = load_records(os.path.join(ROOT, "benchmarks", "results.json"))
    marked = 0
    for path in render.markdown_files():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        marked += text.count("<!-- results.json: ")
        assert render_doc_tables(text, records) == text, (
            f"{path}: a generated table differs from benchmarks/results.json; run "
            "benchmarks/render_results.py")
    assert marked >= 2
