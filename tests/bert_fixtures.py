"""Tiny HF-format BERT checkpoints and an independent numpy BERT forward pass."""

import json
import math
import os

import numpy as np

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    "the", "a", "movie", "was", "great", "bad", "good", "terrible", "fun", "boring",
    "plot", "acting", "i", "loved", "hated", "it", ".", "!", "very", "not",
] + [f"tok{i}" for i in range(35)]


def write_hf_checkpoint(directory, num_layers=2, hidden=32, heads=4, intermediate=64,
                        max_positions=40, hidden_act="gelu", seed=0, lowercase=True,
                        vocabulary=None):
    """Write a random BERT checkpoint in Hugging Face format; return its config.

    `vocabulary` (a token list starting with the special tokens) replaces
    the tiny English one.
    """
    vocabulary = list(vocabulary or TINY_VOCAB)
    rng = np.random.default_rng(seed)
    from safetensors.numpy import save_file

    def w(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype("float32")

    V = len(vocabulary)
    t = {
        "embeddings.word_embeddings.weight": w(V, hidden),
        "embeddings.position_embeddings.weight": w(max_positions, hidden),
        "embeddings.token_type_embeddings.weight": w(2, hidden),
        "embeddings.LayerNorm.weight": 1 + w(hidden, scale=0.05),
        "embeddings.LayerNorm.bias": w(hidden, scale=0.05),
        "pooler.dense.weight": w(hidden, hidden),
        "pooler.dense.bias": w(hidden),
    }
    for i in range(num_layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            t[p + f"attention.self.{name}.weight"] = w(hidden, hidden)
            t[p + f"attention.self.{name}.bias"] = w(hidden)
        t[p + "attention.output.dense.weight"] = w(hidden, hidden)
        t[p + "attention.output.dense.bias"] = w(hidden)
        t[p + "attention.output.LayerNorm.weight"] = 1 + w(hidden, scale=0.05)
        t[p + "attention.output.LayerNorm.bias"] = w(hidden, scale=0.05)
        t[p + "intermediate.dense.weight"] = w(intermediate, hidden)
        t[p + "intermediate.dense.bias"] = w(intermediate)
        t[p + "output.dense.weight"] = w(hidden, intermediate)
        t[p + "output.dense.bias"] = w(hidden)
        t[p + "output.LayerNorm.weight"] = 1 + w(hidden, scale=0.05)
        t[p + "output.LayerNorm.bias"] = w(hidden, scale=0.05)
    os.makedirs(directory, exist_ok=True)
    save_file(t, os.path.join(directory, "model.safetensors"))
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": hidden_act,
        "hidden_size": hidden, "intermediate_size": intermediate,
        "num_attention_heads": heads, "num_hidden_layers": num_layers,
        "max_position_embeddings": max_positions, "type_vocab_size": 2,
        "vocab_size": V, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": lowercase, "tokenizer_class": "BertTokenizer"}, f)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocabulary) + "\n")
    return config


_erf = np.vectorize(math.erf)


def write_clue_checkpoint(directory, clue_dir, task="afqmc"):
    """A tiny random Chinese checkpoint whose vocabulary is every character of a CLUE fixture."""
    chars = set()
    for split in ("train.json", "dev.json", "test.json"):
        with open(os.path.join(clue_dir, task, split), encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                chars.update(record["sentence1"] + record["sentence2"])
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(
        c for c in chars if not c.isspace())
    write_hf_checkpoint(str(directory), num_layers=2, hidden=32, heads=4, intermediate=64,
                        max_positions=40, vocabulary=vocabulary)
    return str(directory)


def numpy_bert_forward(weights, config, token_ids, segment_ids, padding_mask):
    """Independent float64 numpy BERT forward pass from HF-named weights.

    Returns `(hidden_states, pooled)`: the embedding output and every
    layer's output, then the tanh pooler on [CLS].
    """
    W = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    eps = config.get("layer_norm_eps", 1e-12)
    heads = config["num_attention_heads"]
    act = config.get("hidden_act", "gelu")

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * W[p + ".weight"] + W[p + ".bias"]

    def dense(x, p):
        return x @ W[p + ".weight"].T + W[p + ".bias"]

    def activation(x):
        if act == "gelu":
            return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
        if act == "relu":
            return np.maximum(x, 0)
        raise ValueError(act)

    B, S = token_ids.shape
    x = (W["embeddings.word_embeddings.weight"][token_ids]
         + W["embeddings.position_embeddings.weight"][np.arange(S)][None]
         + W["embeddings.token_type_embeddings.weight"][segment_ids])
    x = ln(x, "embeddings.LayerNorm")
    states = [x]
    bias = (1.0 - padding_mask.astype(np.float64))[:, None, None, :] * -1e9
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        H = x.shape[-1]
        dh = H // heads

        def split(t):
            return t.reshape(B, S, heads, dh).transpose(0, 2, 1, 3)

        q = split(dense(x, p + "attention.self.query"))
        k = split(dense(x, p + "attention.self.key"))
        v = split(dense(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + bias
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
        x = ln(x + dense(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = activation(dense(x, p + "intermediate.dense"))
        x = ln(x + dense(h, p + "output.dense"), p + "output.LayerNorm")
        states.append(x)
    pooled = np.tanh(dense(x[:, 0], "pooler.dense"))
    return states, pooled


def toy_batch(n=16, length=8, seed=0, vocabulary_size=60):
    """Random token batches with some padding; label = "token 7 occurs"."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocabulary_size, (n, length)).astype("int32")
    ids[:, 0] = 2
    mask = np.ones((n, length), "int32")
    mask[::3, -2:] = 0
    ids[mask == 0] = 0
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    y = (ids == 7).any(1).astype("int32")
    return x, y


def toy_classifier(layers=2, hidden=16, seed=0):
    """A tiny float32 `BertTextClassifier` on `ExactGeluBertBackbone` for `toy_batch`."""
    import keras

    from keras_theseus import models

    keras.utils.set_random_seed(seed)
    backbone = models.ExactGeluBertBackbone(vocabulary_size=60, num_layers=layers, num_heads=2,
                                            hidden_dim=hidden, intermediate_dim=2 * hidden,
                                            max_sequence_length=12)
    return models.build_text_classifier(backbone, 2)
