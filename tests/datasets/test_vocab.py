"""Chinese BERT vocabulary and WordPiece vocabulary learning."""

import keras_hub
import numpy as np
import pytest

from keras_theseus.datasets import build_wordpiece_vocabulary
from keras_theseus.datasets import chinese_bert_vocabulary_path
from keras_theseus.datasets.vocab import CHINESE_BERT_VOCAB_SIZE

RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _ids(x):
    """Token ids as (nested) Python lists, whatever keras-hub returned."""
    if hasattr(x, "to_list"):  # tf.RaggedTensor
        return x.to_list()
    if hasattr(x, "numpy"):
        x = x.numpy()
    if isinstance(x, list) or (isinstance(x, np.ndarray) and x.dtype == object):
        return [_ids(row) for row in x]
    return np.asarray(x).tolist()


@pytest.fixture(scope="module")
def vocab_path():
    try:
        return chinese_bert_vocabulary_path()
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def chinese_tokenizer(vocab_path):
    return keras_hub.models.BertTokenizer(vocabulary=vocab_path, lowercase=True)


def test_chinese_vocabulary_file(vocab_path):
    # One token per "\n"-terminated line. (Not `str.splitlines()`: the
    # vocabulary holds the token U+2028, a line separator to Python.)
    with open(vocab_path, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    assert len(tokens) == CHINESE_BERT_VOCAB_SIZE == 21128
    assert len(set(tokens)) == len(tokens)
    # bert-base-chinese layout.
    assert tokens[0] == "[PAD]"
    assert tokens[100] == "[UNK]"
    assert tokens[101] == "[CLS]"
    assert tokens[102] == "[SEP]"
    assert tokens[103] == "[MASK]"


def test_chinese_text_is_split_per_character(chinese_tokenizer):
    text = "我很喜欢这本书"
    ids = _ids(chinese_tokenizer(text))
    unk = chinese_tokenizer.token_to_id("[UNK]")
    assert len(ids) == len(text)
    assert unk not in ids
    assert [chinese_tokenizer.id_to_token(i) for i in ids] == list(text)
    # The same character always maps to the same id.
    again = _ids(chinese_tokenizer("书很好"))
    assert again[0] == ids[-1] and again[1] == ids[1]


def test_chinese_tokenizer_mixed_text_and_batches(chinese_tokenizer):
    batch = _ids(chinese_tokenizer(["酒店很好", "质量太差了"]))
    lengths = [len(row) for row in batch]
    assert lengths == [4, 5]
    unk = chinese_tokenizer.token_to_id("[UNK]")
    assert all(unk not in row for row in batch)
    # Latin words still go through WordPiece, lowercased.
    mixed = _ids(chinese_tokenizer("我爱 BERT"))
    assert mixed[:2] == _ids(chinese_tokenizer("我爱"))
    assert unk not in mixed


SENTENCES = [
    "the movie was great", "the movie was terrible", "a great film with great actors",
    "a terrible film with bad actors", "i loved the story", "i hated the story",
    "the acting was wonderful", "the plot was boring", "what a wonderful movie",
    "what a boring movie", "the ending was great", "the ending was bad",
    "这本书很好", "这本书很差", "酒店很好", "酒店很差", "服务很好", "服务很差",
    "great great great", "bad bad bad", "movies and films", "stories and plots",
    "the actors were great", "the actors were bad", "i would watch it again",
    "i would not watch it again", "a film for everyone", "a film for no one",
    "Great Movie", "Terrible Movie",
]


def test_build_wordpiece_vocabulary_reserved_tokens_first():
    vocab = build_wordpiece_vocabulary(SENTENCES, vocabulary_size=60)
    assert vocab[:5] == RESERVED
    assert 5 < len(vocab) <= 60
    assert len(set(vocab)) == len(vocab)
    # Chinese characters come one per token; Latin text is lowercased.
    for ch in "书很好差酒店":
        assert ch in vocab
    assert "G" not in vocab and "g" in vocab
    assert not any("很好" == t for t in vocab)


def test_build_wordpiece_vocabulary_tokenizes_its_training_text():
    vocab = build_wordpiece_vocabulary(SENTENCES, vocabulary_size=120)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
    unk = tokenizer.token_to_id("[UNK]")
    for sentence in SENTENCES:
        assert unk not in _ids(tokenizer(sentence)), sentence


def test_build_wordpiece_vocabulary_keeps_case_when_asked():
    vocab = build_wordpiece_vocabulary(["Hello World"] * 5 + ["hello world"], 30,
                                       lowercase=False)
    assert vocab[:5] == RESERVED
    assert "H" in vocab and "h" in vocab


def test_build_wordpiece_vocabulary_accepts_any_iterable():
    vocab = build_wordpiece_vocabulary((s for s in SENTENCES), vocabulary_size=40)
    assert vocab[:5] == RESERVED


@pytest.mark.parametrize("texts, size, fragment", [
    ([], 100, "texts"),
    (SENTENCES, 9, "vocabulary_size"),
    (SENTENCES, 100.0, "vocabulary_size"),
    (SENTENCES, "100", "vocabulary_size"),
    (SENTENCES, None, "vocabulary_size"),
])
def test_build_wordpiece_vocabulary_bad_args(texts, size, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_wordpiece_vocabulary(texts, vocabulary_size=size)
