import numpy as np

from keras_theseus.distill import losses

RNG = np.random.default_rng(0)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_soft_target_kl_matches_numpy_batchmean_times_t2():
    t, s = RNG.normal(size=(5, 4)) * 3, RNG.normal(size=(5, 4)) * 3
    for temperature in (1.0, 2.0, 4.0):
        lt, ls = _log_softmax(t / temperature), _log_softmax(s / temperature)
        expected = (np.exp(lt) * (lt - ls)).sum(-1).mean() * temperature**2
        got = losses.soft_target_kl(t.astype("float32"), s.astype("float32"), temperature)
        np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_soft_target_kl_token_mask_and_zero_at_equality():
    t = RNG.normal(size=(2, 3, 6)).astype("float32")
    s = RNG.normal(size=(2, 3, 6)).astype("float32")
    mask = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    lt, ls = _log_softmax(t / 2), _log_softmax(s / 2)
    per_token = (np.exp(lt) * (lt - ls)).sum(-1)
    expected = (per_token * mask).sum() / mask.sum() * 4
    np.testing.assert_allclose(float(losses.soft_target_kl(t, s, 2.0, mask)), expected, rtol=1e-5)
    assert abs(float(losses.soft_target_kl(t, t, 2.0))) < 1e-6


def test_cosine_embedding_loss_matches_numpy_on_real_tokens():
    t = RNG.normal(size=(2, 4, 8)).astype("float32")
    s = RNG.normal(size=(2, 4, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], "float32")
    cos = (t * s).sum(-1) / (np.linalg.norm(t, axis=-1) * np.linalg.norm(s, axis=-1))
    expected = ((1 - cos) * mask).sum() / mask.sum()
    np.testing.assert_allclose(float(losses.cosine_embedding_loss(t, s, mask)), expected, rtol=1e-5)
    # Scale-invariant, zero for parallel states.
    assert abs(float(losses.cosine_embedding_loss(t, 3 * t, mask))) < 1e-6


def test_masked_mse_ignores_padding():
    t = RNG.normal(size=(2, 4, 8)).astype("float32")
    s = RNG.normal(size=(2, 4, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], "float32")
    expected = (((s - t) ** 2).mean(-1) * mask).sum() / mask.sum()
    np.testing.assert_allclose(float(losses.masked_mse(t, s, mask)), expected, rtol=1e-5)
    s2 = s.copy()
    s2[0, 3] += 100.0  # a padded position changes nothing
    np.testing.assert_allclose(float(losses.masked_mse(t, s2, mask)), expected, rtol=1e-5)


def test_attention_mse_over_real_query_key_pairs():
    t = RNG.normal(size=(2, 3, 4, 4)).astype("float32")
    s = RNG.normal(size=(2, 3, 4, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], "float32")
    pair = mask[:, :, None] * mask[:, None, :]
    expected = (((s - t) ** 2).mean(1) * pair).sum() / pair.sum()
    np.testing.assert_allclose(float(losses.attention_mse(t, s, mask)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(losses.attention_mse(t, s)), ((s - t) ** 2).mean(), rtol=1e-5)


def test_sparse_cross_entropy_weighted():
    logits = RNG.normal(size=(3, 5)).astype("float32")
    labels = np.array([0, 3, 1])
    weights = np.array([1.0, 0.0, 1.0], "float32")
    nll = -_log_softmax(logits)[np.arange(3), labels]
    expected = (nll * weights).sum() / weights.sum()
    got = losses.sparse_cross_entropy(labels, logits, weights)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_soft_cross_entropy_is_kl_plus_teacher_entropy():
    t, s = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    log_pt, log_ps = _log_softmax(t), _log_softmax(s)
    expected = -(np.exp(log_pt) * log_ps).sum(-1).mean()
    assert abs(float(losses.soft_cross_entropy(t, s)) - expected) < 1e-5
    entropy = -(np.exp(log_pt) * log_pt).sum(-1).mean()
    assert abs(float(losses.soft_target_kl(t, s)) + entropy - expected) < 1e-5
