import os

import keras_hub
import numpy as np
import pandas as pd
import pytest

from bert_fixtures import TINY_VOCAB
from keras_theseus import models
from keras_theseus.datasets import TextClassificationData

# Target: a reordered part of the tiny vocabulary, a `##` piece whose bare
# form is known, and tokens the source never had.
TARGET = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "好", "movie", "##great", "电",
           "great", "the", "was", "影"])


def _source(tiny_checkpoint):
    return os.path.join(tiny_checkpoint, "vocab.txt")


def test_transplant_copies_shared_rows_and_every_other_weight(tiny_checkpoint):
    backbone = models.load_backbone(tiny_checkpoint)
    new, copied = models.transplant_vocabulary(backbone, _source(tiny_checkpoint), TARGET,
                                               seed=1)
    assert type(new) is type(backbone)
    assert new.vocabulary_size == len(TARGET)
    assert new.hidden_activation == backbone.hidden_activation
    old_table = np.asarray(backbone.token_embedding.embeddings)
    table = np.asarray(new.token_embedding.embeddings)
    shared = [t for t in TARGET if t in TINY_VOCAB]
    assert copied == len(shared) + 1  # "##great" falls back to "great"
    for token in shared:
        np.testing.assert_array_equal(table[TARGET.index(token)],
                                      old_table[TINY_VOCAB.index(token)])
    np.testing.assert_array_equal(table[TARGET.index("##great")],
                                  old_table[TINY_VOCAB.index("great")])
    fresh = table[[TARGET.index(t) for t in ("好", "电", "影")]]
    assert np.isfinite(fresh).all()
    assert not any(np.allclose(row, old) for row in fresh for old in old_table)
    for w_new, w_old in zip(new.weights, backbone.weights):
        if w_new is not new.token_embedding.embeddings:
            np.testing.assert_array_equal(np.asarray(w_new), np.asarray(w_old))


def test_transplanted_backbone_reads_the_same_text_the_same_way(tiny_checkpoint):
    backbone = models.load_backbone(tiny_checkpoint)
    new, _ = models.transplant_vocabulary(backbone, _source(tiny_checkpoint), TARGET)
    old_pre = keras_hub.models.BertTextClassifierPreprocessor(
        models.load_tokenizer(tiny_checkpoint), sequence_length=8)
    new_pre = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=TARGET, lowercase=True), sequence_length=8)
    text = ["the movie was great"]
    x_old, x_new = old_pre(text), new_pre(text)
    assert not np.array_equal(x_old["token_ids"], x_new["token_ids"])  # other ids
    np.testing.assert_allclose(new(x_new)["sequence_output"],
                               backbone(x_old)["sequence_output"], atol=1e-6)


def test_transplant_is_seeded(tiny_checkpoint):
    backbone = models.load_backbone(tiny_checkpoint)
    a, _ = models.transplant_vocabulary(backbone, _source(tiny_checkpoint), TARGET, seed=3)
    b, _ = models.transplant_vocabulary(backbone, _source(tiny_checkpoint), TARGET, seed=3)
    np.testing.assert_array_equal(np.asarray(a.token_embedding.embeddings),
                                  np.asarray(b.token_embedding.embeddings))


def test_transplant_bad_arguments(tiny_checkpoint, tmp_path):
    backbone = models.load_backbone(tiny_checkpoint)
    with pytest.raises(ValueError, match="vocabulary_size"):
        models.transplant_vocabulary(backbone, TARGET, TARGET)
    with pytest.raises(ValueError, match=r"no \[UNK\]"):
        models.transplant_vocabulary(backbone, _source(tiny_checkpoint), ["[PAD]", "a"])
    with pytest.raises(ValueError, match="appears twice"):
        models.transplant_vocabulary(backbone, _source(tiny_checkpoint), TARGET + ["好"])
    empty = tmp_path / "vocab.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        models.read_vocabulary(str(empty))
    with pytest.raises(TypeError, match="vocab.txt path or a list"):
        models.read_vocabulary(21128)


def test_unknown_token_rate(tiny_checkpoint):
    tokenizer = models.load_tokenizer(tiny_checkpoint)
    assert models.unknown_token_rate(tokenizer, ["the movie was great"]) == 0.0
    assert models.unknown_token_rate(tokenizer, ["一部好电影"]) == 1.0
    assert models.unknown_token_rate(tokenizer, ["the movie", "好"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="empty"):
        models.unknown_token_rate(tokenizer, [])


def test_finetune_teacher_warns_when_the_vocabulary_misfits(tiny_checkpoint, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_CACHE_DIR", str(tmp_path))
    frame = pd.DataFrame({"text": ["这部电影很好", "这部电影很差", "非常好看", "太无聊了"],
                          "label": [1, 0, 1, 0]})
    data = TextClassificationData(name="zh_toy", train=frame, dev=frame, test=frame,
                                  label_names=["neg", "pos"])
    with pytest.warns(UserWarning, match=r"100% of the tokens .*'all_minilm_l6_v2_zh'"):
        models.finetune_teacher(data, preset=tiny_checkpoint, sequence_length=8, epochs=1,
                                batch_size=2, cache=False, jit_compile=False, verbose=0)


def test_chinese_preset_moves_minilm_onto_the_chinese_vocabulary():
    from keras_theseus.datasets import chinese_bert_vocabulary_path

    assert "all_minilm_l6_v2_zh" in models.list_presets()
    tokenizer = models.load_tokenizer("all_minilm_l6_v2_zh")
    assert tokenizer.vocabulary_size() == 21128
    english = models.load_tokenizer("all_minilm_l6_v2")
    review = ["这本书内容很好，物流也快，推荐购买。"]
    assert models.unknown_token_rate(tokenizer, review) == 0.0
    assert models.unknown_token_rate(english, review) > 0.5

    base = models.load_backbone("all_minilm_l6_v2")
    zh = models.load_backbone("all_minilm_l6_v2_zh")
    assert zh.vocabulary_size == 21128 and zh.num_layers == base.num_layers
    target = models.read_vocabulary(chinese_bert_vocabulary_path())
    source = models.read_vocabulary(
        os.path.join(models.resolve_preset("all_minilm_l6_v2"), "vocab.txt"))
    for token in ("[CLS]", "[SEP]", "the"):
        np.testing.assert_array_equal(
            np.asarray(zh.token_embedding.embeddings)[target.index(token)],
            np.asarray(base.token_embedding.embeddings)[source.index(token)])
    np.testing.assert_array_equal(np.asarray(zh.transformer_layers[0].weights[0]),
                                  np.asarray(base.transformer_layers[0].weights[0]))
