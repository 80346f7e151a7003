"""Benchmark records and their Markdown rendering."""

from keras_theseus.reporting.doc_tables import comparison_table
from keras_theseus.reporting.doc_tables import update_doc_tables
from keras_theseus.reporting.results import append_record
from keras_theseus.reporting.results import append_records
from keras_theseus.reporting.results import load_records
from keras_theseus.reporting.results import make_record
from keras_theseus.reporting.results import render_markdown
from keras_theseus.reporting.results import write_markdown
from keras_theseus.reporting.statistics import mcnemar_exact
from keras_theseus.reporting.statistics import mean_confidence_interval
from keras_theseus.reporting.statistics import paired_bootstrap
from keras_theseus.reporting.student_records import measure_student_records
