"""Subarchitecture search: space, extraction, W, Pareto, resumable search."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from bert_fixtures import toy_batch

import keras_theseus.search.subarchitecture_search as search_module
from keras_theseus import models
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.search import SearchSpace
from keras_theseus.search import extract_candidate
from keras_theseus.search import pareto_front
from keras_theseus.search import plot_search
from keras_theseus.search import search_subarchitectures
from keras_theseus.search import select_candidate
from keras_theseus.search import w_score

VOCAB = 60


def tiny_teacher(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=VOCAB, num_layers=4, num_heads=4, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=12, dropout=0.0)
    return models.build_text_classifier(backbone, 2, dropout=0.0)


def dataset(n=32, seed=0):
    x, y = toy_batch(n=n, length=10, seed=seed, vocabulary_size=VOCAB)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8, drop_remainder=True)


def test_candidates_enumerated_and_ordered_by_params():
    teacher = tiny_teacher()
    space = SearchSpace(depths=[1, 2], heads=[2, 4], hidden_sizes=[8, 16],
                        intermediate_sizes=[16, 32])
    candidates = space.candidates(teacher)
    assert len(candidates) == 16
    counts = [c.param_count(VOCAB, 12) for c in candidates]
    assert counts == sorted(counts)
    source = DynaBertClassifier.from_classifier(teacher)
    for c in (candidates[0], candidates[7], candidates[-1]):
        assert extract_candidate(source, c).count_params() == c.param_count(VOCAB, 12)
    assert candidates[-1].name == "L2_A4_H16_I32"


def test_keras_hub_compatible_space_keeps_matching_head_counts():
    space = SearchSpace(depths=[2], heads=[2, 4], hidden_sizes=[8, 16],
                        intermediate_sizes=[32], keras_hub_compatible=True)
    names = [c.name for c in space.candidates(tiny_teacher())]
    assert sorted(names) == ["L2_A2_H8_I32", "L2_A4_H16_I32"]  # head size 4


@pytest.mark.parametrize("kwargs,message", [
    ({"depths": [5]}, "`depths` \\[5\\] exceeds the teacher's 4"),
    ({"heads": [8]}, "exceeds the teacher's 4"),
    ({"hidden_sizes": []}, "non-empty list of positive ints"),
    ({"intermediate_sizes": [0]}, "positive ints"),
    ({"heads": [3], "hidden_sizes": [16], "keras_hub_compatible": True}, "No candidate"),
])
def test_bad_spaces_raise(kwargs, message):
    base = dict(depths=[2], heads=[2], hidden_sizes=[16], intermediate_sizes=[32])
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        SearchSpace(**base).candidates(tiny_teacher())


def test_full_size_extraction_reproduces_the_teacher():
    teacher = tiny_teacher()
    source = DynaBertClassifier.from_classifier(teacher)
    full = SearchSpace([4], [4], [16], [32]).candidates(teacher)[0]
    x, _ = toy_batch(n=6, length=10, vocabulary_size=VOCAB)
    np.testing.assert_allclose(extract_candidate(source, full).predict_on_batch(x),
                               teacher.predict_on_batch(x), atol=1e-5)
    # Fewer heads and neurons at full hidden size = the masked network.
    narrow = SearchSpace([4], [2], [16], [16]).candidates(teacher)[0]
    np.testing.assert_allclose(extract_candidate(source, narrow).predict_on_batch(x),
                               source.forward(x, width=0.5), atol=1e-5)


def test_w_is_monotone_and_validated():
    table = pd.DataFrame({"params": [10.0, 20, 30], "latency_ms": [5.0, 5, 5],
                          "error": [0.3, 0.3, 0.3]})
    w = w_score(table)
    assert w[0] > w[1] > w[2] and w[2] == pytest.approx(0.0)
    for column in ("params", "latency_ms", "error"):
        better = table.copy()
        better.loc[1, column] *= 0.5
        assert w_score(better)[1] > w[1]
    # Only the error counts when the other weights are 0.
    table["error"] = [0.5, 0.1, 0.3]
    assert w_score(table, {"params": 0, "latency_ms": 0, "error": 1}).idxmax() == 1
    with pytest.raises(ValueError, match="not all 0"):
        w_score(table, {"params": 0, "latency_ms": 0, "error": 0})
    with pytest.raises(ValueError, match="Unknown W weight"):
        w_score(table, {"flops": 1})
    table.loc[0, "error"] = 0.0
    with pytest.raises(ValueError, match="positive `error`"):
        w_score(table)


def test_pareto_front_on_a_hand_made_table():
    table = pd.DataFrame({
        "params": [1, 2, 3, 2, 1],
        "latency_ms": [3, 2, 1, 3, 3],
        "error": [0.5, 0.4, 0.3, 0.4, 0.6],
    })
    # row 3 is dominated by row 1; row 4 by row 0; the others trade off.
    assert pareto_front(table).tolist() == [True, True, True, False, False]
    rng = np.random.default_rng(0)
    random = pd.DataFrame(rng.uniform(0.1, 1, (40, 3)),
                          columns=["params", "latency_ms", "error"])
    assert pareto_front(random)[w_score(random).idxmax()]


def test_select_candidate_respects_constraints_then_w():
    table = pd.DataFrame({
        "name": ["small", "mid", "large"],
        "W": [0.9, 0.5, 0.1],
        "speedup": [6.0, 3.4, 2.1],
        "latency_ms": [100.0, 180.0, 300.0],
    })
    assert select_candidate(table)["name"] == "small"
    assert select_candidate(table, min_speedup=3.0)["name"] == "small"
    table["W"] = [0.1, 0.5, 0.9]     # W now prefers the large, slow one
    assert select_candidate(table)["name"] == "large"
    assert select_candidate(table, min_speedup=3.0)["name"] == "mid"
    assert select_candidate(table, max_latency_ms=120)["name"] == "small"
    with pytest.raises(ValueError, match="No candidate meets min_speedup=10"):
        select_candidate(table, min_speedup=10)
    with pytest.raises(ValueError, match="min_speedup"):
        select_candidate(table, min_speedup=0)


def test_search_resumes_without_retraining(tmp_path, monkeypatch):
    teacher = tiny_teacher()
    space = SearchSpace(depths=[1, 2], heads=[2], hidden_sizes=[8, 16],
                        intermediate_sizes=[16])
    calls = []
    real = search_module.extract_candidate
    monkeypatch.setattr(search_module, "extract_candidate",
                        lambda model, c: (calls.append(c.name), real(model, c))[1])
    csv = str(tmp_path / "search.csv")
    kwargs = dict(steps=2, results_path=csv, latency_batch_size=2,
                  latency_sequence_length=10, latency_repeats=1, jit_compile=False, verbose=0)
    first = search_subarchitectures(teacher, dataset(), dataset(16, seed=1), space,
                                    max_candidates=2, final_latency_pass=False, **kwargs)
    assert len(first) == 2 and len(calls) == 2
    assert {"W", "pareto", "error", "latency_ms", "gflops"} <= set(first.columns)
    assert first["W"].is_monotonic_decreasing and first.loc[0, "pareto"]
    calls.clear()
    table = search_subarchitectures(teacher, dataset(), dataset(16, seed=1), space, **kwargs)
    assert len(table) == 4
    # Two new candidates trained, then all four rebuilt once for the final latency pass,
    # which times every candidate in one session.
    assert len(calls) == 2 + 4 and sorted(calls[2:]) == sorted(table["name"])
    assert table["teacher_latency_ms"].nunique() == 1
    saved = pd.read_csv(csv)
    assert sorted(saved["name"]) == sorted(table["name"])
    assert (table["error"] > 0).all() and (table["accuracy"].between(0, 1)).all()
    png = plot_search(table, str(tmp_path / "search.png"))
    assert open(png, "rb").read(4) == b"\x89PNG"
    chosen = plot_search(table, str(tmp_path / "chosen.png"), chosen=table["name"].iloc[-1])
    assert open(chosen, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="chosen"):
        plot_search(table, str(tmp_path / "x.png"), chosen="L9_nothing")
    # A zero time budget trains nothing more.
    space.depths = [1, 2, 3]
    calls.clear()
    more = search_subarchitectures(teacher, dataset(), dataset(16, seed=1), space,
                                   time_budget_seconds=0, final_latency_pass=False, **kwargs)
    assert len(more) == 4 and calls == []
