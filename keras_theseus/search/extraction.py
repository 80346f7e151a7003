"""Initial weights for a search candidate, sliced from a rewired teacher."""

import numpy as np

from keras_theseus.distill.layer_selection import select_layers
from keras_theseus.dynabert.dynabert_classifier import DynaBertClassifier


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
    """A keras-hub `BertTextClassifier` of `candidate`'s shape initialised from `model`.

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

    Returns:
        A keras-hub `BertTextClassifier` on an `ExactGeluBertBackbone`
        (`key_dim` = the candidate's head size), named `candidate.name`.
    """
    if not isinstance(model, DynaBertClassifier):
        raise TypeError(f"`model` must be a DynaBertClassifier. Received: {type(model).__name__}")
    c = candidate
    if c.head_size != model.key_dim:
        raise ValueError(f"The candidate's head size {c.head_size} differs from the "
                         f"teacher's {model.key_dim}.")
    return model.to_text_classifier(
        layers=select_layers(model.num_layers, c.num_layers, layer_strategy),
        num_heads=c.num_heads, intermediate_dim=c.intermediate_dim,
        hidden=np.sort(hidden_unit_order(model)[:c.hidden_dim]), name=c.name)
