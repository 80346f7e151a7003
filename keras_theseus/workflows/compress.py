"""One call from a labelled dataset to a compressed, evaluated, exported student."""

import dataclasses
import os
import re
import shutil
import time

import keras

from keras_theseus.distribute.replication import unreplicated
from keras_theseus.distribute.strategies import STRATEGY_NAMES
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.models.classifier import compile_text_classifier
from keras_theseus.models.precision import check_precision
from keras_theseus.models.precision import resolve_precision
from keras_theseus.models.presets import DEFAULT_PRESET
from keras_theseus.models.presets import check_sequence_length
from keras_theseus.models.presets import preset_max_positions
from keras_theseus.models.presets import preset_num_layers
from keras_theseus.models.resumable_fit import stage_dir
from keras_theseus.theseus.theseus_classifier import successor_depths
from keras_theseus.models.teacher import DEFAULT_TEACHER_LEARNING_RATE
from keras_theseus.models.teacher import finetune_teacher

METHODS = ("theseus", "distill", "dynabert")


@dataclasses.dataclass
class CompressionConfig:
    """What `compress_classifier` does; every field has a working default.

    Attributes:
        method: `"theseus"` (BERT-of-Theseus 6→n, then the successor
            alone), `"distill"` (KD into a layer-dropped student) or
            `"dynabert"` (DynaBERT_w then DynaBERT over widths 1/.75/.5/.25
            and depths 1/.75/.5, then the `(width, num_layers/L)`
            sub-network extracted).
        preset: teacher checkpoint (registered name or HF directory).
        num_layers: student depth (Theseus: must divide the teacher's).
        width: DynaBERT width multiplier of the extracted student.
        sequence_length: tokens per training example.
        batch_size: training batch size.
        teacher_epochs: fine-tuning epochs of the teacher (cached by
            preset, dataset, length, epochs and seed).
        teacher_learning_rate: the teacher's peak learning rate.
        epochs: compression epochs (Theseus: replacing epochs, followed by
            `successor_epochs` of the successor alone; distill: KD epochs).
        successor_epochs: Theseus stage 3 epochs.
        learning_rate: compression peak learning rate (teacher: 5e-5).
        seed: seeds weights init, shuffling and replacement draws.
        jit_compile: XLA for the training steps: `"auto"` (Keras' rule: XLA
            on GPU/TPU, off on CPU-only machines, where it measured slower
            for every trainer), `True` or `False`.
        cache_teacher: reuse / write the cached teacher.
        precision: `"float32"` (default), `"mixed_bfloat16"`,
            `"mixed_float16"` or `"auto"` (mixed_bfloat16 where the device
            runs bfloat16 natively: AMX / AVX512-BF16 CPUs, Ampere-or-newer
            GPUs, TPUs; float32 elsewhere), for the teacher fine-tune, the
            compression and the student (see
            `keras_theseus.models.resolve_precision`). float32 by default
            because, measured over 3 seeds on movie reviews, bfloat16
            Theseus scored lower on dev in every seed (test −1.2 points,
            95% CI [−2.6, +0.1]) for 1.25-1.4× faster train steps
            (docs/precision.md).
        strategy: None (one device), or train every stage under a
            `tf.distribute` strategy: `"mirrored"` (this machine's GPUs),
            `"multi_worker"` (`MultiWorkerMirroredStrategy` from
            `$TF_CONFIG`) or `"tpu"` (see `keras_theseus.distribute.
            resolve_strategy`). `batch_size` is then the global batch.
            The returned teacher and student are plain one-device models.
    """

    method: str = "theseus"
    preset: str = DEFAULT_PRESET
    num_layers: int = 3
    width: float = 0.5
    sequence_length: int = 64
    batch_size: int = 32
    teacher_epochs: int = 1
    teacher_learning_rate: float = DEFAULT_TEACHER_LEARNING_RATE
    epochs: int = 1
    successor_epochs: int = 1
    learning_rate: float = 1e-4
    seed: int = 0
    jit_compile: object = "auto"
    cache_teacher: bool = True
    precision: str = "float32"
    strategy: object = None

    def validate(self):
        if self.method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}. Received: {self.method!r}")
        for name in ("num_layers", "sequence_length", "batch_size", "teacher_epochs", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int. Received: {value!r}")
        check_precision(self.precision)
        if self.strategy is not None and self.strategy not in STRATEGY_NAMES:
            raise ValueError(f"`strategy` must be None or one of {STRATEGY_NAMES}. "
                             f"Received: {self.strategy!r}")
        if self.jit_compile not in (True, False, "auto"):
            raise ValueError("`jit_compile` must be True, False or 'auto'. "
                             f"Received: {self.jit_compile!r}")
        if self.successor_epochs < 0:
            raise ValueError("`successor_epochs` must be >= 0. "
                             f"Received: {self.successor_epochs!r}")
        if not 0 < self.width <= 1:
            raise ValueError(f"`width` must be in (0, 1]. Received: {self.width!r}")
        for name in ("learning_rate", "teacher_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be > 0. Received: {getattr(self, name)!r}")
        return self


def check_against_teacher(config):
    """Refuse what the teacher's checkpoint cannot give, before any training.

    Reads the preset's config (no weights): the preset must exist,
    `sequence_length` must fit its positions, and `num_layers` may not
    exceed its depth and, for Theseus, must divide it.

    Raises:
        ValueError / FileNotFoundError: naming the field and what works.

    Example:
    ```python
    check_against_teacher(CompressionConfig(num_layers=4))  # ValueError: must divide 6
    ```
    """
    check_sequence_length(config.sequence_length, preset_max_positions(config.preset))
    total = preset_num_layers(config.preset)
    if config.num_layers > total:
        raise ValueError(f"`num_layers` must be at most the teacher's {total} layers "
                         f"({config.preset}). Received: {config.num_layers}")
    if config.method == "theseus" and total % config.num_layers:
        raise ValueError(
            f"`num_layers` must divide the teacher's {total} layers: Theseus replaces equal "
            f"modules (choose one of {successor_depths(total)}). "
            f"Received: {config.num_layers}")


@dataclasses.dataclass
class CompressionRun:
    """What `compress_classifier` returns.

    Attributes:
        teacher, student: fine-tuned keras-hub `BertTextClassifier`s.
        preprocessor: the tokenizer/packer both use.
        config: the `CompressionConfig`.
        wall_s: seconds spent per stage (`teacher`, `compress`).
        histories: `{stage: History}` (the teacher's is absent when cached).
    """

    teacher: keras.Model
    student: keras.Model
    preprocessor: object
    config: CompressionConfig
    wall_s: dict
    histories: dict


def compress_classifier(data, config=None, verbose="auto", checkpoint_dir=None, **overrides):
    """Fine-tune (or reuse) a teacher on `data`, then compress it.

    Args:
        data: a `TextClassificationData` (built-in loaders, `load_clue`).
        config: a `CompressionConfig`; keyword `overrides` replace fields.
        verbose: `fit` verbosity (1 = progress bars).
        checkpoint_dir: back up every training stage here (teacher,
            compression stages: weights, optimizer, schedule state, masks,
            data order) and, when called again with the same directory after
            an interruption, continue from the last finished epoch; finished
            stages are restored, not retrained (`fit_resumable`). The same
            seed then gives the result an uninterrupted run gives.

    Returns:
        `CompressionRun`.

    Example:
    ```python
    data = keras_theseus.datasets.load_movie_reviews()
    run = compress_classifier(data, method="theseus", num_layers=3)
    run.student.evaluate(data.tf_dataset("test", run.preprocessor))
    ```
    """
    config = dataclasses.replace(config or CompressionConfig(), **overrides).validate()
    check_against_teacher(config)
    precision = resolve_precision(config.precision)
    strategy = resolve_strategy(config.strategy)
    start = time.perf_counter()
    teacher, preprocessor, teacher_history = finetune_teacher(
        data, preset=config.preset, sequence_length=config.sequence_length,
        epochs=config.teacher_epochs, batch_size=config.batch_size,
        learning_rate=config.teacher_learning_rate, seed=config.seed,
        cache=config.cache_teacher, jit_compile=config.jit_compile, verbose=verbose,
        backup_dir=stage_dir(checkpoint_dir, "teacher"), precision=precision,
        strategy=strategy)
    wall = {"teacher": time.perf_counter() - start}
    # tf.data's seeded shuffle also depends on the global seed, which a
    # teacher fine-tune sets and a cache hit does not: set it here, so the
    # student trains on the same order whether the teacher was cached,
    # trained now or restored by a resumed run.
    keras.utils.set_random_seed(config.seed)
    train = data.tf_dataset("train", preprocessor, batch_size=config.batch_size,
                            seed=config.seed)
    dev = data.tf_dataset("dev", preprocessor, batch_size=2 * config.batch_size)
    histories = {"teacher": teacher_history} if teacher_history is not None else {}
    start = time.perf_counter()
    if config.method == "theseus":
        from keras_theseus.theseus import compress_with_theseus

        result = compress_with_theseus(
            teacher, train, dev, num_successor_layers=config.num_layers,
            replacing_epochs=config.epochs, successor_epochs=config.successor_epochs,
            learning_rate=config.learning_rate, seed=config.seed,
            jit_compile=config.jit_compile, verbose=verbose,
            backup_dir=stage_dir(checkpoint_dir, "theseus"), precision=precision,
            strategy=strategy)
        student = result.successor
        histories["replacing"] = result.replacing_history
        if result.successor_history is not None:
            histories["successor"] = result.successor_history
    elif config.method == "dynabert":
        from keras_theseus.dynabert import DEFAULT_DEPTHS
        from keras_theseus.dynabert import DEFAULT_WIDTHS
        from keras_theseus.dynabert import extract_subnetwork
        from keras_theseus.dynabert import train_dynabert

        total = teacher.backbone.num_layers
        if config.num_layers > total:
            raise ValueError(f"`num_layers`={config.num_layers} exceeds the teacher's {total}.")
        depth = config.num_layers / total
        result = train_dynabert(
            teacher, train, dev, widths=sorted({*DEFAULT_WIDTHS, config.width}, reverse=True),
            depths=sorted({*DEFAULT_DEPTHS, depth}, reverse=True),
            width_epochs=config.epochs, depth_epochs=config.epochs,
            learning_rate=config.learning_rate, jit_compile=config.jit_compile,
            verbose=verbose, backup_dir=stage_dir(checkpoint_dir, "dynabert"),
            precision=precision, strategy=strategy)
        student = extract_subnetwork(unreplicated(result.model), config.width, depth)
        histories["dynabert_w"] = result.width_history
        histories["dynabert"] = result.depth_history
    else:
        from keras_theseus.distill import distill_classifier

        student, history = distill_classifier(
            teacher, train, dev, num_layers=config.num_layers, epochs=config.epochs,
            learning_rate=config.learning_rate, jit_compile=config.jit_compile,
            verbose=verbose, temperature=2.0, kd_weight=1.0, label_weight=1.0,
            backup_dir=stage_dir(checkpoint_dir, "distill"), precision=precision,
            strategy=strategy)
        histories["distill"] = history
    wall["compress"] = time.perf_counter() - start
    # Evaluation, timing and export run on each worker's own copy: a
    # distributed model's `evaluate` would wait for every worker.
    teacher, student = unreplicated(teacher), unreplicated(student)
    for model in (teacher, student):
        compile_text_classifier(model, jit_compile=config.jit_compile)
    return CompressionRun(teacher=teacher, student=student, preprocessor=preprocessor,
                          config=config, wall_s=wall, histories=histories)


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def new_run_dir(output_dir, prefix, run_name=None, overwrite=False):
    """Create and return a fresh run directory; never reuse one silently.

    Without `run_name`, the directory is `<output_dir>/<prefix>-<NNN>` with
    the next free number. With `run_name`, an existing directory raises
    `FileExistsError` unless `overwrite=True` (then it is replaced).
    """
    os.makedirs(output_dir, exist_ok=True)
    if run_name is not None:
        path = os.path.join(output_dir, run_name)
        if os.path.exists(path):
            if not overwrite:
                raise FileExistsError(
                    f"{path} exists; pass --overwrite (overwrite=True) to replace it, or "
                    "leave out the run name to get a new numbered run directory.")
            shutil.rmtree(path)
        os.makedirs(path)
        return path
    prefix = _SAFE.sub("_", prefix)
    taken = [int(m.group(1)) for name in os.listdir(output_dir)
             if (m := re.fullmatch(re.escape(prefix) + r"-(\d+)", name))]
    number = max(taken, default=0) + 1
    while True:
        path = os.path.join(output_dir, f"{prefix}-{number:03d}")
        try:
            os.makedirs(path)  # atomic: two concurrent runs cannot share a directory
            return path
        except FileExistsError:
            number += 1
