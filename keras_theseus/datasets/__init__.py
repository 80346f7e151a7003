"""Real labelled text, loaded offline, with fixed splits."""

from keras_theseus.datasets.assets import data_dir
from keras_theseus.datasets.assets import fetch_assets
from keras_theseus.datasets.assets import fetch_movie_reviews
from keras_theseus.datasets.bbc_news import load_bbc_news
from keras_theseus.datasets.chinese_sentiment import load_chinese_sentiment
from keras_theseus.datasets.clue import CLUE_TASKS
from keras_theseus.datasets.clue import ClueData
from keras_theseus.datasets.clue import load_clue
from keras_theseus.datasets.clue import validate_clue_submission
from keras_theseus.datasets.clue import write_clue_submission
from keras_theseus.datasets.movie_reviews import load_movie_reviews
from keras_theseus.datasets.pipeline import bucket_by_length
from keras_theseus.datasets.pipeline import make_tf_dataset
from keras_theseus.datasets.splits import TextClassificationData
from keras_theseus.datasets.splits import deduplicate
from keras_theseus.datasets.splits import split_frame
from keras_theseus.datasets.vocab import build_wordpiece_vocabulary
from keras_theseus.datasets.vocab import chinese_bert_vocabulary_path

LOADERS = {
    "movie_reviews": load_movie_reviews,
    "chinese_sentiment": load_chinese_sentiment,
    "bbc_news": load_bbc_news,
}


def load_dataset(name, **kwargs):
    """Load a built-in dataset by name (`movie_reviews`, `chinese_sentiment`, `bbc_news`)."""
    if name not in LOADERS:
        raise ValueError(f"Unknown dataset {name!r}. Choose one of {sorted(LOADERS)}.")
    return LOADERS[name](**kwargs)
