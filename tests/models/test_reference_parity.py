"""Imported checkpoints against the reference implementation (transformers).

The numpy forward pass in `bert_fixtures` is our own reading of BERT; these
tests compare with the implementation the checkpoints were trained in.
"""

import os

import numpy as np
import pytest

from keras_theseus import models
from bert_fixtures import write_hf_checkpoint

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SENTENCES = ["A man is playing a guitar.",
             "The stock market fell sharply after the announcement!",
             "it was n't bad at all"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _reference(path, inputs, num_layers=None):
    model = transformers.BertModel.from_pretrained(path).eval()
    if num_layers is not None:
        model.encoder.layer = model.encoder.layer[:num_layers]
    with torch.inference_mode():
        out = model(**{k: torch.from_numpy(np.asarray(v, "int64")) for k, v in {
            "input_ids": inputs["token_ids"], "token_type_ids": inputs["segment_ids"],
            "attention_mask": inputs["padding_mask"]}.items()})
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


def _pair_inputs(preprocessor):
    # Sentence pairs: segment ids 1 and padding both exercised. (A lone
    # positional tuple would be read as `(x, y)`.)
    return {k: np.asarray(v) for k, v in
            preprocessor(x=(SENTENCES, SENTENCES[::-1])).items()}


@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_new", "relu"])
def test_tiny_checkpoint_matches_transformers(tmp_path, hidden_act):
    write_hf_checkpoint(str(tmp_path), hidden_act=hidden_act)
    backbone = models.load_backbone(str(tmp_path))
    pre = models.load_preprocessor(str(tmp_path), sequence_length=24)
    x = _pair_inputs(pre)
    assert x["padding_mask"].sum(1).min() < 24 and x["segment_ids"].max() == 1
    out = backbone(x)
    hidden, pooled = _reference(str(tmp_path), x)
    mask = x["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out["sequence_output"])[mask], hidden[mask],
                               atol=1e-5)
    np.testing.assert_allclose(np.asarray(out["pooled_output"]), pooled, atol=1e-5)


def test_minilm_matches_transformers_to_1e4():
    path = models.resolve_preset("all_minilm_l6_v2")
    backbone = models.load_backbone("all_minilm_l6_v2")
    pre = models.load_preprocessor("all_minilm_l6_v2", sequence_length=32)
    x = _pair_inputs(pre)
    out = backbone(x)
    hidden, pooled = _reference(path, x)
    mask = x["padding_mask"].astype(bool)
    assert np.abs(np.asarray(out["sequence_output"])[mask] - hidden[mask]).max() <= 1e-4
    assert np.abs(np.asarray(out["pooled_output"]) - pooled).max() <= 1e-4


def test_truncated_student_matches_truncated_reference():
    # `drop_layers` keeps the reference's first-k layers exactly: the
    # truncated students of the peer benchmark compute the same function.
    path = models.resolve_preset("all_minilm_l6_v2")
    classifier = models.build_text_classifier(models.load_backbone("all_minilm_l6_v2"), 2)
    student = models.drop_layers(classifier, [0, 1, 2])
    pre = models.load_preprocessor("all_minilm_l6_v2", sequence_length=32)
    x = _pair_inputs(pre)
    out = student.backbone(x)
    hidden, pooled = _reference(path, x, num_layers=3)
    mask = x["padding_mask"].astype(bool)
    assert np.abs(np.asarray(out["sequence_output"])[mask] - hidden[mask]).max() <= 1e-4
    assert np.abs(np.asarray(out["pooled_output"]) - pooled).max() <= 1e-4


def test_tokenizer_matches_transformers():
    path = models.resolve_preset("all_minilm_l6_v2")
    reference = transformers.BertTokenizer(os.path.join(path, "vocab.txt"),
                                           do_lower_case=True)
    pre = models.load_preprocessor("all_minilm_l6_v2", sequence_length=32)
    ours = np.asarray(pre(SENTENCES)["token_ids"])
    for row, sentence in zip(ours, SENTENCES):
        expected = reference(sentence)["input_ids"]
        assert row[:len(expected)].tolist() == expected
        assert not row[len(expected):].any()
