"""Models and strategy scopes: check that they match, or rebuild them to match."""

import tensorflow as tf

from keras_theseus.models.cloning import rebuild_model


def _tf_variable(variable):
    # A Keras variable on the TensorFlow backend wraps a tf.Variable
    # (a DistributedVariable when made in a strategy's scope).
    return getattr(variable, "value", variable)


def variables_outside_scope(model, strategy):
    """Paths of `model`'s variables not created in `strategy`'s scope.

    Example:
    ```python
    variables_outside_scope(teacher, strategy)   # [] once `replicate`d
    ```
    """
    return [variable.path for variable in model.variables
            if not strategy.extended.variable_created_in_scope(_tf_variable(variable))]


def check_built_in_scope(strategy, **models):
    """Raise if a model's variables were not created in `strategy`'s scope.

    A model built outside the scope has one copy of each variable on one
    device; under the strategy, TensorFlow fails later with an error about
    optimizer slots or replica contexts that names neither model nor cause.

    Args:
        strategy: a `tf.distribute.Strategy`.
        **models: the models to check, by the name the error should use.

    Raises:
        ValueError: naming the model, its first outside variables and the
            fix.

    Example:
    ```python
    with strategy.scope():
        distiller = Distiller(teacher, student)   # teacher built before the scope
    distiller.fit(train)   # ValueError: `teacher` ... was built outside the scope ...
    ```
    """
    for name, model in models.items():
        if model is None:
            continue
        outside = variables_outside_scope(model, strategy)
        if outside:
            shown = ", ".join(outside[:3]) + (", ..." if len(outside) > 3 else "")
            raise ValueError(
                f"`{name}` ({model.name}) was built outside the scope of the "
                f"{type(strategy).__name__} it trains under: {len(outside)} of its variables "
                f"({shown}) are not distributed. Build it inside `with strategy.scope():`, "
                "load it there (`keras.saving.load_model`), or pass it to a recipe with "
                "`strategy=`, which rebuilds it in the scope with its weights "
                "(`keras_theseus.distribute.replicate`).")


def replicate(model, strategy):
    """`model` with its variables in `strategy`'s scope (a copy if they were not).

    Args:
        model: a built `keras.Model`.
        strategy: a `tf.distribute.Strategy`, or None (returns `model`).

    Example:
    ```python
    strategy = tf.distribute.MirroredStrategy()
    teacher = replicate(keras.saving.load_model("teacher.keras"), strategy)
    ```
    """
    if strategy is None or not variables_outside_scope(model, strategy):
        return model
    with strategy.scope():
        return rebuild_model(model)


def unreplicated(model):
    """`model` with plain one-device variables (a copy if they were distributed).

    Use it after training under a strategy for work that only one worker
    does: evaluation with `predict`/`evaluate` on the chief, timing,
    export. A distributed model's `evaluate` under a multi-worker strategy
    waits for every worker to join.

    Example:
    ```python
    student = unreplicated(result.successor)
    student.evaluate(test)   # on the chief alone
    ```
    """
    if tf.distribute.has_strategy():
        raise RuntimeError("`unreplicated` must be called outside any strategy scope.")
    if not variables_outside_scope(model, tf.distribute.get_strategy()):
        return model
    return rebuild_model(model)
