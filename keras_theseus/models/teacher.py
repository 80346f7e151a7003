"""Fine-tune (or reuse) a teacher classifier on a labelled dataset."""

import os
import warnings

import keras

from keras_theseus.distribute.strategies import is_chief
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.distribute.strategies import strategy_scope
from keras_theseus.models.classifier import build_text_classifier
from keras_theseus.models.classifier import compile_text_classifier
from keras_theseus.models.cloning import rebuild_model
from keras_theseus.models.presets import DEFAULT_PRESET
from keras_theseus.models.presets import load_backbone
from keras_theseus.models.presets import load_preprocessor
from keras_theseus.models.precision import resolve_precision
from keras_theseus.models.precision import with_precision
from keras_theseus.models.resumable_fit import fit_resumable
from keras_theseus.models.vocabulary import unknown_token_rate

# Above this share of [UNK] tokens the preset's vocabulary does not fit the data.
UNKNOWN_TOKEN_WARNING_RATE = 0.05
# `finetune_teacher`'s budget defaults; the cache name records departures from them.
DEFAULT_TEACHER_BATCH_SIZE = 32
DEFAULT_TEACHER_LEARNING_RATE = 5e-5


def teacher_cache_dir():
    """`$KERAS_THESEUS_CACHE_DIR`, else `$KERAS_HOME/keras_theseus/teachers`."""
    explicit = os.environ.get("KERAS_THESEUS_CACHE_DIR")
    if explicit:
        return explicit
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(home, "keras_theseus", "teachers")


def teacher_cache_path(preset, dataset, sequence_length, epochs, seed=0, bucket_widths=None,
                       batch_size=DEFAULT_TEACHER_BATCH_SIZE,
                       learning_rate=DEFAULT_TEACHER_LEARNING_RATE, precision=None):
    """Cache file of a fine-tuned teacher, named by what determines it.

    Batch size and learning rate enter the name only when they differ from
    `finetune_teacher`'s defaults (32 and 5e-5), and the training precision
    only when it is not float32 (a teacher trained in bfloat16 is another
    teacher), so teachers cached before they were part of the name keep
    their files.

    Example:
    ```python
    teacher_cache_path("all_minilm_l6_v2", "movie_reviews", 64, 3)
    # ~/.keras/keras_theseus/teachers/all_minilm_l6_v2__movie_reviews__len64_ep3_seed0.keras
    ```
    """
    name = os.path.basename(os.path.normpath(str(preset)))
    # Bucketed batches visit the rows in another order: another teacher.
    buckets = f"_buckets{'-'.join(str(int(w)) for w in bucket_widths)}" if bucket_widths else ""
    budget = "" if batch_size == DEFAULT_TEACHER_BATCH_SIZE else f"_bs{int(batch_size)}"
    if float(learning_rate) != DEFAULT_TEACHER_LEARNING_RATE:
        budget += f"_lr{float(learning_rate):g}"
    if precision not in (None, "float32"):
        budget += f"_{precision}"
    return os.path.join(
        teacher_cache_dir(),
        f"{name}__{dataset}__len{sequence_length}_ep{epochs}_seed{seed}{buckets}{budget}.keras",
    )


