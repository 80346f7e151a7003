"""The subarchitecture search space: depth, heads, hidden and intermediate sizes."""

import dataclasses
import itertools


@dataclasses.dataclass(frozen=True, order=True)
class Candidate:
    """One architecture: `num_layers` encoder layers of `num_heads` heads of
    `head_size`, hidden size `hidden_dim`, FFN size `intermediate_dim`."""

    num_layers: int
    num_heads: int
    hidden_dim: int
    intermediate_dim: int
    head_size: int

    @property
    def name(self):
        return (f"L{self.num_layers}_A{self.num_heads}_H{self.hidden_dim}"
                f"_I{self.intermediate_dim}")

    def param_count(self, vocabulary_size, max_sequence_length, num_segments=2,
                    num_classes=2):
        """Exact number of weights of the classifier this candidate builds."""
        d, a, s, i = self.hidden_dim, self.num_heads, self.head_size, self.intermediate_dim
        embeddings = (vocabulary_size + max_sequence_length + num_segments) * d + 2 * d
        attention = 3 * (d * a * s + a * s) + a * s * d + d
        layer = attention + 2 * 2 * d + d * i + i + i * d + d
        return embeddings + self.num_layers * layer + d * d + d + d * num_classes + num_classes


def _positive_ints(name, values):
    values = [values] if isinstance(values, int) else list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                         for v in values):
        raise ValueError(f"`{name}` must be a non-empty list of positive ints. "
                         f"Received: {name}={values!r}")
    return sorted(set(values))


@dataclasses.dataclass
class SearchSpace:
    """Candidate architectures cut from one teacher (Bort's search space).

    Every combination of `depths` × `heads` × `hidden_sizes` ×
    `intermediate_sizes` is a candidate. Sizes may not exceed the teacher's
    (weights are sliced from it). Heads keep the teacher's head size, which
    `ExactGeluBertBackbone(key_dim=...)` expresses for any head count; with
    `keras_hub_compatible=True` a candidate must also satisfy
    heads × head size = hidden size, the shape keras-hub's own
    `BertBackbone` can hold (for users who load students without
    keras_theseus), and combinations that do not are skipped.

    Args:
        depths, heads, hidden_sizes, intermediate_sizes: lists of positive
            ints.
        keras_hub_compatible: only candidates that a plain
            `keras_hub.models.BertBackbone` can represent.

    Example:
    ```python
    space = SearchSpace(depths=[2, 3, 4], heads=[6, 12], hidden_sizes=[384],
                        intermediate_sizes=[768, 1536])
    space.candidates(teacher)   # 12 Candidates, fewest parameters first
    ```
    """

    depths: list
    heads: list
    hidden_sizes: list
    intermediate_sizes: list
    keras_hub_compatible: bool = False

    def __post_init__(self):
        self.depths = _positive_ints("depths", self.depths)
        self.heads = _positive_ints("heads", self.heads)
        self.hidden_sizes = _positive_ints("hidden_sizes", self.hidden_sizes)
        self.intermediate_sizes = _positive_ints("intermediate_sizes", self.intermediate_sizes)

    def candidates(self, teacher):
        """All valid candidates for `teacher`, ordered by parameter count.

        Args:
            teacher: a keras-hub `BertTextClassifier` or a
                `DynaBertClassifier` (its sizes bound the space).

        Raises:
            ValueError: a size larger than the teacher's, or no valid
                candidate.
        """
        t = _teacher_sizes(teacher)
        for name, values, limit in (("depths", self.depths, t["num_layers"]),
                                    ("heads", self.heads, t["num_heads"]),
                                    ("hidden_sizes", self.hidden_sizes, t["hidden_dim"]),
                                    ("intermediate_sizes", self.intermediate_sizes,
                                     t["intermediate_dim"])):
            if max(values) > limit:
                raise ValueError(f"`{name}` {values} exceeds the teacher's {limit}: candidates "
                                 "are sliced from the teacher's weights.")
        out = []
        for depth, heads, hidden, inter in itertools.product(
                self.depths, self.heads, self.hidden_sizes, self.intermediate_sizes):
            if self.keras_hub_compatible and heads * t["head_size"] != hidden:
                continue
            out.append(Candidate(depth, heads, hidden, inter, t["head_size"]))
        if not out:
            raise ValueError("No candidate satisfies heads × head size "
                             f"({t['head_size']}) = hidden size; widen the space or pass "
                             "keras_hub_compatible=False.")
        return sorted(out, key=lambda c: (c.param_count(t["vocabulary_size"],
                                                        t["max_sequence_length"]), c))


def _teacher_sizes(model):
    backbone = getattr(model, "backbone", None)
    src = backbone if backbone is not None else model
    heads = src.num_heads
    head_size = getattr(src, "key_dim", None) or src.hidden_dim // heads
    return {"num_layers": src.num_layers, "num_heads": heads, "hidden_dim": src.hidden_dim,
            "intermediate_dim": src.intermediate_dim, "head_size": head_size,
            "vocabulary_size": src.vocabulary_size,
            "max_sequence_length": src.max_sequence_length}
