"""AdamW whose per-variable update is TensorFlow's fused Adam kernel."""

import keras
import tensorflow as tf


def _handle(variable):
    # A Keras variable wraps a tf.Variable; the optimizer may pass either.
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return getattr(variable, "handle", None)


@keras.saving.register_keras_serializable(package="keras_theseus")
class FusedAdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW`, updating each variable with one fused kernel.

    The same optimizer (arguments, slot variables `momentums` /
    `velocities`, config, checkpoints) and the same arithmetic as Keras'
    AdamW: decoupled weight decay, then Adam's
    `m += (g - m)(1 - β1)`, `v += (g² - v)(1 - β2)`,
    `w -= lr·√(1 - β2ᵗ)/(1 - β1ᵗ) · m / (√v + ε)`. Keras spells the Adam step
    as about ten element-wise ops per variable, each a pass over memory;
    TensorFlow's `ResourceApplyAdam` does it in one pass. Why it is ours:
    measured on this project's 2-core machine, one update of MiniLM-L6's
    22.4M parameters took 370 ms with Keras' AdamW and 159 ms fused (both
    under the same load), about a sixth of a b32×64 fine-tune step.

    Keras' own update runs for what the kernel does not cover: AMSGrad,
    non-float32 variables, and steps under a `tf.distribute` strategy.

    Example:
    ```python
    model.compile(optimizer=FusedAdamW(learning_rate=5e-5, weight_decay=0.01), loss=...)
    ```
    """

    def update_step(self, gradient, variable, learning_rate):
        if (self.amsgrad or variable.dtype != "float32" or tf.distribute.has_strategy()
                or _handle(variable) is None):
            if isinstance(gradient, tf.IndexedSlices):
                # Keras 3.15's Adam squares an embedding's IndexedSlices
                # gradient slice by slice and scatter-adds each slice, so a
                # row that occurs k times in the batch gets v from the sum
                # of the k squares, not from the square of the summed
                # gradient (the first step then moves a row by up to
                # sqrt(k)·lr). Token ids repeat in every batch; summing the
                # slices first gives Adam's update, as the fused kernel does.
                gradient = tf.convert_to_tensor(gradient)
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        step = tf.cast(self.iterations + 1, "float32")
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(m), v=_handle(v),
            beta1_power=tf.pow(tf.cast(self.beta_1, "float32"), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, "float32"), step),
            lr=tf.cast(learning_rate, "float32"),
            beta1=tf.cast(self.beta_1, "float32"), beta2=tf.cast(self.beta_2, "float32"),
            epsilon=tf.cast(self.epsilon, "float32"),
            grad=tf.cast(tf.convert_to_tensor(gradient), "float32"))
