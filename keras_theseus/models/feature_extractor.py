"""One forward pass that returns logits plus every layer's hidden states."""

import keras
import keras_hub


def _split(model):
    if isinstance(model, keras_hub.models.BertTextClassifier):
        return model.backbone, model
    if isinstance(model, keras_hub.models.BertBackbone):
        return model, None
    raise TypeError(
        "`model` must be a keras_hub.models.BertTextClassifier or "
        f"BertBackbone. Received: {type(model).__name__}"
    )


def build_feature_extractor(model, attention_scores=False, name=None):
    """A model that yields logits, hidden states and attention in one pass.

    The compression methods (distillation, DynaBERT, Theseus) need, for one
    batch, the logits *and* the embedding output and every transformer
    layer's output. Running the model once per quantity would double or
    triple the cost, so this builds a functional `keras.Model` over the
    *same layers* (weights are shared, nothing is copied) whose outputs are
    all of them at once.

    Args:
        model: a keras-hub `BertTextClassifier` or `BertBackbone`.
        attention_scores: bool. Also return each layer's attention
            probabilities, shape `(batch, heads, seq, seq)`.
        name: optional model name.

    Returns:
        A `keras.Model` taking `token_ids`, `segment_ids`, `padding_mask`
        and returning a dict with:
        - `"hidden_states"`: list of `num_layers + 1` tensors
          `(batch, seq, hidden)`, the embedding output first;
        - `"sequence_output"`, `"pooled_output"`;
        - `"logits"` when `model` is a classifier;
        - `"attention_scores"`: list of `num_layers` tensors, if requested.

    Example:
    ```python
    features = build_feature_extractor(classifier)
    out = features(batch)            # one forward pass
    out["logits"], out["hidden_states"][-1]
    ```
    """
    backbone, classifier = _split(model)
    inputs = backbone.input
    # Reuse the backbone's own graph nodes: robust to keras-hub internals.
    embedded = backbone.get_layer("embeddings_dropout").output
    if attention_scores:
        # A symbolic call cannot return the (output, scores) pair of a
        # keras-hub TransformerEncoder, so the encoder stack runs in `call`.
        embed = keras.Model(inputs, embedded, name="embeddings")
        return _AttentionFeatureModel(embed, backbone, classifier,
                                      name=name or f"{model.name}_features")
    hidden_states = [embedded] + [layer.output for layer in backbone.transformer_layers]
    pooled = backbone.get_layer("pooled_dense").output
    outputs = {
        "hidden_states": hidden_states,
        "sequence_output": hidden_states[-1],
        "pooled_output": pooled,
    }
    if classifier is not None:
        outputs["logits"] = classifier.output_dense(classifier.output_dropout(pooled))
    return keras.Model(inputs, outputs, name=name or f"{model.name}_features")


class _AttentionFeatureModel(keras.Model):
    """Feature extractor that also returns attention probabilities."""

    def __init__(self, embed, backbone, classifier, **kwargs):
        super().__init__(**kwargs)
        self.embed = embed
        self.backbone = backbone
        self.classifier = classifier

    def call(self, inputs, training=None):
        x = self.embed(inputs, training=training)
        hidden_states, scores = [x], []
        for layer in self.backbone.transformer_layers:
            x, s = layer(
                x,
                padding_mask=inputs["padding_mask"],
                return_attention_scores=True,
                training=training,
            )
            hidden_states.append(x)
            scores.append(s)
        pooled = self.backbone.get_layer("pooled_dense")(
            x[:, self.backbone.cls_token_index, :]
        )
        outputs = {
            "hidden_states": hidden_states,
            "sequence_output": x,
            "pooled_output": pooled,
            "attention_scores": scores,
        }
        if self.classifier is not None:
            outputs["logits"] = self.classifier.output_dense(
                self.classifier.output_dropout(pooled, training=training)
            )
        return outputs
