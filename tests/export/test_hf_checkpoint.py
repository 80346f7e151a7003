"""Students written as Hugging Face checkpoints, read back by transformers itself."""

import json
import logging
import os
import warnings

import keras
import keras_hub
import numpy as np
import pytest

from keras_theseus import models
from keras_theseus.dynabert import DynaBertClassifier
from keras_theseus.dynabert import extract_subnetwork
from keras_theseus.export import bert_hf_config
from keras_theseus.export import save_hf_checkpoint
from keras_theseus.search import SearchSpace
from keras_theseus.search import extract_candidate
from keras_theseus.theseus import TheseusClassifier
from keras_theseus.theseus import extract_successor

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SENTENCES = ["the movie was very good !", "i hated the plot", "not boring . loved it",
             "the acting was terrible"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def teacher(tiny_checkpoint):
    keras.utils.set_random_seed(1)
    backbone = models.load_backbone(tiny_checkpoint, dropout=0.0)
    classifier = models.build_text_classifier(backbone, 3, dropout=0.0)
    # A head far from its initialisation, so a transposed kernel would show.
    kernel = np.random.default_rng(0).normal(0, 0.5, (32, 3)).astype("float32")
    classifier.output_dense.set_weights([kernel, np.array([0.1, -0.2, 0.3], "float32")])
    return classifier


@pytest.fixture(scope="module")
def preprocessor(tiny_checkpoint):
    return models.load_preprocessor(tiny_checkpoint, sequence_length=16)


def _students(teacher):
    dyna = DynaBertClassifier.from_classifier(teacher)
    candidate = SearchSpace([1], [2], [16], [32]).candidates(teacher)[0]
    return {
        "layer_dropped": models.drop_layers(teacher, [1]),
        "theseus_successor": extract_successor(TheseusClassifier.from_predecessor(teacher, 1)),
        "dynabert_w0.5": extract_subnetwork(dyna, 0.5, 0.5),
        "search_winner": extract_candidate(dyna, candidate),
    }


def _transformers_logits(path, sentences):
    logger = logging.getLogger("transformers")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, output_loading_info=True)
    finally:
        logger.removeHandler(handler)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(sentences, padding="max_length", max_length=16, truncation=True,
                      return_tensors="pt")
    with torch.inference_mode():
        logits = model.eval()(**batch).logits.numpy()
    return logits, batch, info, [r.getMessage() for r in records]


@pytest.mark.parametrize("kind", ["layer_dropped", "theseus_successor", "dynabert_w0.5",
                                  "search_winner"])
def test_transformers_reproduces_every_student_kind(teacher, preprocessor, kind, tmp_path):
    student = _students(teacher)[kind]
    path = str(tmp_path / "student_hf")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_hf_checkpoint(student, path, preprocessor, label_names=["neg", "neu", "pos"])
    padded = [w for w in caught if "zeros" in str(w.message)]
    assert bool(padded) == (kind == "dynabert_w0.5")

    logits, batch, info, messages = _transformers_logits(path, SENTENCES)
    assert all(not info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    assert not [m for m in messages if "newly initialized" in m or "not used" in m]
    ours = preprocessor(SENTENCES)
    np.testing.assert_array_equal(batch["input_ids"].numpy(), ours["token_ids"].numpy())
    np.testing.assert_array_equal(batch["attention_mask"].numpy(),
                                  ours["padding_mask"].numpy().astype("int64"))
    np.testing.assert_allclose(logits, student.predict(ours, verbose=0), atol=1e-4)

    config = json.load(open(os.path.join(path, "config.json")))
    assert config["num_hidden_layers"] == student.backbone.num_layers
    assert config["id2label"] == {"0": "neg", "1": "neu", "2": "pos"}
    assert config["hidden_act"] == "gelu"
    # Our own loader reads the checkpoint back.
    backbone = models.load_backbone(path)
    assert backbone.num_layers == student.backbone.num_layers


def test_backbone_export_is_a_bert_model(teacher, preprocessor, tmp_path):
    path = save_hf_checkpoint(teacher.backbone, str(tmp_path / "backbone_hf"), preprocessor)
    model, info = transformers.AutoModel.from_pretrained(path, output_loading_info=True)
    assert type(model).__name__ == "BertModel"
    assert not info["missing_keys"] and not info["unexpected_keys"]
    ours = preprocessor(SENTENCES[:2])
    with torch.inference_mode():
        pooled = model.eval()(
            input_ids=torch.from_numpy(ours["token_ids"].numpy().astype("int64")),
            token_type_ids=torch.from_numpy(ours["segment_ids"].numpy().astype("int64")),
            attention_mask=torch.from_numpy(ours["padding_mask"].numpy().astype("int64")),
        ).pooler_output.numpy()
    np.testing.assert_allclose(pooled, teacher.backbone.predict(ours, verbose=0)[
        "pooled_output"], atol=1e-4)


def test_existing_directory_is_not_overwritten(teacher, preprocessor, tmp_path):
    path = tmp_path / "student_hf"
    path.mkdir()
    (path / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_hf_checkpoint(teacher, str(path), preprocessor)
    assert (path / "mine.txt").read_text() == "keep"
    save_hf_checkpoint(teacher, str(path), preprocessor, overwrite=True)
    assert sorted(os.listdir(path)) == ["config.json", "model.safetensors",
                                        "special_tokens_map.json", "tokenizer_config.json",
                                        "vocab.txt"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_inexpressible_models_raise(teacher, preprocessor, tmp_path):
    softmax = keras_hub.models.BertTextClassifier(teacher.backbone, 3, activation="softmax")
    with pytest.raises(ValueError, match="activation='softmax'"):
        save_hf_checkpoint(softmax, str(tmp_path / "a"), preprocessor)
    with pytest.raises(TypeError, match="extract_subnetwork"):
        save_hf_checkpoint(DynaBertClassifier.from_classifier(teacher), str(tmp_path / "b"),
                           preprocessor)
    with pytest.raises(ValueError, match="`preprocessor` is required"):
        save_hf_checkpoint(teacher, str(tmp_path / "c"))
    with pytest.raises(ValueError, match="one name per class"):
        bert_hf_config(teacher, label_names=["a", "b"])
    other = keras_hub.models.BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                       "[MASK]", "a"])
    with pytest.raises(ValueError, match="embedding has"):
        save_hf_checkpoint(teacher, str(tmp_path / "d"), other)
    assert not os.listdir(tmp_path)
