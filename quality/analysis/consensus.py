"""Consensus labels from many labellers' answers. No Django."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Consensus:
    """Per item (sorted by id): the consensus label, its confidence and the number of labels."""

    item_ids: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]


def _draw_key(
    item_ids: npt.NDArray[Any], labels: npt.NDArray[Any], seed: int
) -> npt.NDArray[np.uint64]:
    # A seeded, reproducible pseudo-random key per (item, label) for tie-breaking (SplitMix64).
    with np.errstate(over="ignore"):
        x = (
            item_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            + labels.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
            + np.uint64(seed & 0xFFFFFFFF)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def majority_vote(
    item_ids: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    seed: int = 0,
    item_keys: npt.ArrayLike | None = None,
    label_keys: npt.ArrayLike | None = None,
) -> Consensus:
    """Majority vote per item over (item id, label) pairs, one pair per annotation.

    The label given most often wins; confidence is its share of the item's labels. A tie is
    broken by a seeded pseudo-random draw per (item, label), so the same data and seed always give
    the same answer and no label is favoured systematically. The draw hashes ``item_keys`` and
    ``label_keys`` (one per annotation; default: the ids), so stable keys (a content hash, the
    label's name) give the same consensus in a copy of the dataset with other ids.
    """
    items = np.asarray(item_ids, dtype=np.int64)
    labs = np.asarray(labels, dtype=np.int64)
    if items.size == 0:
        empty = np.array([], dtype=np.int64)
        return Consensus(empty, empty, np.array([], dtype=np.float64), empty)
    pairs = np.stack([items, labs], axis=1)
    uniq, first, votes = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    u_items, u_labels = uniq[:, 0], uniq[:, 1]
    i_keys = items if item_keys is None else np.asarray(item_keys, dtype=np.uint64)
    l_keys = labs if label_keys is None else np.asarray(label_keys, dtype=np.uint64)
    key = _draw_key(i_keys[first], l_keys[first], seed)
    # Sort by item, then votes descending, then the draw: the first row per item wins.
    order = np.lexsort((key, -votes, u_items))
    s_items = u_items[order]
    first = np.ones(s_items.size, dtype=bool)
    first[1:] = s_items[1:] != s_items[:-1]
    winners = order[first]
    item_totals = np.unique(items, return_counts=True)
    totals = item_totals[1]
    return Consensus(
        item_ids=u_items[winners],
        labels=u_labels[winners],
        confidence=votes[winners] / totals,
        counts=totals.astype(np.int64),
    )
