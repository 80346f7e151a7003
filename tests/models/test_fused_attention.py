import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_theseus.models.fused_attention import FusedSelfAttention


@pytest.mark.parametrize("policy,atol", [("float32", 1e-5), ("mixed_bfloat16", 0.1),
                                         ("mixed_float16", 0.02)])
def test_equals_keras_attention_with_padding(policy, atol):
    keras.utils.set_random_seed(0)
    kwargs = dict(num_heads=3, key_dim=8, output_shape=16, dtype=policy)
    fused, reference = FusedSelfAttention(**kwargs), keras.layers.MultiHeadAttention(**kwargs)
    for layer in (fused, reference):
        layer.build((2, 5, 16), (2, 5, 16))
    reference.set_weights([w * 3 for w in fused.get_weights()])
    fused.set_weights(reference.get_weights())
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 16)).astype("float32"))
    mask = np.ones((2, 5, 5), bool)
    mask[1, :, 3:] = False   # the second sequence has 2 padding tokens
    got = tf.cast(fused(query=x, value=x, attention_mask=mask), "float32").numpy()
    want = tf.cast(reference(query=x, value=x, attention_mask=mask), "float32").numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=atol)
    # Padding keys get no weight: changing them leaves the real rows alone.
    y = x.numpy()
    y[1, 3:] = 100.0
    moved = tf.cast(fused(query=tf.constant(y), value=tf.constant(y), attention_mask=mask),
                    "float32").numpy()
    np.testing.assert_allclose(moved[1, :3], got[1, :3], atol=atol)


def test_other_calls_take_keras_path():
    layer = FusedSelfAttention(num_heads=2, key_dim=4)
    q = tf.ones((1, 3, 8))
    kv = tf.ones((1, 4, 8))
    out, scores = layer(query=q, value=kv, return_attention_scores=True)
    assert out.shape == (1, 3, 8) and scores.shape == (1, 2, 3, 4)
