"""Freezing a model so that its variables stay out of every trainable list."""

import keras


def freeze(model):
    """Set `model.trainable = False` on the model, its sublayers and variables.

    Keras' TensorFlow backend skips an attribute assignment whose value is
    already the attribute's (`self.x = self.x`), and a model loaded from a
    `.keras` file whose config says `trainable: False` gets that flag before
    its sublayers exist. `model.trainable = False` is then a no-op and the
    loaded model's variables stay trainable: a trainer that wraps it lists
    them in `trainable_variables` and builds optimizer slots for them. This
    calls the setter itself, which walks the sublayers.

    Args:
        model: a `keras.layers.Layer` (usually a teacher model).

    Returns:
        `model`, frozen.

    Example:

    ```python
    teacher = freeze(keras.saving.load_model("teacher.keras"))
    assert not teacher.trainable_weights
    ```
    """
    keras.layers.Layer.trainable.fset(model, False)
    return model
