import os

import numpy as np
import pytest
import pandas as pd

from keras_theseus import models
from keras_theseus.datasets import TextClassificationData


def _data():
    pos = ["the movie was great", "i loved it", "very good acting", "great fun !",
           "good plot", "i loved the acting"]
    neg = ["the movie was terrible", "i hated it", "very bad acting", "boring plot .",
           "not good", "i hated the plot"]
    frame = pd.DataFrame({"text": pos + neg, "label": [1] * 6 + [0] * 6})
    return TextClassificationData(name="toy", train=frame, dev=frame.iloc[::3],
                                  test=frame.iloc[1::3], label_names=["neg", "pos"])


def test_finetune_then_reuse_cache(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    data = _data()
    kwargs = dict(preset=tiny_checkpoint, sequence_length=8, epochs=6, batch_size=4,
                  learning_rate=1e-3, jit_compile=False, verbose=0)
    teacher, pre, history = models.finetune_teacher(data, **kwargs)
    assert history is not None and len(history.history["loss"]) == 6
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = models.teacher_cache_path(tiny_checkpoint, "toy", 8, 6, batch_size=4,
                                     learning_rate=1e-3)
    assert os.path.isfile(path) and path.startswith(str(tmp_path))
    mtime = os.path.getmtime(path)
    # Cached without the optimizer's state: Adam's two moments per weight.
    with_optimizer = str(tmp_path / "with_optimizer.keras")
    teacher.save(with_optimizer)
    assert os.path.getsize(path) < 0.5 * os.path.getsize(with_optimizer)

    again, _, history2 = models.finetune_teacher(data, **kwargs)
    assert history2 is None  # loaded, not retrained
    assert os.path.getmtime(path) == mtime  # the saved teacher is not overwritten
    ds = data.tf_dataset("train", pre, batch_size=12, shuffle=False)
    np.testing.assert_allclose(again.predict(ds, verbose=0), teacher.predict(ds, verbose=0),
                               atol=1e-5)


def test_finetune_with_length_buckets(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    data = _data()
    kwargs = dict(preset=tiny_checkpoint, sequence_length=8, epochs=6, batch_size=4,
                  learning_rate=1e-3, jit_compile=False, verbose=0)
    teacher, pre, history = models.finetune_teacher(data, bucket_widths=(4, 8), **kwargs)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = models.teacher_cache_path(tiny_checkpoint, "toy", 8, 6, bucket_widths=(4, 8),
                                     batch_size=4, learning_rate=1e-3)
    assert path.endswith("_buckets4-8_bs4_lr0.001.keras") and os.path.isfile(path)
    assert not os.path.exists(models.teacher_cache_path(tiny_checkpoint, "toy", 8, 6,
                                                        batch_size=4, learning_rate=1e-3))
    # The bucketed teacher scores padded batches like any other classifier.
    ds = data.tf_dataset("dev", pre, batch_size=4)
    assert teacher.predict(ds, verbose=0).shape == (len(data.dev), 2)
    with pytest.raises(ValueError, match="bucket"):
        models.finetune_teacher(data, bucket_widths=(3,), cache=False, **kwargs)


def test_cache_path_names_the_budget_only_when_it_departs_from_the_defaults(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    default = models.teacher_cache_path("all_minilm_l6_v2", "movie_reviews", 64, 3)
    # Names written before batch size and learning rate were recorded still match.
    assert os.path.basename(default) == "all_minilm_l6_v2__movie_reviews__len64_ep3_seed0.keras"
    assert models.teacher_cache_path("all_minilm_l6_v2", "movie_reviews", 64, 3,
                                     batch_size=32, learning_rate=5e-5) == default
    paths = {models.teacher_cache_path("all_minilm_l6_v2", "movie_reviews", 64, 3, **kw)
             for kw in ({}, {"batch_size": 16}, {"learning_rate": 1e-4},
                        {"batch_size": 16, "learning_rate": 1e-4})}
    assert len(paths) == 4
    assert models.teacher_cache_path("p", "d", 64, 3, learning_rate=1e-4).endswith(
        "_seed0_lr0.0001.keras")


def test_teachers_differing_only_in_learning_rate_are_cached_apart(tiny_checkpoint, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    data = _data()
    kwargs = dict(preset=tiny_checkpoint, sequence_length=8, epochs=1, batch_size=4,
                  jit_compile=False, verbose=0)
    _, _, first = models.finetune_teacher(data, learning_rate=1e-3, **kwargs)
    _, _, second = models.finetune_teacher(data, learning_rate=1e-4, **kwargs)
    assert first is not None and second is not None  # the second was trained, not reused
    assert len(os.listdir(tmp_path)) == 2
