import os

import numpy as np
import pytest
from bert_fixtures import toy_batch

from keras_theseus import export
from keras_theseus import models


@pytest.fixture(scope="module")
def classifier():
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=60, num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64,
        max_sequence_length=16)
    return models.build_text_classifier(backbone, 3)


def _inputs(batch, length):
    x, _ = toy_batch(batch, length=length, seed=batch + length)
    return x


def test_tflite_fp32_matches_predict_for_any_batch_and_length(classifier, tmp_path):
    path = export.export_tflite(classifier, str(tmp_path / "m.tflite"))
    for batch, length in ((1, 6), (5, 12)):
        x = _inputs(batch, length)
        np.testing.assert_allclose(export.tflite_predict(path, x),
                                   classifier.predict(x, verbose=0), atol=1e-4)


def test_tflite_dynamic_range_is_smaller_and_close(classifier, tmp_path):
    fp32 = export.export_tflite(classifier, str(tmp_path / "m.tflite"))
    int8 = export.export_tflite(classifier, str(tmp_path / "q.tflite"),
                                quantization="dynamic_range")
    assert os.path.getsize(int8) < 0.6 * os.path.getsize(fp32)
    x = _inputs(8, 10)
    reference = classifier.predict(x, verbose=0)
    assert np.abs(export.tflite_predict(int8, x) - reference).max() < 0.1


def test_onnx_matches_predict(classifier, tmp_path):
    path = export.export_onnx(classifier, str(tmp_path / "m.onnx"))
    for batch, length in ((1, 6), (4, 16)):
        x = _inputs(batch, length)
        np.testing.assert_allclose(export.onnx_predict(path, x),
                                   classifier.predict(x, verbose=0), atol=1e-4)


def test_files_are_never_overwritten_and_names_checked(classifier, tmp_path):
    path = export.export_tflite(classifier, str(tmp_path / "m.tflite"))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export.export_tflite(classifier, path)
    export.export_tflite(classifier, path, overwrite=True)
    with pytest.raises(ValueError, match="'.onnx'"):
        export.export_onnx(classifier, str(tmp_path / "m.tflite"))
    with pytest.raises(ValueError, match="quantization"):
        export.export_tflite(classifier, str(tmp_path / "x.tflite"), quantization="int4")


def test_a_bfloat16_student_exports_in_float32(classifier, tmp_path):
    import tensorflow as tf

    half = models.with_precision(classifier, "mixed_bfloat16")
    x = _inputs(4, 12)
    # TFLite and ONNX get the float32 graph of the same weights: equal to the
    # float32 model, and within bfloat16 rounding of the bfloat16 one.
    path = export.export_tflite(half, str(tmp_path / "half.tflite"))
    tflite = export.tflite_predict(path, x)
    assert tflite.dtype == np.float32
    np.testing.assert_allclose(tflite, classifier.predict(x, verbose=0), atol=1e-4)
    assert np.abs(tflite - np.asarray(tf.cast(half(x), "float32"))).max() < 0.05
    assert models.model_precision(half) == "mixed_bfloat16"  # the caller's model is untouched
