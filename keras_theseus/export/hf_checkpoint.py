"""Students out as Hugging Face BERT checkpoints (`transformers` loads them).

keras-hub converts Hugging Face BERT checkpoints *into* Keras
(`keras_hub/src/utils/transformers/convert_bert.py`) but its exporter
(`Backbone.export_to_transformers`) covers only decoder LLMs, not BERT. This
module is that converter's inverse, parameter for parameter, plus the two
things a compressed student needs that a dense BERT config cannot say by
itself: the exact FFN activation, and a head size that is not
`hidden_size / num_attention_heads`.
"""

import json
import os
import warnings

import keras
import keras_hub
import numpy as np

from keras_theseus.export.checks import check_vocabulary
from keras_theseus.export.checks import not_exportable
from keras_theseus.export.directory import staged_directory

# Our backbone's `hidden_activation` -> transformers' `hidden_act` (ACT2FN).
HF_ACTIVATIONS = {
    "gelu": "gelu", "gelu_exact": "gelu",
    "gelu_approximate": "gelu_new", "gelu_new": "gelu_new",
    "gelu_pytorch_tanh": "gelu_pytorch_tanh",
    "relu": "relu", "silu": "silu", "swish": "swish", "tanh": "tanh",
}


def _split_model(model):
    """`(classifier or None, backbone)` of a model transformers' BERT can hold."""
    if isinstance(model, keras_hub.models.BertTextClassifier):
        classifier, backbone = model, model.backbone
    elif isinstance(model, keras_hub.models.BertBackbone):
        classifier, backbone = None, model
    else:
        raise not_exportable(model, "a keras_hub.models.BertTextClassifier or BertBackbone")
    if classifier is not None:
        activation = keras.activations.serialize(classifier.activation)
        name = activation if isinstance(activation, str) else activation.get("config", activation)
        if name not in ("linear", None):
            raise ValueError(
                "transformers' BertForSequenceClassification returns logits; this "
                f"classifier applies `activation={name!r}` to them, which it cannot "
                "express. Export a classifier built with `activation=None` (every "
                "keras_theseus student is), or export `model.backbone` alone.")
        dense = classifier.output_dense
        if not dense.use_bias or dense.kernel.shape[0] != backbone.hidden_dim:
            raise ValueError("The classifier head is not BERT's pooled-output Dense layer "
                             "with a bias; transformers cannot express it.")
    return classifier, backbone


def _hidden_act(backbone):
    # keras-hub's own BertBackbone hard-codes the tanh-approximate GELU.
    name = getattr(backbone, "hidden_activation", "gelu_approximate")
    if name not in HF_ACTIVATIONS:
        raise ValueError(f"The backbone's `hidden_activation`={name!r} has no transformers "
                         f"equivalent; supported: {', '.join(sorted(HF_ACTIVATIONS))}.")
    return HF_ACTIVATIONS[name]


