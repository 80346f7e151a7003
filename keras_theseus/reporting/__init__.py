"""Benchmark records and their Markdown rendering."""

from keras_theseus.reporting.results import append_record
from keras_theseus.reporting.results import load_records
from keras_theseus.reporting.results import make_record
from keras_theseus.reporting.results import render_markdown
from keras_theseus.reporting.results import write_markdown
