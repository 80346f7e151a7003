"""Re-render benchmarks/RESULTS.md and the marked tables in README.md and docs/*.md.

    .venv/bin/python benchmarks/render_results.py

Tables between `<!-- results.json: EXPERIMENT -->` and
`<!-- end results.json -->` are generated from benchmarks/results.json
(`keras_theseus.reporting.update_doc_tables`); edit the record, not the table.
"""

import glob
import os

from keras_theseus.reporting import update_doc_tables
from keras_theseus.reporting import write_markdown

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def markdown_files():
    """README.md and docs/**/*.md: the files that may hold generated tables."""
    return [os.path.join(ROOT, "README.md"),
            *sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))]


if __name__ == "__main__":
    results = os.path.join(HERE, "results.json")
    print(write_markdown(results, os.path.join(HERE, "RESULTS.md")))
    for path in update_doc_tables(markdown_files(), results):
        print(path)