def attention_layout(backbone):
    """`(kept heads, heads in the checkpoint, head size)` of a backbone.

    transformers' BERT derives its head size as `hidden_size /
    num_attention_heads`. A student whose `num_heads · key_dim` is less than
    its hidden size (a DynaBERT sub-network at width < 1, a searched
    sub-architecture) is written with `hidden_size / key_dim` heads, the
    extra ones all zeros: a zero query and key give uniform attention, a
    zero value and output projection add nothing, so the outputs are
    exactly the student's while the attention costs the full width again.

    Raises:
        ValueError: the head size does not divide the hidden size, or the
            student has more head units than its hidden size.

    Example:
    ```python
    attention_layout(extract_subnetwork(dyna, 0.5).backbone)  # (6, 12, 32) for MiniLM
    ```
    """
    heads, hidden = backbone.num_heads, backbone.hidden_dim
    key_dim = getattr(backbone, "head_size", hidden // heads)
    if hidden % key_dim or heads * key_dim > hidden:
        raise ValueError(
            f"transformers' BERT needs `hidden_size` ({hidden}) to be a multiple of the head "
            f"size ({key_dim}) and at least heads × head size ({heads} × {key_dim}); this "
            "student's attention cannot be expressed in a BertConfig.")
    return heads, hidden // key_dim, key_dim


def bert_hf_config(model, label_names=None):
    """The `config.json` dict (a transformers `BertConfig`) for a model.

    Args:
        model: a keras-hub `BertTextClassifier` or `BertBackbone`.
        label_names: optional class names (`id2label`), one per class.

    Example:
    ```python
    bert_hf_config(student, ["neg", "pos"])["num_hidden_layers"]  # 3
    ```
    """
    classifier, backbone = _split_model(model)
    kept, heads, key_dim = attention_layout(backbone)
    config = {
        "architectures": ["BertForSequenceClassification" if classifier else "BertModel"],
        "model_type": "bert",
        "vocab_size": int(backbone.vocabulary_size),
        "hidden_size": int(backbone.hidden_dim),
        "num_hidden_layers": int(backbone.num_layers),
        "num_attention_heads": int(heads),
        "intermediate_size": int(backbone.intermediate_dim),
        "hidden_act": _hidden_act(backbone),
        "hidden_dropout_prob": float(backbone.dropout),
        "attention_probs_dropout_prob": float(backbone.dropout),
        "max_position_embeddings": int(backbone.max_sequence_length),
        "type_vocab_size": int(backbone.num_segments),
        "layer_norm_eps": 1e-12,
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }
    if kept < heads:
        # Not read by transformers; says which heads are real.
        config["keras_theseus_heads_kept"] = int(kept)
    if classifier is not None:
        num_classes = int(classifier.num_classes)
        if label_names is not None:
            label_names = [str(n) for n in label_names]
            if len(label_names) != num_classes:
                raise ValueError(f"`label_names` must have one name per class ({num_classes}). "
                                 f"Received {len(label_names)}: {label_names!r}")
        else:
            label_names = [f"LABEL_{i}" for i in range(num_classes)]
        config["num_labels"] = num_classes
        config["id2label"] = {str(i): n for i, n in enumerate(label_names)}
        config["label2id"] = {n: i for i, n in enumerate(label_names)}
        config["classifier_dropout"] = float(classifier.dropout)
        config["problem_type"] = "single_label_classification"
    elif label_names is not None:
        raise ValueError("`label_names` needs a classifier; a backbone has no classes.")
    return config


def bert_hf_weights(model):
    """`{transformers parameter name: float32 array}` for a model.

    The inverse of keras-hub's `convert_bert.convert_weights`: a classifier's
    names carry the `bert.` prefix of `BertForSequenceClassification` plus
    `classifier.weight/bias`; a backbone's are `BertModel`'s.

    Example:
    ```python
    bert_hf_weights(student)["classifier.weight"].shape  # (num_classes, hidden)
    ```
    """
    classifier, backbone = _split_model(model)
    kept, heads, key_dim = attention_layout(backbone)
    prefix = "bert." if classifier is not None else ""
    hidden = backbone.hidden_dim
    out = {}

    def put(name, value):
        out[prefix + name] = np.ascontiguousarray(np.asarray(value, dtype="float32"))

    def layer_norm(name, layer):
        put(f"{name}.LayerNorm.weight", layer.gamma)
        put(f"{name}.LayerNorm.bias", layer.beta)

    def heads_in(kernel, bias):
        # (hidden, kept, key_dim) -> (heads·key_dim, hidden), zero rows for padded heads.
        weight = np.zeros((heads * key_dim, hidden), "float32")
        weight[:kept * key_dim] = np.reshape(np.asarray(kernel), (hidden, -1)).T
        full_bias = np.zeros((heads * key_dim,), "float32")
        full_bias[:kept * key_dim] = np.reshape(np.asarray(bias), (-1,))
        return weight, full_bias

    put("embeddings.word_embeddings.weight", backbone.token_embedding.embeddings)
    put("embeddings.position_embeddings.weight",
        backbone.position_embedding.position_embeddings)
    put("embeddings.token_type_embeddings.weight", backbone.segment_embedding.embeddings)
    layer_norm("embeddings", backbone.embeddings_layer_norm)
    for i, block in enumerate(backbone.transformer_layers):
        p = f"encoder.layer.{i}."
        attention = block._self_attention_layer
        for name in ("query", "key", "value"):
            dense = getattr(attention, f"{name}_dense")
            weight, bias = heads_in(dense.kernel, dense.bias)
            put(p + f"attention.self.{name}.weight", weight)
            put(p + f"attention.self.{name}.bias", bias)
        weight = np.zeros((hidden, heads * key_dim), "float32")
        weight[:, :kept * key_dim] = np.reshape(
            np.asarray(attention.output_dense.kernel), (-1, hidden)).T
        put(p + "attention.output.dense.weight", weight)
        put(p + "attention.output.dense.bias", attention.output_dense.bias)
        layer_norm(p + "attention.output", block._self_attention_layer_norm)
        put(p + "intermediate.dense.weight",
            np.asarray(block._feedforward_intermediate_dense.kernel).T)
        put(p + "intermediate.dense.bias", block._feedforward_intermediate_dense.bias)
        put(p + "output.dense.weight", np.asarray(block._feedforward_output_dense.kernel).T)
        put(p + "output.dense.bias", block._feedforward_output_dense.bias)
        layer_norm(p + "output", block._feedforward_layer_norm)
    put("pooler.dense.weight", np.asarray(backbone.pooled_dense.kernel).T)
    put("pooler.dense.bias", backbone.pooled_dense.bias)
    if classifier is not None:
        out["classifier.weight"] = np.ascontiguousarray(
            np.asarray(classifier.output_dense.kernel, "float32").T)
        out["classifier.bias"] = np.asarray(classifier.output_dense.bias, "float32")
    return out


def _tokenizer_of(preprocessor, model):
    """The keras-hub `BertTokenizer` to write, from a preprocessor or tokenizer."""
    if preprocessor is None:
        preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError("`preprocessor` is required: the checkpoint needs the student's "
                         "vocabulary (pass the keras-hub BertTextClassifierPreprocessor or "
                         "BertTokenizer it was trained with).")
    tokenizer = getattr(preprocessor, "tokenizer", preprocessor)
    if not isinstance(tokenizer, keras_hub.models.BertTokenizer):
        raise TypeError("`preprocessor` must be a keras-hub BertTextClassifierPreprocessor or "
                        f"BertTokenizer. Received: {type(preprocessor).__name__}")
    if not tokenizer.split or tokenizer.suffix_indicator != "##":
        raise ValueError("transformers' BertTokenizer splits on whitespace and punctuation "
                         "and marks word pieces with '##'; this tokenizer does not.")
    return tokenizer, getattr(preprocessor, "sequence_length", None)


def _tokenizer_files(tokenizer, sequence_length, max_positions):
    special = {"unk_token": tokenizer.oov_token, "sep_token": tokenizer.sep_token,
               "pad_token": tokenizer.pad_token, "cls_token": tokenizer.cls_token,
               "mask_token": tokenizer.mask_token}
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": bool(tokenizer.lowercase),
        # keras-hub lowercases without stripping accents unless asked; say
        # so, or transformers would strip them whenever it lowercases.
        "strip_accents": bool(tokenizer.strip_accents),
        "tokenize_chinese_chars": bool(tokenizer.split_on_cjk),
        "model_max_length": int(sequence_length or max_positions),
        **special,
    }
    return config, special


