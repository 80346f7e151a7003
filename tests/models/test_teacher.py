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
    path = models.teacher_cache_path(tiny_checkpoint, "toy", 8, 6)
    assert os.path.isfile(path) and path.startswith(str(tmp_path))
    mtime = os.path.getmtime(path)

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
    path = models.teacher_cache_path(tiny_checkpoint, "toy", 8, 6, bucket_widths=(4, 8))
    assert path.endswith("_buckets4-8.keras") and os.path.isfile(path)
    assert not os.path.exists(models.teacher_cache_path(tiny_checkpoint, "toy", 8, 6))
    # The bucketed teacher scores padded batches like any other classifier.
    ds = data.tf_dataset("dev", pre, batch_size=4)
    assert teacher.predict(ds, verbose=0).shape == (len(data.dev), 2)
    with pytest.raises(ValueError, match="bucket"):
        models.finetune_teacher(data, bucket_widths=(3,), cache=False, **kwargs)
