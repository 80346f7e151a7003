"""Augment sentence-pair similarity data by symmetry and transitivity.

For paraphrase / question-matching data (AFQMC, LCQMC: `text_a`, `text_b`,
`label` 1 = similar, 0 = dissimilar), extra training pairs follow from three
rules:

- symmetry: `(a, b, y)` gives `(b, a, y)`;
- positive transitivity: `a ~ b` and `b ~ c` give `a ~ c`;
- negative transitivity: `a ~ b` and `b !~ c` give `a !~ c`.

Nothing is ever inferred from two dissimilar pairs (`a !~ b`, `b !~ c` says
nothing about `a` and `c`). The augmented set is meant to train a stronger
teacher, or to give the student more pairs to distil from.
"""

import bisect
import logging
import math
import numbers
import random

import pandas as pd

logger = logging.getLogger(__name__)

SOURCES = ("original", "symmetry", "transitive_positive", "transitive_negative")
STATS_KEY = "augmentation_stats"

# Below this many candidate pairs the pool is simply enumerated.
_SMALL_POOL = 4096


def augment_pairs(
    frame,
    *,
    symmetry=True,
    transitivity=True,
    positive_label=1,
    negative_label=0,
    ignore_labels=(),
    text_a="text_a",
    text_b="text_b",
    label="label",
    normalize=None,
    max_new=None,
    seed=0,
    keep_original=True,
    source_column="augmentation",
):
    """Add the pairs implied by symmetry and transitivity of similarity.

    Rules. Texts are nodes of an undirected graph; a pair labelled
    `positive_label` is a "similar" edge, one labelled `negative_label` a
    "dissimilar" edge.

    - symmetry: every input row `(a, b, y)` gives `(b, a, y)` (same label
      value as the row), unless the ordered pair `(b, a)` is already in the
      input. Applies to input rows only; inferred pairs are added in one
      orientation (the text that appears first in the input comes first).
    - positive transitivity: similar edges are merged into connected
      components (union-find); every two texts of one component are similar
      (`transitive_positive`, label `positive_label`).
    - negative transitivity: a dissimilar edge between components `A` and
      `B` makes every text of `A` dissimilar to every text of `B`
      (`transitive_negative`, label `negative_label`). Two dissimilar edges
      alone never imply anything.

    Duplicates and self-pairs. Texts are compared by exact string equality,
    or by `normalize(text)` when given (for instance
    `keras_theseus.datasets.splits.normalize_text` to ignore whitespace
    differences). An inferred pair is never `(a, a)` and never equal, in
    either order, to a pair already in the input (whatever its label) or to
    another added row. Inferred rows use each text's first spelling in the
    input.

    Conflicts. A component is inconsistent when some pair inside it is
    labelled dissimilar: the same unordered pair labelled both ways, a
    `(a, a)` pair labelled dissimilar, or `a ~ b ~ c` with `a !~ c`.
    Inconsistent components produce no inferred pairs at all (neither
    positive pairs inside them nor negative pairs to other components), and
    rows whose unordered pair carries both labels get no symmetric copy.
    Input rows are never dropped or changed. Counts are reported in
    `result.attrs["augmentation_stats"]` (below) and, when there are
    conflicts, in one `logging` warning of this module's logger.

    Cap. `max_new` caps the number of added rows (all sources together).
    When there are more candidates than that, exactly `max_new` of them are
    drawn uniformly at random, without replacement, with
    `random.Random(seed)` and without listing every candidate, so the cost
    stays near `O(rows + max_new)` even when components are large. The
    draw is the same for the same input and seed. With `max_new=None` every
    implied pair is added: that is quadratic in component sizes, so set a
    cap on large data. Negative candidates usually outnumber positive ones
    (`|A| * |B|` per dissimilar edge), so a uniform draw keeps that
    imbalance; check the stats and rebalance if needed.

    Args:
        frame: a `pandas.DataFrame` with the two text columns and a label
            column. It is not modified.
        symmetry: add reversed copies of input rows.
        transitivity: add positive and negative transitive pairs.
        positive_label: label value meaning "similar"; inferred similar
            pairs get this value.
        negative_label: label value meaning "dissimilar"; inferred
            dissimilar pairs get this value.
        ignore_labels: other label values allowed in the input (e.g. NLI
            "neutral"). Such rows are kept and count as existing pairs for
            de-duplication, but take part in no rule. Any label that is not
            `positive_label`, `negative_label` or in `ignore_labels` raises.
            For 3-class NLI map entailment/contradiction through
            `positive_label`/`negative_label` and pass `symmetry=False`
            (entailment is not symmetric).
        text_a, text_b, label: column names.
        normalize: optional callable `text -> hashable key` used to compare
            texts; `None` compares the strings exactly.
        max_new: `None` (no cap) or an int >= 0, the most rows to add.
        seed: int seed for the draw under `max_new` (`None`: not
            reproducible).
        keep_original: return the input rows first (`True`) or only the
            added rows (`False`). Input rows are used for inference either
            way.
        source_column: name of the column saying where each row comes from:
            `"original"`, `"symmetry"`, `"transitive_positive"` or
            `"transitive_negative"`. Must not already be in `frame`.

    Returns:
        A new DataFrame with a fresh `RangeIndex`: input rows (in input
        order) then added rows (symmetry rows in input order, then positive,
        then negative inferred pairs, in a fixed order). Columns are the
        input's plus `source_column`; other input columns are missing (NaN)
        in added rows. `result.attrs["augmentation_stats"]` is a dict:

        - `"original"`, `"symmetry"`, `"transitive_positive"`,
          `"transitive_negative"`: rows of each source in the result
          (`"original"` counts input rows even when `keep_original=False`);
        - `"candidates"`: dict of how many rows each added source could
          contribute before `max_new`; `"capped"`: whether the cap cut any;
        - `"conflicting_pairs"`: unordered pairs labelled both similar and
          dissimilar; `"inconsistent_components"`: components with a
          dissimilar pair inside; `"inconsistent_texts"`: texts in them;
        - `"positive_components"`: consistent components of >= 2 texts;
        - `"self_pairs"`: input rows whose two texts are equal;
          `"ignored_rows"`: rows with a label in `ignore_labels`.

    Raises:
        TypeError: `frame` is not a DataFrame; `normalize` is not callable;
            `max_new` or `seed` is not an int.
        ValueError: a named column is missing or has missing values; a label
            is none of `positive_label`, `negative_label`, `ignore_labels`;
            `positive_label == negative_label`; `max_new < 0`;
            `source_column` already exists.

    Example:

    >>> import pandas as pd
    >>> from keras_theseus.distill.pair_augmentation import augment_pairs
    >>> train = pd.DataFrame({
    ...     "text_a": ["how to pay", "how to pay", "how to pay"],
    ...     "text_b": ["how do I pay", "paying how", "refund"],
    ...     "label": [1, 1, 0],
    ... })
    >>> out = augment_pairs(train, symmetry=False)
    >>> out[out.augmentation != "original"][["text_a", "text_b", "label"]].values.tolist()
    [['how do I pay', 'paying how', 1], ['how do I pay', 'refund', 0], ['paying how', 'refund', 0]]
    >>> out.attrs["augmentation_stats"]["transitive_negative"]
    2
    """
    _validate(frame, text_a, text_b, label, positive_label, negative_label, ignore_labels,
              normalize, max_new, seed, source_column)
    max_new = None if max_new is None else int(max_new)
    seed = None if seed is None else int(seed)

    a_texts = frame[text_a].tolist()
    b_texts = frame[text_b].tolist()
    labels = frame[label].tolist()
    n_rows = len(labels)
    is_pos = frame[label].isin([positive_label]).to_numpy().tolist()
    is_neg = frame[label].isin([negative_label]).to_numpy().tolist()

    # Nodes, numbered in order of first appearance; keep the first spelling.
    node_of = {}
    spelling = []

    def node(text):
        key = text if normalize is None else normalize(text)
        if key not in node_of:
            node_of[key] = len(spelling)
            spelling.append(text)
        return node_of[key]

    row_nodes = [(node(a), node(b)) for a, b in zip(a_texts, b_texts)]
    n_nodes = len(spelling)

    # Union-find over similar edges.
    parent = list(range(n_nodes))
    size = [1] * n_nodes

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for (u, v), pos in zip(row_nodes, is_pos):
        if pos:
            ru, rv = find(u), find(v)
            if ru != rv:
                if size[ru] < size[rv]:
                    ru, rv = rv, ru
                parent[rv] = ru
                size[ru] += size[rv]

    ordered_pairs = set(row_nodes)
    existing = set()  # unordered pairs (u < v) in the input, any label
    pos_pairs, neg_pairs = set(), set()
    inconsistent_roots = set()
    self_pairs = 0
    for (u, v), pos, neg in zip(row_nodes, is_pos, is_neg):
        if u == v:
            self_pairs += 1
            if neg:
                inconsistent_roots.add(find(u))
            continue
        key = (u, v) if u < v else (v, u)
        existing.add(key)
        if pos:
            pos_pairs.add(key)
        elif neg:
            neg_pairs.add(key)
            if find(u) == find(v):
                inconsistent_roots.add(find(u))
    conflicting = pos_pairs & neg_pairs

    # Members of each component, ordered by node number.
    members = {}
    for x in range(n_nodes):
        members.setdefault(find(x), []).append(x)

    # The candidate pool: a list of blocks, each (source, count, decode, excluded).
    blocks = []

    sym_rows = []
    if symmetry:
        seen = set()
        for i, ((u, v), pos, neg) in enumerate(zip(row_nodes, is_pos, is_neg)):
            if not (pos or neg) or (v, u) in ordered_pairs or (v, u) in seen:
                continue
            if ((u, v) if u < v else (v, u)) in conflicting:
                continue
            seen.add((v, u))
            sym_rows.append(i)
        if sym_rows:
            blocks.append(("symmetry", len(sym_rows), sym_rows.__getitem__, 0))

    n_positive_components = 0
    if transitivity:
        consistent = {
            root: nodes for root, nodes in members.items() if root not in inconsistent_roots
        }
        n_positive_components = sum(len(nodes) > 1 for nodes in consistent.values())
        pos_blocks = {}
        for root, nodes in consistent.items():
            k = len(nodes)
            if k > 1:
                pos_blocks[root] = [k * (k - 1) // 2, 0, nodes]
        neg_blocks = {}
        for u, v in sorted(neg_pairs):
            ru, rv = find(u), find(v)
            if ru == rv or ru not in consistent or rv not in consistent:
                continue
            first, second = sorted((ru, rv), key=lambda r: members[r][0])
            if (first, second) not in neg_blocks:
                neg_blocks[(first, second)] = [
                    len(members[first]) * len(members[second]), 0,
                    members[first], members[second]]
        for u, v in existing:
            ru, rv = find(u), find(v)
            if ru == rv:
                if ru in pos_blocks:
                    pos_blocks[ru][1] += 1
            else:
                pair = (ru, rv) if members[ru][0] < members[rv][0] else (rv, ru)
                if pair in neg_blocks:
                    neg_blocks[pair][1] += 1
        for root in sorted(pos_blocks, key=lambda r: members[r][0]):
            count, excluded, nodes = pos_blocks[root]
            blocks.append(("transitive_positive", count, _triangle_decoder(nodes), excluded))
        for pair in sorted(neg_blocks, key=lambda p: (members[p[0]][0], members[p[1]][0])):
            count, excluded, left, right = neg_blocks[pair]
            blocks.append(("transitive_negative", count, _product_decoder(left, right), excluded))

    candidates = dict.fromkeys(SOURCES[1:], 0)
    for source, count, _, excluded in blocks:
        candidates[source] += count - excluded
    available = sum(candidates.values())
    total = sum(block[1] for block in blocks)
    n_excluded = total - available
    starts = []
    offset = 0
    for block in blocks:
        starts.append(offset)
        offset += block[1]

    def decode(index):
        b = bisect.bisect_right(starts, index) - 1
        return b, blocks[b][2](index - starts[b])

    def usable(b, item):
        if blocks[b][0] == "symmetry":
            return True
        u, v = item
        return (u, v) not in existing

    if max_new is None or max_new >= available:
        chosen = [i for i in range(total) if usable(*decode(i))]
    elif total <= 2 * n_excluded + 4 * max_new + _SMALL_POOL:
        pool = [i for i in range(total) if usable(*decode(i))]
        chosen = sorted(random.Random(seed).sample(pool, max_new))
    else:
        # Rejection sampling: at least half the pool is usable.
        rng = random.Random(seed)
        picked = set()
        while len(picked) < max_new:
            i = rng.randrange(total)
            if i not in picked and usable(*decode(i)):
                picked.add(i)
        chosen = sorted(picked)

    new_a, new_b, new_label, new_source = [], [], [], []
    for i in chosen:
        b, item = decode(i)
        source = blocks[b][0]
        if source == "symmetry":
            new_a.append(b_texts[item])
            new_b.append(a_texts[item])
            new_label.append(labels[item])
        else:
            u, v = item
            new_a.append(spelling[u])
            new_b.append(spelling[v])
            new_label.append(positive_label if source == "transitive_positive" else negative_label)
        new_source.append(source)

    added = pd.DataFrame({text_a: new_a, text_b: new_b, source_column: new_source})
    added[label] = pd.Series(new_label, dtype=object)
    try:
        added[label] = added[label].astype(frame[label].dtype)
    except (TypeError, ValueError):
        pass
    parts = []
    if keep_original:
        original = frame.copy()
        original[source_column] = "original"
        parts.append(original)
    parts.append(added)
    if keep_original and added.empty:
        result = parts[0].reset_index(drop=True)
    else:
        result = pd.concat(parts, ignore_index=True)
    result = result.reindex(columns=[*frame.columns, source_column])

    inconsistent_texts = sum(len(members[root]) for root in inconsistent_roots)
    stats = {
        "original": n_rows,
        "symmetry": new_source.count("symmetry"),
        "transitive_positive": new_source.count("transitive_positive"),
        "transitive_negative": new_source.count("transitive_negative"),
        "candidates": candidates,
        "capped": len(chosen) < available,
        "conflicting_pairs": len(conflicting),
        "inconsistent_components": len(inconsistent_roots),
        "inconsistent_texts": inconsistent_texts,
        "positive_components": n_positive_components,
        "self_pairs": self_pairs,
        "ignored_rows": n_rows - sum(p or q for p, q in zip(is_pos, is_neg)),
    }
    result.attrs = {STATS_KEY: stats}
    if inconsistent_roots:
        logger.warning(
            "augment_pairs: %d positive component(s) (%d texts) contain a pair labelled "
            "dissimilar (%d unordered pair(s) carry both labels); no pairs were inferred "
            "from them.",
            len(inconsistent_roots), inconsistent_texts, len(conflicting),
        )
    return result


def _triangle_decoder(nodes):
    """Index `t` in `[0, k(k-1)/2)` -> pair `(nodes[i], nodes[j])`, `i < j`."""

    def decode(t):
        j = (1 + math.isqrt(1 + 8 * t)) // 2
        i = t - j * (j - 1) // 2
        return nodes[i], nodes[j]

    return decode


def _product_decoder(left, right):
    """Index `t` in `[0, |left| * |right|)` -> pair ordered by node number."""
    width = len(right)

    def decode(t):
        u, v = left[t // width], right[t % width]
        return (u, v) if u < v else (v, u)

    return decode


def _validate(frame, text_a, text_b, label, positive_label, negative_label, ignore_labels,
              normalize, max_new, seed, source_column):
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"`frame` must be a pandas DataFrame. Received: {type(frame).__name__}"
        )
    for argument, column in (("text_a", text_a), ("text_b", text_b), ("label", label)):
        if column not in frame.columns:
            raise ValueError(
                f"Column {column!r} (argument `{argument}`) is not in the frame. "
                f"Columns: {list(frame.columns)}"
            )
        missing = frame[column].isna().to_numpy()
        if missing.any():
            first = frame.index[missing.argmax()]
            raise ValueError(
                f"Column {column!r} (argument `{argument}`) has {int(missing.sum())} missing "
                f"value(s), first at index {first!r}."
            )
    if source_column in frame.columns:
        raise ValueError(
            f"Column {source_column!r} (argument `source_column`) is already in the frame; "
            "drop it or pass another `source_column`."
        )
    if positive_label == negative_label:
        raise ValueError(
            "`positive_label` and `negative_label` must differ. "
            f"Received: both {positive_label!r}"
        )
    if normalize is not None and not callable(normalize):
        raise TypeError(
            f"`normalize` must be None or a callable. Received: {type(normalize).__name__}"
        )
    if max_new is not None:
        if isinstance(max_new, bool) or not isinstance(max_new, numbers.Integral):
            raise TypeError(f"`max_new` must be None or an int. Received: {max_new!r}")
        if max_new < 0:
            raise ValueError(f"`max_new` must be >= 0. Received: {max_new!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"`seed` must be None or an int. Received: {seed!r}")
    allowed = [positive_label, negative_label, *ignore_labels]
    bad = ~frame[label].isin(allowed).to_numpy()
    if bad.any():
        values = list(dict.fromkeys(frame[label].to_numpy()[bad].tolist()))
        raise ValueError(
            f"Column {label!r} (argument `label`) has value(s) {values[:5]!r} that are neither "
            f"`positive_label`={positive_label!r} nor `negative_label`={negative_label!r} and "
            f"not in `ignore_labels`={tuple(ignore_labels)!r}. Map them to one of those, or "
            "list them in `ignore_labels`."
        )
