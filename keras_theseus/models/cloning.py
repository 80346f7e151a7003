"""Rebuild a model from its config, with its weights."""

import keras


def rebuild_model(model, config_transform=None):
    """A new model made from `model`'s serialized config, with its weights.

    The variables are created where this is called: in the current dtype
    policy's precision if `config_transform` changes it (`with_precision`),
    inside a `tf.distribute` strategy's scope (`replicate`), or outside any
    scope (`unreplicated`). Every weight, trainable or not (Theseus'
    replacement step, DynaBERT's masks), is copied. The copy is not compiled.

    Args:
        model: a built `keras.Model`.
        config_transform: optional function mapping the serialized config to
            the one to build.

    Example:
    ```python
    with strategy.scope():
        teacher_in_scope = rebuild_model(teacher)
    ```
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: {type(model).__name__}")
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    if config_transform is not None:
        config = config_transform(config)
    copy = keras.saving.deserialize_keras_object(config)
    if not copy.built:
        copy.build_from_config(config.get("build_config") or {})
    copy.set_weights(model.get_weights())
    return copy
