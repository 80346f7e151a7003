"""Training and inference precision: Keras dtype policies, chosen per device.

keras_theseus speaks of *precision* where Keras speaks of a dtype policy:
`"float32"`, `"mixed_bfloat16"` (variables float32, matmuls and activations
bfloat16) or `"mixed_float16"` (the same in float16, with loss scaling).
A model's precision is its backbone's dtype policy; every layer that the
toolkit builds from a model (Theseus successors, layer-dropped and
extracted students, DynaBERT sub-networks, search candidates) inherits it,
so one `with_precision` call on the teacher sets a whole recipe's
precision.

What stays float32 under a mixed policy, and why:
- every variable (the optimizer updates float32 master weights);
- LayerNorm statistics: Keras' `ops.layer_normalization` computes mean and
  variance in at least float32 and casts only its output;
- every loss: Keras losses convert predictions to float32, and the
  distillation terms in `keras_theseus.distill.losses` cast both logits
  before the temperature softmax, because `exp(z / T)` and the KL's
  log-ratios lose most of their digits in bfloat16's 8-bit mantissa;
- Theseus' replacement probability and its Bernoulli draw (a float32
  variable compared with a float32 uniform: a bfloat16 p would round
  0.3006 to 0.3008);
- DynaBERT's importance scores (accumulated gradients, float32).
Attention softmax runs in the compute dtype, as in PyTorch's CPU bf16
autocast; oneDNN accumulates it in float32 internally.
"""

import functools
import os

import keras
import tensorflow as tf

from keras_theseus.models.cloning import rebuild_model

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
PRECISION_CHOICES = ("auto",) + PRECISIONS


def check_precision(precision, name="precision"):
    """Validate a precision name (or a Keras `DTypePolicy`); return its name.

    Args:
        precision: one of `PRECISIONS`, `"auto"`, or a
            `keras.DTypePolicy` whose name is one of `PRECISIONS`.
        name: the argument's name in the error message.

    Raises:
        ValueError: naming `name` and the allowed values.

    Example:
    ```python
    check_precision("mixed_bfloat16")   # "mixed_bfloat16"
    check_precision("bf16")             # ValueError: `precision` must be one of ...
    ```
    """
    value = getattr(precision, "name", precision)
    if isinstance(precision, keras.DTypePolicy) and value in PRECISIONS:
        return value
    if isinstance(value, str) and value in PRECISION_CHOICES:
        return value
    raise ValueError(f"`{name}` must be one of {PRECISION_CHOICES}. Received: {precision!r}")


@functools.lru_cache(maxsize=None)
def fast_bfloat16_device():
    """Whether the device TF computes on runs bfloat16 matmuls natively.

    True on a TPU, on an NVIDIA GPU of compute capability 8.0 or newer
    (A100, H100, ...), and on a CPU with AMX-BF16 or AVX512-BF16 (Intel
    Sapphire Rapids and later, AMD Zen 4 and later), where oneDNN runs
    bfloat16 matmuls at about 3.6× the float32 rate (measured on this
    project's 2-core AMX machine: 1,206 vs 337 GFLOP/s at 2048²).
    """
    if tf.config.list_logical_devices("TPU"):
        return True
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get(
            "compute_capability") or (0, 0)
        return tuple(capability) >= (8, 0)
    return bool(_cpu_flags() & {"amx_bf16", "avx512_bf16"})


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision):
    """The concrete precision for `precision`; `"auto"` picks by device.

    `"auto"` is `"mixed_bfloat16"` where `fast_bfloat16_device()` (AMX /
    AVX512-BF16 CPUs, Ampere-or-newer GPUs, TPUs), else `"float32"`. It
    never picks `"mixed_float16"`: bfloat16 has float32's range, so it
    needs no loss scaling and trains what float32 trains.
    `$KERAS_THESEUS_PRECISION` overrides what `"auto"` picks.
    `None` stays None (keep the model's own policy).

    Example:
    ```python
    resolve_precision("auto")   # "mixed_bfloat16" on an AMX CPU
    ```
    """
    if precision is None:
        return None
    precision = check_precision(precision)
    if precision != "auto":
        return precision
    forced = os.environ.get("KERAS_THESEUS_PRECISION")
    if forced:
        forced = check_precision(forced, "$KERAS_THESEUS_PRECISION")
        if forced != "auto":
            return forced
    return "mixed_bfloat16" if fast_bfloat16_device() else "float32"


