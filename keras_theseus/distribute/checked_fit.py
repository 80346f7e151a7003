"""A `fit` that first checks the trainer's models against its strategy."""

from keras_theseus.distribute import keras_patches
from keras_theseus.distribute.replication import check_built_in_scope


class StrategyCheckedFit:
    """Mixin for the toolkit's trainers (`TheseusClassifier`, `Distiller`, `DynaBertTrainer`).

    A trainer built in a `tf.distribute` strategy's scope wraps models that
    may have been built before it (a teacher loaded outside the scope).
    `fit` then names the model that is outside the scope instead of failing
    in the first step with TensorFlow's replica-context error, and applies
    the toolkit's fixes to Keras' `fit` under a strategy (`keras_patches`).
    """

    def _models_in_scope(self):
        """`{name: model}` whose variables must live in the trainer's strategy."""
        return {"model": self}

    def fit(self, *args, **kwargs):
        strategy = self._distribute_strategy
        if strategy is not None:
            check_built_in_scope(strategy, **self._models_in_scope())
            keras_patches.install()
        return super().fit(*args, **kwargs)
