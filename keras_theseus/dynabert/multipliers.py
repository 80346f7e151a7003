"""DynaBERT width and depth multipliers: which heads, neurons and layers a sub-network keeps."""

import numpy as np

DEFAULT_WIDTHS = (1.0, 0.75, 0.5, 0.25)
DEFAULT_DEPTHS = (1.0, 0.75, 0.5)


def _check_multiplier(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"`{name}` must be a number in (0, 1]. Received: {name}={value!r}")
    return float(value)


def width_sizes(num_heads, intermediate_dim, width):
    """Heads and FFN neurons kept at width multiplier `width`.

    DynaBERT's rule: heads = round(H·w), neurons = int(heads/H · I), so the
    FFN shrinks in step with the attention.

    Raises:
        ValueError: `width` outside (0, 1], or so small that no head is left.

    Example:
    ```python
    width_sizes(12, 1536, 0.25)  # (3, 384)
    ```
    """
    width = _check_multiplier("width", width)
    heads = int(round(num_heads * width))
    if heads < 1:
        raise ValueError(f"`width`={width} keeps round({num_heads}·{width}) = 0 of "
                         f"{num_heads} attention heads; use width >= {0.5 / num_heads:.3g}.")
    return heads, int(heads / num_heads * intermediate_dim)


def depth_layers(num_layers, depth):
    """Indices of the layers kept at depth multiplier `depth`.

    DynaBERT's rule: keep layer ⌊i/d⌋ for i < round(d·L); d = 0.5 keeps
    every other layer, d = 0.75 drops every fourth.

    Example:
    ```python
    depth_layers(12, 0.75)  # [0, 1, 2, 4, 5, 6, 8, 9, 10]
    depth_layers(6, 0.5)    # [0, 2, 4]
    ```
    """
    depth = _check_multiplier("depth", depth)
    kept = int(round(depth * num_layers))
    if kept < 1:
        raise ValueError(f"`depth`={depth} keeps no layer of {num_layers}.")
    return [int(np.floor(i / depth)) for i in range(kept)]


def subnetwork_masks(num_layers, num_heads, intermediate_dim, width=1.0, depth=1.0):
    """0/1 masks `(head_mask (L, H), neuron_mask (L, I), layer_mask (L,))`.

    Width keeps the first heads and neurons (after rewiring, the most
    important ones); depth keeps `depth_layers`.
    """
    heads, neurons = width_sizes(num_heads, intermediate_dim, width)
    head_mask = np.zeros((num_layers, num_heads), "float32")
    head_mask[:, :heads] = 1
    neuron_mask = np.zeros((num_layers, intermediate_dim), "float32")
    neuron_mask[:, :neurons] = 1
    layer_mask = np.zeros((num_layers,), "float32")
    layer_mask[depth_layers(num_layers, depth)] = 1
    return head_mask, neuron_mask, layer_mask


def check_multipliers(name, values):
    """Validate a list of multipliers; return it sorted largest first."""
    if isinstance(values, (int, float)):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError(f"`{name}` must list at least one multiplier.")
    checked = [_check_multiplier(name, v) for v in values]
    if len(set(checked)) != len(checked):
        raise ValueError(f"`{name}` has repeated values: {values!r}")
    return sorted(checked, reverse=True)