def model_dtype_policy(model):
    """The dtype policy a model computes in: its backbone's, else its own.

    keras-hub tasks keep the policy on their backbone (the task itself
    reports the global default), so read it there.
    """
    backbone = getattr(model, "backbone", None)
    return getattr(backbone, "dtype_policy", None) or model.dtype_policy


def model_precision(model):
    """The precision (dtype policy name) a model computes in: its backbone's.

    Example:
    ```python
    model_precision(teacher)   # "float32"
    ```
    """
    return model_dtype_policy(model).name


def with_precision(model, precision, float32_residual=None):
    """`model` computing under another precision, with the same weights.

    Rebuilds the model from its config with every float dtype policy
    replaced by `precision` and copies the weights (variables are float32
    under every mixed policy, so they transfer exactly). A model already in
    `precision` is returned as is; `None` returns `model` unchanged. The
    copy is not compiled.

    Works for every model the toolkit trains or returns: keras-hub
    `BertTextClassifier`s (teachers, students), `TheseusClassifier`,
    `DynaBertClassifier` and the backbones alone.

    Args:
        model: a built Keras model.
        precision: one of `PRECISIONS`, `"auto"` (see `resolve_precision`)
            or None.
        float32_residual: None (keep the model's setting), True or False:
            under a mixed policy, keep the residual stream (embeddings,
            LayerNorms, dropouts, residual sums) in float32 as PyTorch's
            autocast does, and run only the matmuls in half precision (see
            `ExactGeluBertBackbone`). Needs a backbone of the toolkit.

    Example:
    ```python
    teacher16 = with_precision(teacher, "mixed_bfloat16")   # ~2x faster on AMX/A100
    student32 = with_precision(student16, "float32")          # e.g. for TFLite
    autocast = with_precision(teacher, "mixed_bfloat16", float32_residual=True)
    ```
    """
    precision = resolve_precision(precision)
    if float32_residual is not None and not isinstance(float32_residual, bool):
        raise ValueError("`float32_residual` must be None, True or False. Received: "
                         f"{float32_residual!r}")
    # A model that cannot keep a float32 residual stream (not on a toolkit
    # backbone) has Keras' layout: asking for that is no change.
    residual_unchanged = float32_residual is None or (
        model_float32_residual(model) or False) == float32_residual
    if residual_unchanged and (precision is None or model_precision(model) == precision):
        return model
    if not residual_unchanged and model_float32_residual(model) is None:
        raise ValueError("`float32_residual` needs a model on a keras_theseus backbone "
                         "(`ExactGeluBertBackbone`, a Theseus or DynaBERT model); "
                         f"{type(model).__name__} has none.")

    def rewrite(config):
        if precision is not None:
            config = _replace_policies(config, precision)
        if not residual_unchanged:
            config = _replace_key(config, "float32_residual", float32_residual)
        return config

    return rebuild_model(model, rewrite)


def model_float32_residual(model):
    """Whether `model` keeps its residual stream in float32; None if it cannot.

    Example:
    ```python
    model_float32_residual(with_precision(teacher, "mixed_bfloat16", True))   # True
    ```
    """
    for owner in (getattr(model, "backbone", None), model):
        value = getattr(owner, "float32_residual", None)
        if value is not None:
            return value
    return None


def _replace_key(node, key, value):
    """Every `key` of every dict in a serialized model set to `value`."""
    if isinstance(node, list):
        return [_replace_key(item, key, value) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: (value if k == key else _replace_key(v, key, value)) for k, v in node.items()}


_FLOAT_POLICIES = {"float32", "mixed_bfloat16", "mixed_float16", "bfloat16", "float16"}


def _replace_policies(node, precision):
    """Every float dtype policy in a serialized model, replaced by `precision`."""
    if isinstance(node, list):
        return [_replace_policies(item, precision) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("class_name") == "InputLayer":
        return node  # its `dtype` is the input tensor's dtype, not a policy
    if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") \
            and node.get("config", {}).get("name") in _FLOAT_POLICIES:
        return {**node, "config": {**node["config"], "name": precision}}
    out = {}
    for key, value in node.items():
        if key == "preprocessor":
            out[key] = value  # tokenizers and packers compute no floats
        elif key == "dtype" and isinstance(value, str) and value in _FLOAT_POLICIES:
            out[key] = precision
        else:
            out[key] = _replace_policies(value, precision)
    return out
