"""A BERT text classifier whose width and depth are set by masks."""

import keras
import keras_hub
import numpy as np
from keras import ops

from keras_theseus.dynabert.maskable_encoder import MaskableTransformerEncoder
from keras_theseus.dynabert.maskable_encoder import copy_encoder_weights
from keras_theseus.dynabert.multipliers import depth_layers
from keras_theseus.dynabert.multipliers import subnetwork_masks
from keras_theseus.dynabert.multipliers import width_sizes
from keras_theseus.models.bert_backbone import _resolve_activation
from keras_theseus.models.layer_dropping import EMBEDDING_AND_POOLER_LAYERS
from keras_theseus.models.transformer_encoder import residual_dtype_policy
from keras_theseus.utils import check_bool


@keras.saving.register_keras_serializable(package="keras_theseus")
class DynaBertClassifier(keras.Model):
    """BERT classifier with per-head, per-neuron and per-layer masks (DynaBERT).

    The same computation and weights as a keras-hub `BertTextClassifier`
    (embeddings, post-LN encoder layers, tanh pooler, dropout, logits), with
    every encoder layer a `MaskableTransformerEncoder`. The active
    sub-network lives in non-trainable variables, so `set_subnetwork` (or a
    callback) changes it between or during compiled steps without retracing:
    each layer's `head_mask` / `neuron_mask`, and the model's `layer_mask`
    (a layer whose mask is 0 passes its input through). `forward(x, width,
    depth)` runs one sub-network, computing only its kept layers, heads and
    neurons (sliced kernels): the training loop uses it for every configured
    width and depth.

    Build one from a fine-tuned classifier with `from_classifier`; go back
    with `to_text_classifier`; shrink with `extract_subnetwork` (a plain
    keras-hub `BertTextClassifier`, as every student the toolkit returns).

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
            max_sequence_length, num_segments: as `BertBackbone`.
        num_classes: classifier outputs.
        key_dim: head size (default `hidden_dim // num_heads`).
        hidden_activation: FFN activation name (`"gelu"` = exact).
        dropout: dropout rate (embeddings, layers, head).
        use_masks: create the mask variables (an extracted sub-network has
            none and runs at full speed).
        float32_residual: under a mixed policy, keep the embeddings and the
            residual stream in float32 (see `ExactGeluBertBackbone`).

    Example:
    ```python
    model = DynaBertClassifier.from_classifier(teacher)       # weights copied
    model.set_subnetwork(width=0.5, depth=0.5)
    model.evaluate(dev)                                       # the (0.5, 0.5) sub-network
    small = extract_subnetwork(model, width=0.5, depth=0.5)   # a genuinely smaller model
    ```
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 num_classes, max_sequence_length=512, num_segments=2, key_dim=None,
                 hidden_activation="gelu", dropout=0.1, use_masks=True,
                 float32_residual=False, **kwargs):
        super().__init__(**kwargs)
        check_bool("float32_residual", float32_residual)
        # Every sub-layer computes in this model's dtype policy (its
        # precision), as keras-hub's backbones pass theirs down; with
        # float32_residual the embeddings feed a float32 residual stream.
        dtype = self.dtype_policy
        embedding_dtype = residual_dtype_policy(dtype, float32_residual)
        self.float32_residual = float32_residual
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_classes = num_classes
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.key_dim = key_dim or hidden_dim // num_heads
        self.hidden_activation = hidden_activation
        self.dropout = dropout
        self.use_masks = bool(use_masks)
        self.cls_token_index = 0

        init = keras.initializers.TruncatedNormal(stddev=0.02)
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=init, name="token_embedding",
            dtype=embedding_dtype)
        self.position_embedding = keras_hub.layers.PositionEmbedding(
            max_sequence_length, initializer=init, name="position_embedding",
            dtype=embedding_dtype)
        self.segment_embedding = keras.layers.Embedding(
            num_segments, hidden_dim, embeddings_initializer=init, name="segment_embedding",
            dtype=embedding_dtype)
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=1e-12, name="embeddings_layer_norm", dtype=embedding_dtype)
        self.embeddings_dropout = keras.layers.Dropout(dropout, name="embeddings_dropout",
                                                       dtype=embedding_dtype)
        activation = _resolve_activation(hidden_activation)
        self.encoder_layers = [
            MaskableTransformerEncoder(
                intermediate_dim, num_heads, key_dim=self.key_dim, use_masks=use_masks,
                activation=activation, dropout=dropout, layer_norm_epsilon=1e-12,
                kernel_initializer=init, name=f"transformer_layer_{i}", dtype=dtype,
                float32_residual=float32_residual)
            for i in range(num_layers)
        ]
        self.pooled_dense = keras.layers.Dense(hidden_dim, activation="tanh",
                                               kernel_initializer=init, name="pooled_dense",
                                               dtype=dtype)
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout", dtype=dtype)
        self.output_dense = keras.layers.Dense(num_classes, kernel_initializer=init,
                                               name="logits", dtype=dtype)
        # Build every weight now (so weights can be copied in before a call).
        self.token_embedding.build((None, None))
        self.position_embedding.build((None, None, hidden_dim))
        self.segment_embedding.build((None, None))
        self.embeddings_layer_norm.build((None, None, hidden_dim))
        for layer in self.encoder_layers:
            layer.build((None, None, hidden_dim))
        self.pooled_dense.build((None, hidden_dim))
        self.output_dense.build((None, hidden_dim))
        if self.use_masks:
            self.layer_mask = self.add_weight(shape=(num_layers,), initializer="ones",
                                              trainable=False, name="layer_mask")
        self.built = True

    # --- construction and conversion -------------------------------------

    @classmethod
    def from_classifier(cls, classifier, use_masks=True):
        """A maskable copy of a keras-hub `BertTextClassifier` (weights identical)."""
        if not isinstance(classifier, keras_hub.models.BertTextClassifier):
            raise TypeError("`classifier` must be a keras_hub.models.BertTextClassifier. "
                            f"Received: {type(classifier).__name__}")
        backbone = classifier.backbone
        model = cls(
            vocabulary_size=backbone.vocabulary_size, num_layers=backbone.num_layers,
            num_heads=backbone.num_heads, hidden_dim=backbone.hidden_dim,
            intermediate_dim=backbone.intermediate_dim, num_classes=classifier.num_classes,
            max_sequence_length=backbone.max_sequence_length,
            num_segments=backbone.num_segments,
            key_dim=getattr(backbone, "key_dim", None),
            hidden_activation=getattr(backbone, "hidden_activation", "gelu_approximate"),
            dropout=classifier.dropout, use_masks=use_masks, dtype=backbone.dtype_policy,
            float32_residual=getattr(backbone, "float32_residual", False))
        for name in EMBEDDING_AND_POOLER_LAYERS:
            getattr(model, name).set_weights(backbone.get_layer(name).get_weights())
        for source, target in zip(backbone.transformer_layers, model.encoder_layers):
            copy_encoder_weights(source, target)
        model.output_dense.set_weights(classifier.output_dense.get_weights())
        return model

    def to_text_classifier(self, layers=None, num_heads=None, intermediate_dim=None,
                           hidden=None, name=None):
        """This network, or a slice of it, as a plain keras-hub `BertTextClassifier`.

        The backbone is an `ExactGeluBertBackbone` with this model's head
        size (`key_dim`), so any width fits. With no arguments the outputs
        equal this model's at full width and depth (masks are not copied).

        Args:
            layers: encoder layer indices to keep, in order (default all).
            num_heads: keep the first `num_heads` heads of each layer (after
                `rewire`, the most important); default all.
            intermediate_dim: keep the first FFN neurons; default all.
            hidden: indices of the hidden units to keep (default all): the
                embeddings, every layer, the pooler and the classifier are
                sliced on that axis (an initialization, not an equivalent
                network: layer norms then run over fewer units).
            name: the classifier's name.
        """
        import keras_theseus.models.bert_backbone as bert_backbone

        layers = list(range(self.num_layers)) if layers is None else list(layers)
        heads = self.num_heads if num_heads is None else num_heads
        neurons = self.intermediate_dim if intermediate_dim is None else intermediate_dim
        d = slice(None) if hidden is None else np.asarray(hidden)
        hidden_dim = self.hidden_dim if hidden is None else len(d)
        backbone = bert_backbone.ExactGeluBertBackbone(
            vocabulary_size=self.vocabulary_size, num_layers=len(layers), num_heads=heads,
            hidden_dim=hidden_dim, intermediate_dim=neurons, dropout=self.dropout,
            max_sequence_length=self.max_sequence_length, num_segments=self.num_segments,
            hidden_activation=self.hidden_activation, key_dim=self.key_dim,
            dtype=self.dtype_policy, float32_residual=self.float32_residual)
        for layer_name in ("token_embedding", "position_embedding", "segment_embedding",
                           "embeddings_layer_norm"):
            backbone.get_layer(layer_name).set_weights(
                [w[..., d] for w in getattr(self, layer_name).get_weights()])
        kernel, bias = self.pooled_dense.get_weights()
        backbone.pooled_dense.set_weights([kernel[d][:, d], bias[d]])
        for target, index in zip(backbone.transformer_layers, layers):
            copy_encoder_weights(self.encoder_layers[index], target, heads=range(heads),
                                 neurons=range(neurons), hidden=None if hidden is None else d)
        classifier = keras_hub.models.BertTextClassifier(
            backbone, self.num_classes, preprocessor=None, dropout=self.dropout, name=name)
        kernel, bias = self.output_dense.get_weights()
        classifier.output_dense.set_weights([kernel[d], bias])
        return classifier

    # --- sub-networks ------------------------------------------------------

    def set_subnetwork(self, width=1.0, depth=1.0):
        """Make `(width, depth)` the sub-network that `call` / `predict` / `fit` run."""
        if not self.use_masks:
            raise ValueError("This model has no masks (`use_masks=False`, e.g. an extracted "
                             "sub-network); it always runs at its own size.")
        heads, neurons, layers = subnetwork_masks(
            self.num_layers, self.num_heads, self.intermediate_dim, width, depth)
        for layer, h, n in zip(self.encoder_layers, heads, neurons):
            layer.head_mask.assign(h)
            layer.neuron_mask.assign(n)
        self.layer_mask.assign(layers)

    def active_subnetwork(self):
        """`(heads, neurons, layers)` kept by the current masks."""
        heads = [int(np.asarray(l.head_mask).sum()) for l in self.encoder_layers]
        neurons = [int(np.asarray(l.neuron_mask).sum()) for l in self.encoder_layers]
        layers = [i for i, g in enumerate(np.asarray(self.layer_mask)) if g > 0]
        return heads, neurons, layers

    # --- forward -----------------------------------------------------------

    def embed(self, inputs, training=False):
        tokens = self.token_embedding(inputs["token_ids"])
        x = tokens + self.position_embedding(tokens) + self.segment_embedding(
            inputs["segment_ids"])
        return self.embeddings_dropout(self.embeddings_layer_norm(x), training=training)

    def classify(self, x, training=False):
        pooled = self.pooled_dense(x[:, self.cls_token_index, :])
        return self.output_dense(self.output_dropout(pooled, training=training))

    def run_layers(self, inputs, layers=None, head_masks=None, neuron_masks=None,
                   training=False, return_hidden=False, active_sizes=None):
        """Embeddings, then `layers` (indices) with explicit masks, then the head.

        Args:
            inputs: dict with `token_ids`, `segment_ids`, `padding_mask`.
            layers: encoder layer indices to run (default all).
            head_masks, neuron_masks: per-layer masks (default: each
                layer's mask variables, or none).
            return_hidden: also return `[embeddings, after each run layer]`.
            active_sizes: `(heads, neurons)` ints: every layer runs its first
                `heads` heads and `neurons` FFN neurons on sliced kernels
                instead of masks (then `head_masks`/`neuron_masks` must be
                None).
        """
        layers = list(range(self.num_layers)) if layers is None else list(layers)
        x = self.embed(inputs, training)
        hidden = [x]
        sizes = {} if active_sizes is None else {"active_heads": active_sizes[0],
                                                  "active_neurons": active_sizes[1]}
        for k, i in enumerate(layers):
            x = self.encoder_layers[i](
                x, padding_mask=inputs["padding_mask"], training=training,
                head_mask=None if head_masks is None else head_masks[k],
                neuron_mask=None if neuron_masks is None else neuron_masks[k], **sizes)
            hidden.append(x)
        logits = self.classify(x, training)
        return (logits, hidden) if return_hidden else logits

    def forward(self, inputs, width=1.0, depth=1.0, training=False, return_hidden=False):
        """Run the `(width, depth)` sub-network: its kept layers, heads and neurons.

        Only those are computed: each kept layer runs its first heads and
        FFN neurons on sliced kernels (equal to prefix masks, at about
        `width` of the encoder's cost), whatever the mask variables select.
        """
        layers = depth_layers(self.num_layers, depth)
        heads, neurons = width_sizes(self.num_heads, self.intermediate_dim, width)
        if not self.use_masks and (heads, neurons) != (self.num_heads, self.intermediate_dim):
            raise ValueError("A model without masks runs at full width only.")
        return self.run_layers(inputs, layers, training=training, return_hidden=return_hidden,
                               active_sizes=(heads, neurons) if self.use_masks else None)

    def call(self, inputs, training=False):
        if not self.use_masks:
            return self.run_layers(inputs, training=training)
        x = self.embed(inputs, training)
        for i, layer in enumerate(self.encoder_layers):
            y = layer(x, padding_mask=inputs["padding_mask"], training=training)
            # A dropped layer passes its input through (mask 0); the extracted
            # sub-network, not this blend, is what saves the time.
            gate = ops.cast(self.layer_mask[i], y.dtype)
            x = x + gate * (y - x)
        return self.classify(x, training)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size, "num_layers": self.num_layers,
            "num_heads": self.num_heads, "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim, "num_classes": self.num_classes,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments, "key_dim": self.key_dim,
            "hidden_activation": self.hidden_activation, "dropout": self.dropout,
            "use_masks": self.use_masks, "float32_residual": self.float32_residual,
        })
        return config
