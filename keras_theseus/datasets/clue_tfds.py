"""`tensorflow_datasets` builders for the CLUE classification tasks.

CLUE's files cannot be fetched by TFDS (and nothing can be downloaded on an
offline machine), so every builder reads the official files from TFDS'
`manual_dir`. One builder per task, registered under `clue_<task>`:
`clue_afqmc`, `clue_tnews`, `clue_iflytek`, `clue_cmnli`, `clue_ocnli`,
`clue_csl`, `clue_cluewsc2020`. Parsing is `keras_theseus.datasets.clue`'s,
so TFDS and `load_clue` see exactly the same examples.

Example:
```python
import numpy as np
import tensorflow_datasets as tfds
import keras_theseus.datasets.clue_tfds  # registers the builders

builder = tfds.builder("clue_afqmc", data_dir="~/tensorflow_datasets")
builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(manual_dir="clue/afqmc"))
train = builder.as_dataset(split="train")   # {"id", "text_a", "text_b", "label"}
```
"""

import os

import numpy as np
import tensorflow_datasets as tfds

from keras_theseus.datasets.clue import CLUE_TASKS
from keras_theseus.datasets.clue import DOWNLOAD_URL
from keras_theseus.datasets.clue import read_clue_split
from keras_theseus.datasets.clue import resolve_task_dir


class ClueBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the per-task CLUE builders; subclasses set `TASK`."""

    TASK = None
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Official CLUE JSON-lines files read from manual_dir."}

    @property
    def MANUAL_DOWNLOAD_INSTRUCTIONS(self):  # noqa: N802 (TFDS' attribute name)
        return (f"Download {DOWNLOAD_URL.format(task=self.TASK)} and unzip it into the "
                "manual directory (`train.json`, `dev.json`, `test.json`; a `<task>/` "
                "sub-folder also works).")

    def _info(self):
        task = CLUE_TASKS[self.TASK]
        features = {"id": tfds.features.Scalar(np.int64), "text_a": tfds.features.Text(),
                    "label": tfds.features.ClassLabel(names=list(task.labels))}
        if task.pair:
            features["text_b"] = tfds.features.Text()
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features),
            homepage="https://github.com/CLUEbenchmark/CLUE",
            description=f"CLUE {task.name}: labels {list(task.labels)} "
                        "(test split unlabelled: label -1).",
            citation="Xu et al., CLUE: A Chinese Language Understanding Evaluation "
                     "Benchmark, COLING 2020.",
        )

    def _split_generators(self, dl_manager):
        task = CLUE_TASKS[self.TASK]
        directory = resolve_task_dir(os.fspath(dl_manager.manual_dir), task.name)
        train = next((os.path.join(directory, n) for n in task.train_files
                      if os.path.isfile(os.path.join(directory, n))),
                     os.path.join(directory, task.train_files[0]))
        return {
            "train": self._generate_examples(train, True),
            "validation": self._generate_examples(os.path.join(directory, "dev.json"), True),
            "test": self._generate_examples(os.path.join(directory, "test.json"), False),
        }

    def _generate_examples(self, path, labelled):
        # Label codes are fixed per task (labels.json only renames them), so the
        # class index is the position in the task's code list.
        frame, _ = read_clue_split(path, self.TASK, labelled=labelled)
        for row in frame.itertuples(index=False):
            example = {"id": int(row.id), "text_a": row.text_a, "label": int(row.label)}
            if "text_b" in frame.columns:
                example["text_b"] = row.text_b
            # Line numbers are unique keys (WSC's `idx` repeats in train).
            yield f"{os.path.basename(path)}:{row.line}", example


def _make_builder(task):
    name = "Clue" + task.capitalize()
    return type(name, (ClueBuilder,), {"TASK": task, "__module__": __name__,
                                       "__doc__": f"CLUE {task} from the official files."})


ClueAfqmc = _make_builder("afqmc")
ClueTnews = _make_builder("tnews")
ClueIflytek = _make_builder("iflytek")
ClueCmnli = _make_builder("cmnli")
ClueOcnli = _make_builder("ocnli")
ClueCsl = _make_builder("csl")
ClueCluewsc2020 = _make_builder("cluewsc2020")

CLUE_BUILDERS = {b.TASK: b for b in (ClueAfqmc, ClueTnews, ClueIflytek, ClueCmnli, ClueOcnli,
                                    ClueCsl, ClueCluewsc2020)}
