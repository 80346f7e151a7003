"""TFLite (LiteRT) and ONNX export of int-input text classifiers.

Both go through Keras' own `model.export(format=...)` (the TFLite converter
and tf2onnx underneath); this module adds the checks a user needs: never
overwrite a file, make sure the model has been called, dynamic-range
quantization as one switch, and a comparison with `predict`.
"""

import os

import numpy as np
import tensorflow as tf

from keras_theseus.export.serving import _max_sequence_length
from keras_theseus.models.precision import with_precision

QUANTIZATION = (None, "dynamic_range")


def _prepare(model, path, suffix, overwrite):
    max_length = _max_sequence_length(model)
    if not str(path).endswith(suffix):
        raise ValueError(f"`path` must end with '{suffix}'. Received: {path!r}")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    # TFLite and ONNX Runtime CPU kernels are float32 (or int8): a model
    # trained in mixed_bfloat16 / mixed_float16 is exported in float32. Its
    # variables are float32 already, so nothing is rounded.
    model = with_precision(model, "float32")
    # Keras exports need a model that has been called once (it traces the
    # input structure from that call).
    probe = min(4, max_length)
    model({"token_ids": np.zeros((1, probe), "int32"),
           "segment_ids": np.zeros((1, probe), "int32"),
           "padding_mask": np.ones((1, probe), "int32")}, training=False)
    return model


def export_tflite(model, path, quantization=None, overwrite=False):
    """Write a `.tflite` (LiteRT) flatbuffer of a text classifier.

    Inputs are int32 `token_ids`, `segment_ids`, `padding_mask` with dynamic
    batch and length (signature `serving_default`); the output is the logits.

    Args:
        model: a keras-hub `BertTextClassifier`.
        path: file ending in `.tflite`.
        quantization: `None` (float32) or `"dynamic_range"` (int8 weights,
            float activations: about 4× smaller; check the accuracy delta).
            A model trained in a mixed precision is exported in float32.
        overwrite: replace an existing file.

    Returns:
        `path`.

    Example:
    ```python
    export_tflite(student, "student.tflite")
    export_tflite(student, "student_int8.tflite", quantization="dynamic_range")
    ```
    """
    if quantization not in QUANTIZATION:
        raise ValueError(f"`quantization` must be one of {QUANTIZATION}. "
                         f"Received: {quantization!r}")
    model = _prepare(model, path, ".tflite", overwrite)
    kwargs = {}
    if quantization == "dynamic_range":
        kwargs["optimizations"] = [tf.lite.Optimize.DEFAULT]
    model.export(path, format="litert", verbose=False, **kwargs)
    return path


def export_onnx(model, path, opset_version=None, overwrite=False):
    """Write an ONNX model of a text classifier (via tf2onnx).

    Needs `pip install keras-theseus[export]` (tf2onnx, onnx, onnxruntime).
    Inputs are int32 `token_ids`, `segment_ids`, `padding_mask` with dynamic
    batch and length; the output is the logits. A model trained in a mixed
    precision is exported in float32 (ONNX Runtime's CPU kernels).

    Args:
        model: a keras-hub `BertTextClassifier`.
        path: file ending in `.onnx`.
        opset_version: ONNX opset, default tf2onnx's.
        overwrite: replace an existing file.

    Example:
    ```python
    export_onnx(student, "student.onnx")
    ```
    """
    try:
        import tf2onnx  # noqa: F401
    except ImportError as error:
        raise ImportError("ONNX export needs tf2onnx: pip install 'keras-theseus[export]'"
                          ) from error
    model = _prepare(model, path, ".onnx", overwrite)
    model.export(path, format="onnx", verbose=False, opset_version=opset_version)
    return path


def tflite_predict(path, inputs):
    """Logits of a `.tflite` classifier for a batch dict of int inputs."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    outputs = runner(**{k: np.asarray(v, "int32") for k, v in inputs.items()})
    return next(iter(outputs.values()))


def onnx_predict(path, inputs):
    """Logits of an `.onnx` classifier (onnxruntime, CPU) for a batch dict."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: np.asarray(inputs[i.name], "int32")
                              for i in session.get_inputs()})[0]
