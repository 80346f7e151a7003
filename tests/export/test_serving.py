import json
import os
import subprocess
import sys

import keras_hub
import numpy as np
import pytest
from bert_fixtures import TINY_VOCAB

from keras_theseus import export
from keras_theseus import models

LOAD_AND_RUN = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # registers the WordPiece ops used by serve_text
path, inputs, out = sys.argv[1], sys.argv[2], sys.argv[3]
loaded = tf.saved_model.load(path)
x = dict(np.load(inputs))
result = {}
serve = loaded.signatures["serving_default"]
result["default"] = {k: v.numpy().tolist() for k, v in serve(
    token_ids=tf.constant(x["token_ids"]), segment_ids=tf.constant(x["segment_ids"]),
    padding_mask=tf.constant(x["padding_mask"])).items()}
short = serve(token_ids=tf.constant(x["token_ids"][:1, :5]),
              segment_ids=tf.constant(x["segment_ids"][:1, :5]),
              padding_mask=tf.constant(x["padding_mask"][:1, :5]))
result["short_shape"] = list(short["logits"].shape)
try:
    long = np.zeros((1, 64), "int32")
    serve(token_ids=tf.constant(long), segment_ids=tf.constant(long), padding_mask=tf.constant(long))
    result["too_long"] = "accepted"
except tf.errors.InvalidArgumentError as e:
    result["too_long"] = str(e)
if "serve_text" in loaded.signatures:
    texts = json.loads(sys.argv[4])
    result["text"] = {k: v.numpy().tolist() for k, v in
                      loaded.signatures["serve_text"](text=tf.constant(texts)).items()}
json.dump(result, open(out, "w"))
"""


@pytest.fixture(scope="module")
def classifier_and_preprocessor():
    backbone = models.ExactGeluBertBackbone(
        vocabulary_size=len(TINY_VOCAB), num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=16)
    classifier = models.build_text_classifier(backbone, 3)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=TINY_VOCAB), sequence_length=12)
    return classifier, preprocessor


def test_export_matches_predict_in_a_separate_process(classifier_and_preprocessor, tmp_path):
    classifier, preprocessor = classifier_and_preprocessor
    path = export.export_for_serving(classifier, str(tmp_path), "sentiment",
                                     preprocessor=preprocessor)
    assert path == os.path.join(str(tmp_path), "sentiment", "1")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    texts = ["the movie was great !", "i hated the plot .", "very boring"]
    x = {k: np.asarray(v).astype("int32") for k, v in preprocessor(texts).items()}
    np.savez(tmp_path / "x.npz", **x)
    script = tmp_path / "run.py"
    script.write_text(LOAD_AND_RUN)
    out = tmp_path / "out.json"
    result = subprocess.run(
        [sys.executable, str(script), path, str(tmp_path / "x.npz"), str(out), json.dumps(texts)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(out.read_text())
    expected = classifier.predict(x, verbose=0)
    np.testing.assert_allclose(served["default"]["logits"], expected, atol=1e-5)
    probs = np.exp(expected) / np.exp(expected).sum(-1, keepdims=True)
    np.testing.assert_allclose(served["default"]["probabilities"], probs, atol=1e-5)
    np.testing.assert_allclose(served["text"]["logits"], expected, atol=1e-5)
    assert served["short_shape"] == [1, 3]
    assert "maximum of 16 tokens" in served["too_long"]


def test_saved_model_cli_shows_the_signatures(classifier_and_preprocessor, tmp_path):
    classifier, _ = classifier_and_preprocessor
    path = export.export_for_serving(classifier, str(tmp_path), "m")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run([cli, "show", "--dir", path, "--tag_set", "serve",
                             "--signature_def", "serving_default"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("token_ids", "segment_ids", "padding_mask"):
        assert f"inputs['{name}'] tensor_info:\n      dtype: DT_INT32\n      shape: (-1, -1)" \
            in result.stdout
    assert "outputs['logits']" in result.stdout and "outputs['probabilities']" in result.stdout


def test_versions_are_never_overwritten(classifier_and_preprocessor, tmp_path):
    classifier, _ = classifier_and_preprocessor
    export.export_for_serving(classifier, str(tmp_path), "m")
    with pytest.raises(FileExistsError, match="version='next'"):
        export.export_for_serving(classifier, str(tmp_path), "m", version=1)
    second = export.export_for_serving(classifier, str(tmp_path), "m", version="next")
    assert second.endswith(os.path.join("m", "2"))
    assert export.serving_path(str(tmp_path), "m", "next").endswith(os.path.join("m", "3"))


def test_bad_arguments(classifier_and_preprocessor, tmp_path):
    classifier, _ = classifier_and_preprocessor
    with pytest.raises(ValueError, match="version"):
        export.serving_path(str(tmp_path), "m", 0)
    with pytest.raises(ValueError, match="model_name"):
        export.serving_path(str(tmp_path), "a/b", 1)
    with pytest.raises(TypeError, match="BertTextClassifier"):
        export.export_for_serving(classifier.backbone, str(tmp_path), "m")
    with pytest.raises(TypeError, match="preprocessor"):
        export.export_for_serving(classifier, str(tmp_path), "m", preprocessor=object())


def test_served_signature_is_float32_in_either_precision(classifier_and_preprocessor, tmp_path):
    import tensorflow as tf

    classifier, _ = classifier_and_preprocessor
    half = models.with_precision(classifier, "mixed_bfloat16")
    x = {"token_ids": tf.constant([[2, 7, 8, 3, 0]], tf.int32),
         "segment_ids": tf.zeros((1, 5), tf.int32),
         "padding_mask": tf.constant([[1, 1, 1, 1, 0]], tf.int32)}
    outputs = {}
    for name, precision in (("bf16", None), ("fp32", "float32")):
        path = export.export_for_serving(half, str(tmp_path), name, precision=precision)
        served = tf.saved_model.load(path).signatures["serving_default"](**x)
        assert served["logits"].dtype == tf.float32
        outputs[name] = served["logits"].numpy()
    np.testing.assert_allclose(outputs["fp32"], classifier.predict(x, verbose=0), atol=1e-5)
    assert np.abs(outputs["bf16"] - outputs["fp32"]).max() < 0.05
