"""What every benchmark script shares: teacher/data arguments, loading, accuracy."""

import os

import keras_theseus as kt

HERE = os.path.dirname(os.path.abspath(__file__))


def add_teacher_arguments(parser, sequence_length=64):
    """`--dataset --preset --sequence-length --teacher-epochs --batch-size
    --bucket-widths --teacher-bucket-widths --results`."""
    parser.add_argument("--dataset", default="movie_reviews",
                        choices=sorted(kt.datasets.LOADERS))
    parser.add_argument("--preset", default=kt.models.DEFAULT_PRESET)
    parser.add_argument("--sequence-length", type=int, default=sequence_length)
    parser.add_argument("--teacher-epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--bucket-widths", type=int, nargs="+", default=None,
                        help="Pad each batch only to its length bucket (e.g. 16 32 48 64; "
                             "the last must be --sequence-length). Default: pad to "
                             "--sequence-length.")
    parser.add_argument("--teacher-bucket-widths", type=int, nargs="+", default=None,
                        help="Fine-tune the teacher on length-bucketed batches (a separate "
                             "cache entry). Default: padded batches.")
    parser.add_argument("--results", default=os.path.join(HERE, "results.json"))


def load_teacher_and_splits(args):
    """The cached fine-tuned teacher and batched train/dev/test splits.

    Returns `(data, teacher, preprocessor, train, dev, test)`. With
    `--bucket-widths` every split is batched by length; the teacher is
    fine-tuned on bucketed batches only with `--teacher-bucket-widths`.
    """
    data = kt.datasets.load_dataset(args.dataset)
    teacher, pre, _ = kt.models.finetune_teacher(
        data, preset=args.preset, sequence_length=args.sequence_length,
        epochs=args.teacher_epochs, batch_size=args.batch_size, verbose=2,
        bucket_widths=args.teacher_bucket_widths)
    buckets = args.bucket_widths
    train = data.tf_dataset("train", pre, batch_size=args.batch_size, bucket_widths=buckets)
    dev = data.tf_dataset("dev", pre, batch_size=64, bucket_widths=buckets)
    test = data.tf_dataset("test", pre, batch_size=64, bucket_widths=buckets)
    return data, teacher, pre, train, dev, test


def bucketing_note(args):
    """What records say about length bucketing, e.g. `" bucketed 16/32/64"`."""
    note = f" bucketed {'/'.join(map(str, args.bucket_widths))}" if args.bucket_widths else ""
    if args.teacher_bucket_widths:
        note += (" (teacher too)" if args.teacher_bucket_widths == args.bucket_widths else
                 f" (teacher {'/'.join(map(str, args.teacher_bucket_widths))})")
    return note


def accuracy(model, ds):
    """Accuracy of a keras-hub logits classifier, XLA."""
    kt.models.compile_text_classifier(model, jit_compile=True)
    return float(model.evaluate(ds, verbose=0, return_dict=True)["accuracy"])
