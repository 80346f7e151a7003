"""Re-render benchmarks/RESULTS.md from benchmarks/results.json.

    .venv/bin/python benchmarks/render_results.py
"""

import os

from keras_theseus.reporting import write_markdown

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    print(write_markdown(os.path.join(HERE, "results.json"), os.path.join(HERE, "RESULTS.md")))
