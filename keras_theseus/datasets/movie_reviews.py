"""English movie-review sentence sentiment (Hutto & Gilbert, ICWSM 2014)."""

import math

import pandas as pd

from keras_theseus.datasets import assets
from keras_theseus.datasets.splits import DEFAULT_SEED
from keras_theseus.datasets.splits import build_dataset
from keras_theseus.datasets.text_files import iter_utf8_lines

LABEL_NAMES = ["negative", "positive"]


def read_movie_review_file(path):
    """Parse `movieReviewSnippets_GroundTruth.txt`.

    Format: one sentence per line, tab-separated `id`, mean human rating in
    [-4, 4], sentence (UTF-8, CRLF line ends).

    Raises:
        ValueError: naming the file and line of the first malformed line.
    """
    rows = []
    for lineno, line in iter_utf8_lines(path):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(
                f"{path}: line {lineno}: expected 3 tab-separated fields "
                f"(id, rating, sentence), found {len(fields)}."
            )
        id_, rating, text = fields
        try:
            rating = float(rating)
        except ValueError:
            raise ValueError(
                f"{path}: line {lineno}: rating {rating!r} is not a number."
            ) from None
        if not (-4.0 <= rating <= 4.0) or math.isnan(rating):
            raise ValueError(f"{path}: line {lineno}: rating {rating} outside [-4, 4].")
        if not text.strip():
            raise ValueError(f"{path}: line {lineno}: empty sentence.")
        rows.append((id_.strip(), rating, text.strip()))
    if not rows:
        raise ValueError(f"{path}: no sentences found.")
    return pd.DataFrame(rows, columns=["id", "rating", "text"])


def load_movie_reviews(path=None, min_abs_rating=0.5, seed=DEFAULT_SEED):
    """Movie-review sentence sentiment with fixed train/dev/test splits.

    10,605 sentences rated by 20 people on [-4, 4]. Label = rating > 0
    (positive). Sentences with |rating| < `min_abs_rating` (0.5 by default,
    533 sentences) are dropped: raters did not agree on a polarity, so any
    label for them would be noise. Exact duplicates are removed and texts
    with conflicting labels dropped before an 80/10/10 split stratified by
    label with a fixed seed (about 8,050 / 1,006 / 1,007 sentences).

    Args:
        path: the `movieReviewSnippets_GroundTruth.txt` file; by default the
            cached copy made by `keras-theseus fetch-assets`.
        min_abs_rating: float >= 0; 0 keeps every non-zero rating.
        seed: split seed (the default gives the documented splits).

    Returns:
        `TextClassificationData` with `text`, `label`, `rating`, `id` columns.

    Example:
    ```python
    data = keras_theseus.datasets.load_movie_reviews()
    data.train.head()
    ```
    """
    if min_abs_rating < 0:
        raise ValueError(f"`min_abs_rating` must be >= 0. Received: {min_abs_rating!r}")
    path = path or assets.movie_reviews_path()
    frame = read_movie_review_file(path)
    n_all = len(frame)
    frame = frame[(frame["rating"].abs() >= min_abs_rating) & (frame["rating"] != 0)]
    if frame.empty:
        raise ValueError(
            f"No sentence of {path} has |rating| >= min_abs_rating={min_abs_rating}."
        )
    frame = frame.assign(label=(frame["rating"] > 0).astype("int32"))
    return build_dataset(
        "movie_reviews", frame[["text", "label", "rating", "id"]], LABEL_NAMES,
        info={"source": path, "sentences": n_all, "dropped_neutral": n_all - len(frame),
              "min_abs_rating": min_abs_rating},
        seed=seed,
    )
