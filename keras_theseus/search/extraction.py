"""Initial weights for a search candidate, sliced from a rewired teacher."""

import numpy as np

from keras_theseus.distill.layer_selection import select_layers
from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier
from keras_theseus.dynabert.maskable_encoder import copy_encoder_weights


def hidden_unit_order(model):
    """Hidden units by descending |γ| of the embedding layer norm.

    Slicing the hidden size needs a choice of units; the embedding
    LayerNorm scale is a cheap proxy of how much a unit carries into every
    layer. Any consistent choice is only an initialization: the short
    distillation of each candidate adapts the weights.
    """
    gamma = np.abs(np.asarray(model.embeddings_layer_norm.gamma))
    return np.argsort(-gamma, kind="stable")


def extract_candidate(model, candidate, layer_strategy="spread"):
    """A `DynaBertClassifier` of `candidate`'s shape initialised from `model`.

    - depth: the teacher layers `select_layers(L, depth, layer_strategy)`;
    - heads / FFN neurons: the first ones (after `rewire`, the most
      important), keeping the teacher's head size;
    - hidden size: the units `hidden_unit_order` ranks first, kept in their
      original order, sliced out of the embeddings, every layer, the pooler
      and the classifier (no extra projection: the embeddings are sliced
      column-wise, like every other hidden-size axis).

    Args:
        model: a `DynaBertClassifier` (ideally rewired by importance).
        candidate: a `Candidate`.
        layer_strategy: see `keras_theseus.distill.select_layers`.
    """
    if not isinstance(model, DynaBertClassifier):
        raise TypeError(f"`model` must be a DynaBertClassifier. Received: {type(model).__name__}")
    c = candidate
    if c.head_size != model.key_dim:
        raise ValueError(f"The candidate's head size {c.head_size} differs from the "
                         f"teacher's {model.key_dim}.")
    layers = select_layers(model.num_layers, c.num_layers, layer_strategy)
    hidden = np.sort(hidden_unit_order(model)[:c.hidden_dim])
    small = DynaBertClassifier(
        vocabulary_size=model.vocabulary_size, num_layers=c.num_layers,
        num_heads=c.num_heads, hidden_dim=c.hidden_dim, intermediate_dim=c.intermediate_dim,
        num_classes=model.num_classes, max_sequence_length=model.max_sequence_length,
        num_segments=model.num_segments, key_dim=c.head_size,
        hidden_activation=model.hidden_activation, dropout=model.dropout, use_masks=False,
        name=c.name)
    for name in ("token_embedding", "position_embedding", "segment_embedding",
                 "embeddings_layer_norm"):
        getattr(small, name).set_weights(
            [w[..., hidden] for w in getattr(model, name).get_weights()])
    kernel, bias = model.pooled_dense.get_weights()
    small.pooled_dense.set_weights([kernel[hidden][:, hidden], bias[hidden]])
    kernel, bias = model.output_dense.get_weights()
    small.output_dense.set_weights([kernel[hidden], bias])
    for target, index in zip(small.encoder_layers, layers):
        copy_encoder_weights(model.encoder_layers[index], target,
                             heads=range(c.num_heads), neurons=range(c.intermediate_dim),
                             hidden=hidden)
    return small
