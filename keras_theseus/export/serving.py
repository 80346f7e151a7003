"""TF Serving export: a versioned SavedModel with named int32 and text signatures."""

import os
import re

import keras
import keras_hub
import tensorflow as tf

from keras_theseus.export.checks import not_exportable
from keras_theseus.models.precision import with_precision

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def serving_path(export_dir, model_name, version=1):
    """`<export_dir>/<model_name>/<version>`, TF Serving's model layout.

    Args:
        export_dir: the model base path's parent (`--model_base_path` is
            `<export_dir>/<model_name>`).
        model_name: the name clients use (`/v1/models/<model_name>`).
        version: a positive int, or `"next"` for one more than the highest
            existing version (1 if none).

    Returns:
        The version directory path. Raises `FileExistsError` if it exists.
    """
    if not isinstance(model_name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", model_name):
        raise ValueError("`model_name` must be a non-empty name of letters, digits, '_', '-' "
                         f"or '.'. Received: {model_name!r}")
    base = os.path.join(export_dir, model_name)
    existing = sorted(int(d) for d in (os.listdir(base) if os.path.isdir(base) else [])
                      if d.isdigit())
    if version == "next":
        version = existing[-1] + 1 if existing else 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int or 'next'. Received: {version!r}")
    path = os.path.join(base, str(version))
    if os.path.exists(path):
        raise FileExistsError(
            f"{path} exists; TF Serving versions are immutable and keras_theseus never "
            f"overwrites them. Pass version='next' (would be {existing[-1] + 1}) or another "
            "version number.")
    return path


def _max_sequence_length(model):
    """The longest input of a keras-hub text classifier (the only kind exported)."""
    if not isinstance(model, keras_hub.models.BertTextClassifier):
        raise not_exportable(model, "a keras_hub.models.BertTextClassifier")
    return model.backbone.max_sequence_length


def export_for_serving(model, export_dir, model_name="keras_theseus", version=1,
                       preprocessor=None, jit_compile=False, verbose=False, precision=None):
    """Export a text classifier for TF Serving.

    Writes a SavedModel at `<export_dir>/<model_name>/<version>/` with:

    - `serving_default`: int32 `token_ids`, `segment_ids`, `padding_mask`
      (each `(batch, length)`, dynamic batch and length up to the model's
      `max_sequence_length`; `padding_mask` is 1 for real tokens) returning
      `logits` and `probabilities` `(batch, num_classes)`;
    - `serve_text` (when `preprocessor` is given): a string tensor `text`
      `(batch,)` tokenized in the graph by the keras-hub preprocessor, same
      outputs. Its WordPiece ops come from TF Text, so TF Serving needs a
      build that links TF Text ops (the stock `tensorflow/serving` image does
      not; `serving_default` runs everywhere).

    Args:
        model: a keras-hub `BertTextClassifier` (any student keras_theseus returns).
        export_dir: parent of the model base path.
        model_name: the served model name.
        version: positive int or `"next"`; an existing version directory is
            never overwritten (`FileExistsError`).
        preprocessor: optional keras-hub `BertTextClassifierPreprocessor`
            (single sentences) for the `serve_text` signature.
        jit_compile: compile the serving functions with XLA. Off by default:
            not every TF Serving build includes the XLA JIT.
        verbose: print Keras' export summary.
        precision: the precision the served graph computes in (see
            `keras_theseus.models.with_precision`); None keeps the model's
            own. The signatures take int32 ids and return float32 logits
            and probabilities in every precision. On an AMX / AVX512-BF16
            CPU a `"mixed_bfloat16"` graph served 1.8× faster at batch 32
            and 0.95× at batch 1 (docs/precision.md); elsewhere, and for
            batch-1 serving, prefer `"float32"`.

    Returns:
        The version directory written.

    Example:
    ```python
    path = export_for_serving(student, "serving", "sentiment", preprocessor=preprocessor)
    # tensorflow_model_server --rest_api_port=8501 --model_name=sentiment \\
    #     --model_base_path=$PWD/serving/sentiment
    ```
    """
    model = with_precision(model, precision)
    max_length = _max_sequence_length(model)
    path = serving_path(export_dir, model_name, version)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def outputs(logits):
        logits = tf.cast(logits, tf.float32)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(jit_compile=jit_compile, autograph=False)
    def serve(token_ids, segment_ids, padding_mask):
        with tf.control_dependencies([tf.debugging.assert_less_equal(
                tf.shape(token_ids)[1], max_length,
                message=f"sequences longer than the model's maximum of {max_length} tokens")]):
            token_ids = tf.identity(token_ids)
        x = {"token_ids": token_ids, "segment_ids": segment_ids,
             "padding_mask": tf.cast(padding_mask, tf.bool)}
        return outputs(model(x, training=False))

    archive.add_endpoint("serving_default", serve, input_signature=[spec, spec, spec])
    if preprocessor is not None:
        if not isinstance(preprocessor, keras_hub.models.BertTextClassifierPreprocessor):
            raise TypeError("`preprocessor` must be a keras_hub.models."
                            "BertTextClassifierPreprocessor. Received: "
                            f"{type(preprocessor).__name__}")
        if not preprocessor.built:
            # keras-hub preprocessors hold no weights; building only marks them ready.
            preprocessor.build(None)
        archive.track(preprocessor)

        @tf.function(autograph=False)
        def serve_text(text):
            x = preprocessor(text)
            return serve(tf.cast(x["token_ids"], tf.int32), tf.cast(x["segment_ids"], tf.int32),
                         tf.cast(x["padding_mask"], tf.int32))

        archive.add_endpoint("serve_text", serve_text,
                             input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    archive.write_out(path, verbose=verbose)
    return path
