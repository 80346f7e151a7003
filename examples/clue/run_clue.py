"""CLUE baseline for one task: fine-tune a teacher, compress it, score dev, write the submission.

    .venv/bin/python examples/clue/run_clue.py afqmc --data-dir clue \\
        --preset /models/bert-base-chinese --method distill --layers 3

TASK is one of afqmc, tnews, iflytek, cmnli, ocnli, csl, cluewsc2020. DATA_DIR
holds the unzipped official files, one folder per task:

    clue/afqmc/{train,dev,test}.json        # afqmc_public.zip
    clue/tnews/{train,dev,test,labels}.json
    clue/ocnli/{train.50k,dev,test}.json
    ...

(download: https://storage.googleapis.com/cluebenchmark/tasks/<task>_public.zip).
The run directory `clue_runs/<task>-<method><layers>-NNN/` gets
`<task>_predict.json` (the student's test predictions in CLUE's submission
format), `report.md`, `metrics.csv` (teacher and student dev accuracy, params,
latency, speedup), `accuracy_vs_latency.png` and `student.keras`.

Use a Chinese BERT checkpoint in Hugging Face format for `--preset` (e.g. a
local copy of bert-base-chinese or hfl/rbt3: `config.json`,
`model.safetensors`, `vocab.txt`). Without `--preset` the command line uses
`all_minilm_l6_v2_zh`: MiniLM moved onto the bert-base-chinese vocabulary,
whose Chinese token rows are new and learnt only from the task's own data
(a weak stand-in for a Chinese checkpoint, but no longer mostly [UNK]).

The same as Python:

    from keras_theseus.workflows import run_clue_baseline
    run_dir, metrics, submission = run_clue_baseline(
        "afqmc", "clue", preset="/models/bert-base-chinese", method="distill",
        num_layers=3, teacher_epochs=3, epochs=3)

This script is `keras-theseus clue` (same options; `--help` lists them).
"""

import sys

from keras_theseus.cli import main

if __name__ == "__main__":
    sys.exit(main(["clue", *sys.argv[1:]]))
