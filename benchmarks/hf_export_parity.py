"""Every student kind, exported to Hugging Face format, run by transformers on real text.

    .venv/bin/python benchmarks/hf_export_parity.py --teacher-epochs 1

Fine-tunes (or reuses the cached) MiniLM-L6 teacher, derives one student
of each kind keras_theseus returns — layer-dropped (first 3 layers),
Theseus successor (3 layers, initialised from the predecessor), DynaBERT
sub-network (width 0.5, depth 0.5) and a searched sub-architecture
(L3 A8 H256 I768) — and the fine-tuned teacher itself, writes each with `save_hf_checkpoint`, loads it with
`transformers.AutoModelForSequenceClassification` / `AutoTokenizer` and
runs the raw test sentences through both. Reports per student: token ids
equal (transformers' tokenizer vs our preprocessor), max |Δlogit|,
argmax agreement, accuracy on both sides, and transformers loading
warnings. The students are not trained further: this measures the
export, not compression quality. Records go to results.json / RESULTS.md.
"""

import argparse
import os
import shutil
import tempfile
import warnings

import numpy as np

import keras_theseus as kt
from common import add_teacher_arguments
from common import load_teacher_and_splits


def students(teacher):
    dyna = kt.dynabert.DynaBertClassifier.from_classifier(teacher)
    candidate = kt.search.SearchSpace([3], [8], [256], [768]).candidates(teacher)[0]
    return {
        "teacher_6_layers": teacher,
        "layer_dropped_first3": kt.models.drop_layers(teacher, [0, 1, 2]),
        "theseus_successor_3": kt.theseus.extract_successor(
            kt.theseus.TheseusClassifier.from_predecessor(teacher, 3)),
        "dynabert_w0.5_d0.5": kt.dynabert.extract_subnetwork(dyna, 0.5, 0.5),
        "search_L3_A8_H256_I768": kt.search.extract_candidate(dyna, candidate),
    }


def transformers_logits(path, texts, sequence_length, batch_size=64):
    import torch
    import transformers

    model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, output_loading_info=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model.eval()
    ids, logits = [], []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start:start + batch_size], padding="max_length",
                          truncation=True, max_length=sequence_length, return_tensors="pt")
        with torch.inference_mode():
            logits.append(model(**batch).logits.numpy())
        ids.append(batch["input_ids"].numpy())
    problems = {k: v for k, v in info.items() if v}
    return np.concatenate(logits), np.concatenate(ids), problems


def main():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_teacher_arguments(p)
    args = p.parse_args()
    data, teacher, pre, _, _, test = load_teacher_and_splits(args)
    texts = list(data.test[data.text_columns[0]])
    labels = np.asarray(data.test["label"])
    ours_ids = np.concatenate([pre(texts[i:i + 256])["token_ids"].numpy()
                               for i in range(0, len(texts), 256)])
    workdir = tempfile.mkdtemp(prefix="kt_hf_")
    try:
        for name, student in students(teacher).items():
            ours = student.predict(test, verbose=0)
            path = os.path.join(workdir, name)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                kt.export.save_hf_checkpoint(student, path, pre, label_names=data.label_names)
            padded = [str(w.message) for w in caught if "zeros" in str(w.message)]
            theirs, ids, problems = transformers_logits(path, texts, args.sequence_length)
            diff = float(np.abs(theirs - ours).max())
            agree = float((theirs.argmax(-1) == ours.argmax(-1)).mean())
            acc_ours = float((ours.argmax(-1) == labels).mean())
            acc_theirs = float((theirs.argmax(-1) == labels).mean())
            ids_equal = bool(np.array_equal(ids, ours_ids))
            note = (f"{name}: transformers vs keras_theseus on {len(texts)} raw test "
                    f"sentences: token ids equal {ids_equal}; max |Δlogit| {diff:.2e} "
                    f"(logits up to {float(np.abs(ours).max()):.2f}); "
                    f"argmax agreement {100 * agree:.2f}%; accuracy {100 * acc_theirs:.2f}% "
                    f"vs {100 * acc_ours:.2f}%"
                    + (" (student not trained after extraction)" if student is not teacher
                       else "") + "; "
                    f"loading problems: {problems or 'none'}"
                    + (f"; {padded[0]}" if padded else ""))
            print(note, flush=True)
            kt.reporting.append_record(kt.reporting.make_record(
                experiment=f"hf_export_parity_{args.dataset}", dataset=args.dataset,
                method=name, teacher=args.preset, metric="test_accuracy",
                teacher_metric=acc_ours, student_metric=acc_theirs,
                teacher_params=kt.timing.count_params(student),
                student_params=kt.timing.count_params(student),
                batch_size=64, sequence_length=args.sequence_length, split="test", notes=note,
                extra={"max_abs_logit_diff": diff, "argmax_agreement": agree,
                       "token_ids_equal": ids_equal, "loading_problems": problems,
                       "heads_padded": bool(padded)}), args.results)
        kt.reporting.write_markdown(
            args.results, os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                       "RESULTS.md"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