def save_hf_checkpoint(model, directory, preprocessor=None, label_names=None,
                       overwrite=False):
    """Write a student as a Hugging Face BERT checkpoint directory.

    The directory holds `config.json` (the student's own layers, heads,
    hidden and FFN sizes and activation), `model.safetensors` (transformers'
    parameter names), `vocab.txt`, `tokenizer_config.json` and
    `special_tokens_map.json`. `transformers.AutoModelForSequenceClassification`
    (a classifier) or `AutoModel` (a backbone) and `AutoTokenizer` load it
    with no missing or unexpected weights, and this package's own
    `load_backbone(directory)` reads it back.

    A student with fewer heads than `hidden / head size` (DynaBERT width <
    1) is written with zero-padded heads (see `attention_layout`): exact
    outputs, full-width attention cost; a `UserWarning` says so.

    Args:
        model: a keras-hub `BertTextClassifier` (any student keras_theseus
            returns) or a `BertBackbone`.
        directory: the checkpoint directory to create.
        preprocessor: the keras-hub `BertTextClassifierPreprocessor` (or
            `BertTokenizer`) the student was trained with; its vocabulary,
            casing and sequence length go into the tokenizer files. Default:
            `model.preprocessor`.
        label_names: optional class names for `id2label` (default
            `LABEL_0`, `LABEL_1`, ...).
        overwrite: replace an existing `directory` (it is removed first).
            Without it an existing directory raises `FileExistsError`.

    Returns:
        `directory`.

    Example:
    ```python
    save_hf_checkpoint(student, "student_hf", preprocessor, label_names=["neg", "pos"])
    # import transformers
    # model = transformers.AutoModelForSequenceClassification.from_pretrained("student_hf")
    # tokenizer = transformers.AutoTokenizer.from_pretrained("student_hf")
    ```
    """
    from safetensors.numpy import save_file

    classifier, backbone = _split_model(model)
    tokenizer, sequence_length = _tokenizer_of(preprocessor, model)
    vocabulary = tokenizer.get_vocabulary()
    check_vocabulary(tokenizer, backbone)
    config = bert_hf_config(model, label_names)
    kept, heads, key_dim = attention_layout(backbone)
    if kept < heads:
        warnings.warn(
            f"transformers' BERT cannot hold {kept} heads of size {key_dim} in a "
            f"hidden size of {backbone.hidden_dim}: the checkpoint has {heads} heads, "
            f"{heads - kept} of them zeros. Outputs are exact; attention runs at full width.",
            UserWarning, stacklevel=2)
    weights = bert_hf_weights(model)
    tok_config, special = _tokenizer_files(tokenizer, sequence_length,
                                           backbone.max_sequence_length)

    with staged_directory(directory, overwrite=overwrite) as staging:
        save_file(weights, os.path.join(staging, "model.safetensors"),
                  metadata={"format": "pt"})
        for name, content in (("config.json", config), ("tokenizer_config.json", tok_config),
                              ("special_tokens_map.json", special)):
            with open(os.path.join(staging, name), "w", encoding="utf-8") as f:
                json.dump(content, f, indent=2, ensure_ascii=False)
                f.write("\n")
        with open(os.path.join(staging, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(vocabulary) + "\n")
    return directory
