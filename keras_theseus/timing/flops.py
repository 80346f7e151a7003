"""Floating-point operations of one forward pass."""

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def count_flops(model, batch_size=1, sequence_length=128):
    """FLOPs of one inference pass of a BERT-style model at a fixed shape.

    Traces `model(inputs, training=False)` for int32 `token_ids`,
    `segment_ids`, `padding_mask` of shape `(batch_size, sequence_length)`,
    freezes the graph and counts float operations with TensorFlow's
    profiler (a multiply-add counts 2). Device independent.

    Args:
        model: a keras-hub BERT backbone or task model (or any Keras model
            taking those three inputs).
        batch_size, sequence_length: the shape to count at.

    Returns:
        int, the number of floating-point operations.

    Example:
    ```python
    count_flops(teacher) / count_flops(student)   # FLOPs ratio at b1×128
    ```
    """
    if batch_size < 1 or sequence_length < 1:
        raise ValueError("`batch_size` and `sequence_length` must be >= 1. Received: "
                         f"{batch_size}, {sequence_length}")
    spec = {name: tf.TensorSpec([batch_size, sequence_length], tf.int32, name=name)
            for name in INPUT_NAMES}
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)
