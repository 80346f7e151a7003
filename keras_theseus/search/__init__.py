"""Bort-style subarchitecture search: space, extraction, W score, Pareto frontier."""

from keras_theseus.search.extraction import extract_candidate
from keras_theseus.search.extraction import hidden_unit_order
from keras_theseus.search.scoring import pareto_front
from keras_theseus.search.scoring import plot_search
from keras_theseus.search.scoring import select_candidate
from keras_theseus.search.scoring import w_score
from keras_theseus.search.space import Candidate
from keras_theseus.search.space import SearchSpace
from keras_theseus.search.subarchitecture_search import COLUMNS
from keras_theseus.search.subarchitecture_search import evaluate_against_teacher
from keras_theseus.search.subarchitecture_search import prepare_teacher
from keras_theseus.search.subarchitecture_search import search_subarchitectures
