"""Trainers with a custom `compile()` that come back compiled from a `.keras` file."""

import keras


class CompiledOnLoad:
    """Mixin for models that override `compile()`: `load_model` recompiles them.

    Keras' `Model.compile_from_config` refuses, with a warning, to call a
    `compile()` that a subclass overrides, so a saved `Distiller` or
    `DynaBertTrainer` used to load uncompiled and drop its optimizer state
    ("Skipping variable loading for optimizer"). The toolkit's overrides only
    add checks (they reject a `loss`) and accept every key Keras saves, so
    they are safe to call with the saved configuration.

    Example:

    ```python
    distiller.compile(optimizer="adam")
    distiller.fit(x, y, epochs=1)
    distiller.save("distiller.keras")
    loaded = keras.saving.load_model("distiller.keras")
    loaded.fit(x, y, epochs=1)   # same optimizer, its step count and moments
    ```
    """

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            # Create the optimizer's variables so that the saved ones load.
            self.optimizer.build(self.trainable_variables)
