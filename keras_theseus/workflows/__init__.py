"""End-to-end workflows: compress a classifier, report, export; CLUE baselines."""

from keras_theseus.workflows.compress import METHODS
from keras_theseus.workflows.compress import CompressionConfig
from keras_theseus.workflows.compress import CompressionRun
from keras_theseus.workflows.compress import compress_classifier
from keras_theseus.workflows.compress import new_run_dir
from keras_theseus.workflows.main_job import quick_subset
from keras_theseus.workflows.main_job import run_compress_job
from keras_theseus.workflows.report import evaluate_run
from keras_theseus.workflows.report import plot_accuracy_vs_latency
from keras_theseus.workflows.report import write_report
from keras_theseus.workflows.run_status import RunStatus
from keras_theseus.workflows.run_status import read_status
from keras_theseus.workflows.clue_baseline import run_clue_baseline
from keras_theseus.workflows.comparison_config import ComparisonConfig
from keras_theseus.workflows.comparison_config import MethodSpec
from keras_theseus.workflows.comparison_config import comparison_config
from keras_theseus.workflows.comparison import ComparisonResult
from keras_theseus.workflows.comparison import run_comparison
from keras_theseus.workflows.comparison import summarize
