"""TFDS builders for CLUE read the manual_dir files exactly as `load_clue` does."""

import os

import pytest
import tensorflow_datasets as tfds

from keras_theseus.datasets.clue import load_clue
from keras_theseus.datasets.clue_tfds import CLUE_BUILDERS

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "clue")


def test_one_registered_builder_per_task():
    names = set(tfds.list_builders())
    for task in ("afqmc", "tnews", "iflytek", "cmnli", "ocnli", "csl", "cluewsc2020"):
        assert f"clue_{task}" in names
        assert CLUE_BUILDERS[task].name == f"clue_{task}"


@pytest.mark.parametrize("task", ["ocnli", "cluewsc2020"])
def test_builder_matches_load_clue(tmp_path, task):
    builder = tfds.builder(f"clue_{task}", data_dir=str(tmp_path))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=FIXTURES))
    data = load_clue(task, FIXTURES)
    for split, frame in (("train", data.train), ("validation", data.dev),
                         ("test", data.test)):
        examples = sorted(tfds.as_numpy(builder.as_dataset(split=split)),
                          key=lambda e: (e["id"], e["text_a"]))
        expected = frame.sort_values(["id", "text_a"]).reset_index(drop=True)
        assert len(examples) == len(expected)
        assert [e["text_a"].decode() for e in examples] == expected["text_a"].tolist()
        assert [int(e["label"]) for e in examples] == expected["label"].tolist()
        if "text_b" in frame:
            assert [e["text_b"].decode() for e in examples] == expected["text_b"].tolist()
    assert builder.info.features["label"].names == list(data.task.labels)


def test_missing_manual_files_raise(tmp_path):
    builder = tfds.builder("clue_csl", data_dir=str(tmp_path / "tfds"))
    with pytest.raises(Exception, match="csl_public.zip"):
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path)))
