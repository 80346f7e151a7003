"""One forward pass that returns logits plus every layer's hidden states."""

import keras
import keras_hub

ATTENTION_KINDS = ("probabilities", "logits")


def _split(model):
    if isinstance(model, (keras_hub.models.BertTextClassifier, keras_hub.models.BertMaskedLM)):
        return model.backbone, model
    if isinstance(model, keras_hub.models.BertBackbone):
        return model, None
    raise TypeError(
        "`model` must be a keras_hub.models.BertTextClassifier, BertMaskedLM or "
        f"BertBackbone. Received: {type(model).__name__}"
    )


def _attention_kind(attention_scores):
    if attention_scores is False or attention_scores is None:
        return None
    if attention_scores is True:
        return "probabilities"
    if attention_scores in ATTENTION_KINDS:
        return attention_scores
    raise ValueError(
        "`attention_scores` must be False, True, 'probabilities' or 'logits'. "
        f"Received: {attention_scores!r}"
    )


def _head_logits(task, pooled, sequence_output, inputs, training=None):
    """The task head applied to already computed backbone outputs."""
    if isinstance(task, keras_hub.models.BertMaskedLM):
        return task.masked_lm_head(sequence_output, inputs["mask_positions"])
    return task.output_dense(task.output_dropout(pooled, training=training))


def build_feature_extractor(model, attention_scores=False, name=None):
    """A model that yields logits, hidden states and attention in one pass.

    The compression methods (distillation, DynaBERT, Theseus) need, for one
    batch, the logits *and* the embedding output and every transformer
    layer's output. Running the model once per quantity would double or
    triple the cost, so this builds a `keras.Model` over the *same layers*
    (weights are shared, nothing is copied) whose outputs are all of them
    at once.

    Args:
        model: a keras-hub `BertTextClassifier`, `BertMaskedLM` or
            `BertBackbone`.
        attention_scores: `False` (default), `True` / `"probabilities"`
            for each layer's attention probabilities, or `"logits"` for the
            pre-softmax scores `q·k/sqrt(d)` (TinyBERT's attention loss).
            Both have shape `(batch, heads, seq, seq)`; logits at padded
            keys are left unmasked (mask them in the loss).
        name: optional model name.

    Returns:
        A `keras.Model` taking `token_ids`, `segment_ids`, `padding_mask`
        (plus `mask_positions` for a `BertMaskedLM`) and returning a dict:
        - `"hidden_states"`: list of `num_layers + 1` tensors
          `(batch, seq, hidden)`, the embedding output first;
        - `"sequence_output"`, `"pooled_output"`;
        - `"logits"` when `model` is a classifier (`(batch, classes)`) or a
          masked LM (`(batch, mask_positions, vocabulary)`);
        - `"attention_scores"`: list of `num_layers` tensors, if requested.

    Example:
    ```python
    features = build_feature_extractor(classifier)
    out = features(batch)            # one forward pass
    out["logits"], out["hidden_states"][-1]
    ```
    """
    backbone, task = _split(model)
    kind = _attention_kind(attention_scores)
    inputs = dict(task.input) if task is not None else dict(backbone.input)
    # Reuse the backbone's own graph nodes: robust to keras-hub internals.
    embedded = backbone.get_layer("embeddings_dropout").output
    if kind is not None:
        # A symbolic call cannot return the (output, scores) pair of a
        # keras-hub TransformerEncoder, so the encoder stack runs in `call`.
        embed = keras.Model(backbone.input, embedded, name="embeddings")
        return _AttentionFeatureModel(embed, backbone, task, kind,
                                      name=name or f"{model.name}_features")
    hidden_states = [embedded] + [layer.output for layer in backbone.transformer_layers]
    pooled = backbone.get_layer("pooled_dense").output
    outputs = {
        "hidden_states": hidden_states,
        "sequence_output": hidden_states[-1],
        "pooled_output": pooled,
    }
    if task is not None:
        outputs["logits"] = _head_logits(task, pooled, hidden_states[-1], inputs)
    return keras.Model(inputs, outputs, name=name or f"{model.name}_features")


class _CaptureAttentionLogits:
    """Records the pre-softmax scores of a Keras `MultiHeadAttention` call.

    `MultiHeadAttention._compute_attention` hands the raw `q·k/sqrt(d)`
    scores to `_masked_softmax`; wrapping that method for the duration of
    one call captures them from the *same* forward pass (no recomputation
    of the query/key projections). Only active while tracing the call.
    """

    def __init__(self, attention_layer):
        self.layer = attention_layer
        self.logits = None

    def __enter__(self):
        original = self.layer._masked_softmax

        def capture(scores, attention_mask=None):
            self.logits = scores
            return original(scores, attention_mask)

        # Instance attribute shadows the method; bypass Keras' attribute
        # tracking, which has nothing to track here.
        self.layer.__dict__["_masked_softmax"] = capture
        return self

    def __exit__(self, *exc):
        self.layer.__dict__.pop("_masked_softmax", None)
        return False


class _AttentionFeatureModel(keras.Model):
    """Feature extractor that also returns attention probabilities or logits."""

    def __init__(self, embed, backbone, task, kind, **kwargs):
        super().__init__(**kwargs)
        self.embed = embed
        self.backbone = backbone
        self.task = task
        self.kind = kind

    def call(self, inputs, training=None):
        backbone_inputs = {k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")}
        x = self.embed(backbone_inputs, training=training)
        hidden_states, scores = [x], []
        for layer in self.backbone.transformer_layers:
            with _CaptureAttentionLogits(layer._self_attention_layer) as capture:
                x, probabilities = layer(
                    x,
                    padding_mask=inputs["padding_mask"],
                    return_attention_scores=True,
                    training=training,
                )
            hidden_states.append(x)
            scores.append(capture.logits if self.kind == "logits" else probabilities)
        pooled = self.backbone.get_layer("pooled_dense")(
            x[:, self.backbone.cls_token_index, :]
        )
        outputs = {
            "hidden_states": hidden_states,
            "sequence_output": x,
            "pooled_output": pooled,
            "attention_scores": scores,
        }
        if self.task is not None:
            outputs["logits"] = _head_logits(self.task, pooled, x, inputs, training=training)
        return outputs
