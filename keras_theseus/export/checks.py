"""The checks every exporter shares: a model it cannot write, a mismatched vocabulary."""


def not_exportable(model, expected):
    """A `TypeError` naming `expected` and, for a DynaBERT supernet, what to do instead.

    Example:
    ```python
    raise not_exportable(model, "a keras_hub.models.BertTextClassifier")
    ```
    """
    hint = ""
    if type(model).__name__ == "DynaBertClassifier":
        hint = (" A DynaBertClassifier trains every sub-network; export the one you want: "
                "extract_subnetwork(model, width, depth).")
    return TypeError(f"`model` must be {expected} (every student keras_theseus returns is "
                     f"a BertTextClassifier). Received: {type(model).__name__}.{hint}")


def check_vocabulary(tokenizer, backbone):
    """Raise unless `tokenizer` has one token per row of `backbone`'s token embedding."""
    size = tokenizer.vocabulary_size()
    if size != backbone.vocabulary_size:
        raise ValueError(f"The tokenizer has {size} tokens but the model's embedding has "
                         f"{backbone.vocabulary_size} rows; pass the preprocessor the "
                         "student was trained with.")
