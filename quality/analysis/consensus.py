"""Consensus labels from many labellers' answers. No Django."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

# Reliability counted for a labeller that the caller's reliability table does not know.
UNKNOWN_RELIABILITY = 0.5

Reliability = Mapping[int, float] | tuple[npt.ArrayLike, npt.ArrayLike]


@dataclass(frozen=True)
class Consensus:
    """Per item (sorted by id): the consensus label, its confidence and the number of labels."""

    item_ids: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]


@dataclass(frozen=True)
class DawidSkene:
    """A fitted Dawid–Skene model; see :func:`dawid_skene` for the shapes."""

    consensus: Consensus
    posteriors: npt.NDArray[np.float64]
    labeller_ids: npt.NDArray[np.int64]
    confusion: npt.NDArray[np.float64]
    priors: npt.NDArray[np.float64]
    iterations: int
    converged: bool

    def labeller_accuracy(self) -> npt.NDArray[np.float64]:
        """Per labeller (in ``labeller_ids`` order): the chance they give the true class."""
        diagonal = np.diagonal(self.confusion, axis1=1, axis2=2)
        return np.asarray(diagonal @ self.priors, dtype=np.float64)


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


def _as_ids(values: npt.ArrayLike, name: str, size: int) -> npt.NDArray[np.int64]:
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if array.size != size:
        raise ValueError(f"{name} has {array.size} entries; expected one per annotation ({size})")
    return array


def _reliability_per_annotation(
    labellers: npt.NDArray[np.int64], reliability: Reliability
) -> npt.NDArray[np.float64]:
    if isinstance(reliability, Mapping):
        known = np.fromiter(reliability.keys(), dtype=np.int64, count=len(reliability))
        scores = np.fromiter(reliability.values(), dtype=np.float64, count=len(reliability))
    else:
        known = np.asarray(reliability[0], dtype=np.int64).reshape(-1)
        scores = np.asarray(reliability[1], dtype=np.float64).reshape(-1)
        if known.size != scores.size:
            raise ValueError("reliability: the labeller ids and the scores differ in length")
    if not np.all((scores >= 0) & (scores <= 1)):
        raise ValueError("reliability: every score must lie between 0 and 1")
    order = np.argsort(known, kind="stable")
    known, scores = known[order], scores[order]
    if known.size > 1 and np.any(known[1:] == known[:-1]):
        raise ValueError("reliability: a labeller id is listed twice")
    result = np.full(labellers.size, UNKNOWN_RELIABILITY)
    if known.size:
        position = np.minimum(np.searchsorted(known, labellers), known.size - 1)
        found = known[position] == labellers
        result[found] = scores[position[found]]
    return result


def majority_vote(
    item_ids: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    seed: int = 0,
    item_keys: npt.ArrayLike | None = None,
    label_keys: npt.ArrayLike | None = None,
    labeller_ids: npt.ArrayLike | None = None,
    reliability: Reliability | None = None,
) -> Consensus:
    """Majority vote per item over (item id, label) pairs, one pair per annotation.

    The label given most often wins; confidence is its share of the item's labels.

    With ``labeller_ids`` (one per annotation) and ``reliability`` (a mapping, or a pair of
    arrays ``(ids, scores)``, from labeller id to a score in 0..1 — for instance
    ``(fit.labeller_ids, fit.labeller_accuracy())`` of a :func:`dawid_skene` fit), a tie in vote
    count goes to the tied label whose voters have the larger summed reliability. A labeller
    missing from ``reliability`` counts 0.5. ``labeller_ids`` alone changes nothing.

    A tie that remains is broken by a seeded pseudo-random draw per (item, label), so the same
    data and seed always give the same answer and no label is favoured systematically. The draw
    hashes ``item_keys`` and ``label_keys`` (one per annotation; default: the ids), so stable keys
    (a content hash, the label's name) give the same consensus in a copy of the dataset with
    other ids.
    """
    items = np.asarray(item_ids, dtype=np.int64).reshape(-1)
    labs = _as_ids(labels, "labels", items.size)
    if reliability is not None and labeller_ids is None:
        raise ValueError("majority_vote: reliability needs labeller_ids, one per annotation")
    if items.size == 0:
        empty = np.array([], dtype=np.int64)
        return Consensus(empty, empty, np.array([], dtype=np.float64), empty)
    # One int64 code per (item, label), ordered as the pairs are: np.unique over 1-D codes is
    # many times faster than over rows (axis=0).
    item_set, item_index = np.unique(items, return_inverse=True)
    label_set, label_index = np.unique(labs, return_inverse=True)
    codes = item_index.reshape(-1) * label_set.size + label_index.reshape(-1)
    u_codes, first, inverse, votes = np.unique(
        codes, return_index=True, return_inverse=True, return_counts=True
    )
    u_items, u_labels = item_set[u_codes // label_set.size], label_set[u_codes % label_set.size]
    i_keys = items if item_keys is None else np.asarray(item_keys, dtype=np.uint64)
    l_keys = labs if label_keys is None else np.asarray(label_keys, dtype=np.uint64)
    key = _draw_key(i_keys[first], l_keys[first], seed)
    support: npt.NDArray[np.float64] = np.zeros(u_items.size)
    if labeller_ids is not None and reliability is not None:
        labellers = _as_ids(labeller_ids, "labeller_ids", items.size)
        weights = _reliability_per_annotation(labellers, reliability)
        summed = np.bincount(inverse.reshape(-1), weights=weights, minlength=u_items.size)
        # Sums such as 0.1 + 0.2 and 0.3 differ in the last bit; equal support must stay a tie.
        support = np.asarray(np.round(summed, 9), dtype=np.float64)
    # Sort by item, then votes and support descending, then the draw: the first row per item wins.
    order = np.lexsort((key, -support, -votes, u_items))
    s_items = u_items[order]
    is_first = np.ones(s_items.size, dtype=bool)
    is_first[1:] = s_items[1:] != s_items[:-1]
    winners = order[is_first]
    totals = np.bincount(item_index.reshape(-1), minlength=item_set.size)
    return Consensus(
        item_ids=u_items[winners],
        labels=u_labels[winners],
        confidence=votes[winners] / totals,
        counts=totals.astype(np.int64),
    )


def dawid_skene(
    item_ids: npt.ArrayLike,
    labeller_ids: npt.ArrayLike,
    labels: npt.ArrayLike,
    n_classes: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.01,
    seed: int = 0,
    item_keys: npt.ArrayLike | None = None,
    label_keys: npt.ArrayLike | None = None,
) -> DawidSkene:
    """Dawid & Skene (1979) consensus: EM over class priors and per-labeller confusion matrices.

    Takes one (item id, labeller id, label) triple per annotation, labels being class indices in
    ``0..n_classes-1``. Starts from majority-vote shares; each round re-estimates the priors and
    every labeller's confusion matrix (rows: true class, columns: given label; ``smoothing`` is
    added to every count, so a class nobody used stays finite) and then each item's posterior
    over the true class. Stops once no posterior moves by ``tol`` or more, or after ``max_iter``
    rounds.

    Returns ``posteriors`` (items × classes, items sorted by id as in ``consensus``),
    ``labeller_ids`` (sorted), ``confusion`` (labellers × classes × classes, rows sum to 1) and
    ``priors`` (classes). The consensus label is the most probable class, an exact tie broken by
    the seeded draw of :func:`majority_vote` (same ``seed``, ``item_keys`` and ``label_keys``, one
    per annotation); its confidence is that posterior; counts are the labels per item.
    """
    items = np.asarray(item_ids, dtype=np.int64).reshape(-1)
    labellers = _as_ids(labeller_ids, "labeller_ids", items.size)
    labs = _as_ids(labels, "labels", items.size)
    k = int(n_classes)
    if k < 1:
        raise ValueError("dawid_skene: n_classes must be at least 1")
    if labs.size and (labs.min() < 0 or labs.max() >= k):
        raise ValueError(f"dawid_skene: labels must be class indices in 0..{k - 1}")
    if not smoothing > 0:
        raise ValueError("dawid_skene: smoothing must be positive")
    if max_iter < 1:
        raise ValueError("dawid_skene: max_iter must be at least 1")

    u_items, item_index, counts = np.unique(items, return_inverse=True, return_counts=True)
    u_labellers, labeller_index = np.unique(labellers, return_inverse=True)
    n_items, n_labellers = u_items.size, u_labellers.size
    if n_items == 0:
        empty = np.array([], dtype=np.int64)
        return DawidSkene(
            consensus=Consensus(empty, empty, np.array([], dtype=np.float64), empty),
            posteriors=np.zeros((0, k)),
            labeller_ids=empty,
            confusion=np.zeros((0, k, k)),
            priors=np.full(k, 1 / k),
            iterations=0,
            converged=True,
        )

    # Item-by-(labeller, given label) counts, sparse: one product with it sums each item's
    # evidence (E-step), one with its transpose each labeller's soft confusion counts (M-step).
    group = labeller_index * k + labs
    evidence = sp.csr_matrix(
        (np.ones(items.size), (item_index, group)), shape=(n_items, n_labellers * k)
    )
    votes = np.bincount(item_index * k + labs, minlength=n_items * k).reshape(n_items, k)
    posteriors = votes / counts[:, None]
    iterations, converged = 0, False
    while True:
        iterations += 1
        # Column by column: numpy's .sum(axis=0) over a short last axis is five times slower.
        class_totals = np.array([column.sum() for column in posteriors.T])
        priors = (class_totals + smoothing) / (n_items + k * smoothing)
        # soft[labeller * k + given, true] → confusion[labeller, true, given]
        soft = np.asarray(evidence.T @ posteriors).reshape(n_labellers, k, k)
        confusion = soft.transpose(0, 2, 1) + smoothing
        confusion /= confusion.sum(axis=2, keepdims=True)
        updated = _posteriors(evidence, priors, confusion)
        # The old posteriors are not needed any more: reuse their memory for the change.
        np.subtract(updated, posteriors, out=posteriors)
        change = float(np.abs(posteriors, out=posteriors).max())
        posteriors = updated
        if change < tol:
            converged = True
            break
        if iterations >= max_iter:
            break

    consensus = _most_probable(
        posteriors, u_items, counts, items, labs, item_keys, label_keys, seed
    )
    return DawidSkene(
        consensus=consensus,
        posteriors=posteriors,
        labeller_ids=u_labellers,
        confusion=confusion,
        priors=priors,
        iterations=iterations,
        converged=converged,
    )


def dawid_skene_apply(
    item_ids: npt.ArrayLike,
    labeller_rows: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    priors: npt.ArrayLike,
    confusion: npt.ArrayLike,
    seed: int = 0,
    item_keys: npt.ArrayLike | None = None,
    label_keys: npt.ArrayLike | None = None,
) -> Consensus:
    """Consensus under an already fitted Dawid–Skene model: one E-step, no re-fitting.

    ``labeller_rows`` gives, per annotation, the labeller's row in ``confusion`` (labellers ×
    classes × classes, as :attr:`DawidSkene.confusion`); ``labels`` are class indices and
    ``priors`` the class priors. Labels, confidence, counts and ties as in :func:`dawid_skene`.
    """
    items = np.asarray(item_ids, dtype=np.int64).reshape(-1)
    rows = _as_ids(labeller_rows, "labeller_rows", items.size)
    labs = _as_ids(labels, "labels", items.size)
    prior = np.asarray(priors, dtype=np.float64).reshape(-1)
    matrices = np.asarray(confusion, dtype=np.float64)
    k = prior.size
    if k < 1 or matrices.ndim != 3 or matrices.shape[1:] != (k, k):
        raise ValueError("dawid_skene_apply: confusion must be (labellers, k, k) for k priors")
    if not (np.all(np.isfinite(prior)) and np.all(prior > 0)):
        raise ValueError("dawid_skene_apply: priors must be positive")
    if not (np.all(np.isfinite(matrices)) and np.all(matrices > 0)):
        raise ValueError("dawid_skene_apply: confusion probabilities must be positive")
    if labs.size and (labs.min() < 0 or labs.max() >= k):
        raise ValueError(f"dawid_skene_apply: labels must be class indices in 0..{k - 1}")
    if rows.size and (rows.min() < 0 or rows.max() >= matrices.shape[0]):
        raise ValueError("dawid_skene_apply: a labeller row is outside the confusion array")
    u_items, item_index, counts = np.unique(items, return_inverse=True, return_counts=True)
    if u_items.size == 0:
        empty = np.array([], dtype=np.int64)
        return Consensus(empty, empty, np.array([], dtype=np.float64), empty)
    shape = (u_items.size, matrices.shape[0] * k)
    evidence = sp.csr_matrix((np.ones(items.size), (item_index, rows * k + labs)), shape=shape)
    posteriors = _posteriors(evidence, prior / prior.sum(), matrices)
    return _most_probable(posteriors, u_items, counts, items, labs, item_keys, label_keys, seed)


def _posteriors(
    evidence: sp.csr_matrix, priors: npt.NDArray[np.float64], confusion: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    # E-step in log space: log prior + each annotation's log P(given label | true class), summed
    # per item, then normalised per item (the row maximum subtracted first so exp cannot
    # underflow to 0 for every class of an item with many labels).
    n_labellers, k = confusion.shape[0], confusion.shape[1]
    log_given = np.log(confusion).transpose(0, 2, 1).reshape(n_labellers * k, k)
    result = np.asarray(evidence @ log_given) + np.log(priors)
    result -= _across_classes(np.maximum, result)[:, None]
    np.exp(result, out=result)
    result /= _across_classes(np.add, result)[:, None]
    return result


def _across_classes(ufunc: np.ufunc, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # Per row, column by column: numpy's own reductions over a short last axis (k classes) are
    # several times slower, and a product with a ones vector would wake every BLAS thread.
    result = values[:, 0].copy()
    for column in range(1, values.shape[1]):
        ufunc(result, values[:, column], out=result)
    return result


def _most_probable(
    posteriors: npt.NDArray[np.float64],
    u_items: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    items: npt.NDArray[np.int64],
    labs: npt.NDArray[np.int64],
    item_keys: npt.ArrayLike | None,
    label_keys: npt.ArrayLike | None,
    seed: int,
) -> Consensus:
    k = posteriors.shape[1]
    best = posteriors.max(axis=1)
    winners = posteriors.argmax(axis=1)
    tied = posteriors == best[:, None]
    tied_rows = np.flatnonzero(tied.sum(axis=1) > 1)
    if tied_rows.size:
        # Keys per item and per class from their first annotation, as majority_vote draws them;
        # a class nobody gave keeps its index as its key.
        first_of_item = np.unique(items, return_index=True)[1]
        i_keys = items if item_keys is None else np.asarray(item_keys, dtype=np.uint64)
        l_keys = labs if label_keys is None else np.asarray(label_keys, dtype=np.uint64)
        class_key = np.arange(k, dtype=np.uint64)
        given, first_of_class = np.unique(labs, return_index=True)
        class_key[given] = np.asarray(l_keys, dtype=np.uint64)[first_of_class]
        row_key = np.asarray(i_keys, dtype=np.uint64)[first_of_item[tied_rows]]
        draw = _draw_key(
            np.repeat(row_key, k).reshape(-1, k), np.tile(class_key, (tied_rows.size, 1)), seed
        )
        draw[~tied[tied_rows]] = np.iinfo(np.uint64).max
        # Smallest draw wins, as in majority_vote's sort; equal draws fall back to the class.
        winners[tied_rows] = np.argmin(draw, axis=1)
    return Consensus(
        item_ids=u_items,
        labels=winners.astype(np.int64),
        confidence=best,
        counts=counts.astype(np.int64),
    )
