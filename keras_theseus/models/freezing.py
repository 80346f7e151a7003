"""Freezing a model so that its variables stay out of every trainable list."""

import keras


def freeze(model):
    """Set `model.trainable = False` on the model, its sublayers and variables.

    Keras' TensorFlow backend skips an attribute assignment whose value is
    already the attribute's (`self.x = self.x`), and a model loaded from a
    `.keras` file whose config says `trainable: False` gets that flag before
    its sublayers exist. `model.trainable = False` is then a no-op and the
    loaded model's variables stay trainable: a trainer that wraps it lists
    them in `trainable_variables` and builds optimizer slots for them. The
    same skip stops the setter's walk at any nested sublayer already marked
    frozen, so this calls the setter itself on every layer, nested or not.

    Args:
        model: a `keras.layers.Layer` (usually a teacher model).

    Returns:
        `model`, frozen.

    Raises:
        TypeError: `model` is not a `keras.layers.Layer`.

    Example:

    ```python
    teacher = kt.models.freeze(keras.saving.load_model("teacher.keras"))
    assert not teacher.trainable_weights
    ```
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError("`model` must be a keras.layers.Layer (e.g. a keras.Model). "
                        f"Received: {type(model).__name__}")
    # `_flatten_layers` is Keras' own walk (what `Layer.trainable`'s setter
    # would reach if it were not skipped).
    for layer in model._flatten_layers(include_self=True, recursive=True):
        keras.layers.Layer.trainable.fset(layer, False)
    return model
