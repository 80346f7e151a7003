import numpy as np
import pandas as pd
import pytest

from keras_theseus import models
from keras_theseus.datasets import TextClassificationData
from keras_theseus.theseus import compress_with_theseus
from keras_theseus.theseus import default_schedule


def test_default_schedule_reaches_one_before_the_end():
    s = default_schedule(100)
    assert s.rate(0) == pytest.approx(0.3)
    assert s.rate(80) == pytest.approx(1.0)
    assert s.rate(79) < 1.0


def test_three_stages_on_real_tiny_checkpoint(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    pos = ["the movie was great", "i loved it", "very good acting", "great fun !", "good plot"]
    neg = ["the movie was terrible", "i hated it", "very bad acting", "boring plot .", "not good"]
    frame = pd.DataFrame({"text": pos + neg, "label": [1] * 5 + [0] * 5})
    data = TextClassificationData("toy", frame, frame, frame, ["neg", "pos"])
    # Stage 1.
    teacher, pre, _ = models.finetune_teacher(
        data, preset=tiny_checkpoint, sequence_length=8, epochs=8, batch_size=5,
        learning_rate=2e-3, jit_compile=False, verbose=0)
    train = data.tf_dataset("train", pre, batch_size=5)
    # Stages 2 and 3.
    result = compress_with_theseus(teacher, train, num_successor_layers=1, replacing_epochs=4,
                                   successor_epochs=2, learning_rate=2e-3, jit_compile=False,
                                   verbose=0)
    assert result.successor.backbone.num_layers == 1
    rates = result.replacing_history.history["replacement_rate"]
    assert rates[0] < rates[-1] == pytest.approx(1.0)
    assert len(result.successor_history.history["loss"]) == 2
    # The successor was trained after extraction: it no longer equals stage 2.
    x, _ = next(iter(train))
    assert not np.allclose(result.successor.predict(x, verbose=0),
                           result.theseus.predict(x, verbose=0), atol=1e-6)


def test_rejects_unbatched_or_infinite_data(predecessor):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensors(({"token_ids": [[1]]}, [0])).repeat()
    with pytest.raises(ValueError, match="finite"):
        compress_with_theseus(predecessor, ds, num_successor_layers=2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(replacing_epochs=0), "replacing_epochs"),
    (dict(successor_epochs=-1), "successor_epochs"),
])
def test_rejects_bad_epochs(predecessor, kwargs, match):
    import tensorflow as tf

    from theseus_fixtures import toy_batch

    x, y = toy_batch(8)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4, drop_remainder=True)
    with pytest.raises(ValueError, match=match):
        compress_with_theseus(predecessor, ds, num_successor_layers=2, **kwargs)