def finetune_teacher(
    data,
    preset=DEFAULT_PRESET,
    sequence_length=64,
    epochs=3,
    batch_size=DEFAULT_TEACHER_BATCH_SIZE,
    learning_rate=DEFAULT_TEACHER_LEARNING_RATE,
    seed=0,
    cache=True,
    jit_compile="auto",
    callbacks=None,
    verbose="auto",
    bucket_widths=None,
    backup_dir=None,
    precision=None,
    strategy=None,
):
    """Fine-tune a pretrained encoder into a teacher classifier.

    Stage one of every compression recipe. The result is cached as a
    `.keras` file (see `teacher_cache_path`) and reused when the same
    preset, dataset, length, epochs, batch size, learning rate, seed and
    bucket widths are asked for again.

    Args:
        data: a `keras_theseus.datasets.TextClassificationData`.
        preset: pretrained checkpoint (registered name or HF directory).
        sequence_length: tokens per example (at most the model's maximum).
        epochs, batch_size, learning_rate: fine-tuning budget; AdamW with
            10% warm-up and cosine decay.
        seed: Keras seed for the head initialization and shuffling.
        cache: reuse / write the cached teacher.
        jit_compile: XLA for the train step: `"auto"` (XLA except on
            CPU-only machines, where it measured slower), `True` or `False`.
        callbacks: extra Keras callbacks.
        bucket_widths: optional increasing lengths ending at
            `sequence_length`: pad each batch only to its length bucket
            (see `keras_theseus.datasets.bucket_by_length`), which makes
            short texts much cheaper to train on. Part of the cache key.
        backup_dir: resume an interrupted fine-tune from this directory
            (see `fit_resumable`).
        precision: `"float32"`, `"mixed_bfloat16"`, `"mixed_float16"` or
            `"auto"` (bfloat16 where the device runs it natively, see
            `keras_theseus.models.resolve_precision`); None (default)
            builds the model in Keras' global dtype policy. Part of the
            cache key; the returned teacher computes in this precision.
        strategy: train under this `tf.distribute` strategy: a
            `tf.distribute.Strategy` or a name (`"mirrored"`,
            `"multi_worker"`, `"tpu"`, see `keras_theseus.distribute.
            resolve_strategy`); None (default) trains on one device.
            `batch_size` is the global batch, split over the replicas. Under
            a multi-worker strategy only the chief writes the cache (it must
            be the same directory on every worker, or `cache=False`).

    Returns:
        `(classifier, preprocessor, history)`; `history` is None when the
        teacher came from the cache.

    Example:
    ```python
    data = keras_theseus.datasets.load_movie_reviews()
    teacher, preprocessor, _ = finetune_teacher(data, epochs=3)
    ```
    """
    precision = resolve_precision(precision)
    strategy = resolve_strategy(strategy)
    preprocessor = load_preprocessor(preset, sequence_length=sequence_length)
    path = teacher_cache_path(preset, data.name, sequence_length, epochs, seed, bucket_widths,
                              batch_size=batch_size, learning_rate=learning_rate,
                              precision=precision)
    if cache and os.path.isfile(path):
        return with_precision(keras.saving.load_model(path), precision), preprocessor, None
    _warn_if_vocabulary_misfits(preprocessor, data, preset)
    keras.utils.set_random_seed(seed)
    with strategy_scope(strategy):
        backbone = load_backbone(preset, **({"dtype": precision} if precision else {}))
        classifier = build_text_classifier(backbone, data.num_classes)
    train = data.tf_dataset("train", preprocessor, batch_size=batch_size, seed=seed,
                            bucket_widths=bucket_widths)
    dev = data.tf_dataset("dev", preprocessor, batch_size=batch_size,
                          bucket_widths=bucket_widths)
    steps = int(train.cardinality()) * epochs
    with strategy_scope(strategy):
        compile_text_classifier(
            classifier, learning_rate=learning_rate, total_steps=steps, jit_compile=jit_compile
        )
    history = fit_resumable(
        classifier, train, backup_dir, validation_data=dev, epochs=epochs, callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the tf.data pipeline shuffles; Keras 3.15 warns otherwise
    )
    if cache and is_chief(strategy):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # The cache holds the finished teacher, not its optimizer: Adam's
        # moments would triple the file (273 MB instead of 91 MB for MiniLM-L6).
        rebuild_model(classifier).save(path)
    return classifier, preprocessor, history


def _warn_if_vocabulary_misfits(preprocessor, data, preset):
    """Warn when the preset's tokenizer maps much of the data to [UNK]."""
    texts = data.split("train")[data.text_columns[0]].head(512).tolist()
    rate = unknown_token_rate(preprocessor.tokenizer, texts)
    if rate > UNKNOWN_TOKEN_WARNING_RATE:
        warnings.warn(
            f"{rate:.0%} of the tokens of {data.name!r} are [UNK] for preset {preset!r}: "
            "its vocabulary does not fit this text, and the teacher will learn little. "
            "For Chinese text use preset 'all_minilm_l6_v2_zh' (MiniLM on the "
            "bert-base-chinese vocabulary) or a Chinese checkpoint directory.",
            stacklevel=3)
