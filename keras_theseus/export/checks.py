"""The error every exporter gives for a model it cannot write."""


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
