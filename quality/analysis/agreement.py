"""Inter-annotator agreement over an annotations frame. No Django.

Every function takes ``annotations``: a DataFrame with integer columns ``item``, ``labeller`` and
``label`` (a class code ``0 .. n_classes - 1``), one row per (item, labeller), and optionally
``time_ms``. Rates are fractions 0..1. A statistic the data leave undefined (one class only, no
item labelled twice, …) is ``None`` with a short ``reason``; nothing here returns NaN or raises
for it. Bad input (a missing column, a label outside the classes, a repeated (item, labeller))
raises ``ValueError`` with a readable message.

The work is vectorised over annotations and over the items × classes count matrix; no
items × labellers matrix is ever built.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import krippendorff
import numpy as np
import numpy.typing as npt
import pandas as pd
from statsmodels.stats.inter_rater import cohens_kappa as _sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as _sm_fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

Level = Literal["nominal", "ordinal", "interval", "ratio"]
KappaWeights = Literal["linear", "quadratic"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Past this many labellers the pairwise matrix keeps only labellers with a qualifying pair.
MAX_PAIRWISE_LABELLERS = 300

_NO_PAIRABLE_ITEMS = "no item has two or more labels"
_ONE_CLASS = "every comparable label is the same class, so chance agreement is total"


def _json_safe(value: Any) -> Any:
    """Plain Python for JSON: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of one of this module's frames as JSON-safe dicts."""
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    return [
        {name: _json_safe(values[row]) for name, values in columns.items()}
        for row in range(len(frame))
    ]


def _optional(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Statistic:
    """One agreement figure: its value (None when undefined, with the reason) and the number of
    items it rests on (items with two or more labels)."""

    value: float | None
    n_items: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _json_safe(self.value),
            "n_items": int(self.n_items),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FleissResult:
    """Fleiss' kappa over the items that share the most common label count.

    ``observed`` is the mean per-item agreement (Fleiss' P̄) and ``expected`` the chance
    agreement (P̄e) of those items. ``n_items_excluded`` counts the items with two or more labels
    that were left out because their label count differs.
    """

    value: float | None
    n_items: int
    raters_per_item: int | None
    n_items_excluded: int
    observed: float | None = None
    expected: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _json_safe(self.value),
            "n_items": int(self.n_items),
            "raters_per_item": self.raters_per_item,
            "n_items_excluded": int(self.n_items_excluded),
            "observed": _json_safe(self.observed),
            "expected": _json_safe(self.expected),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa of a two-rater table, its asymptotic standard error (ASE, not under H0) and
    95% confidence interval; ``n`` is the table's total."""

    value: float | None
    ase: float | None
    ci95: tuple[float, float] | None
    n: int
    weights: KappaWeights | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _json_safe(self.value),
            "ase": _json_safe(self.ase),
            "ci95": None if self.ci95 is None else _json_safe(list(self.ci95)),
            "n": int(self.n),
            "weights": self.weights,
            "reason": self.reason,
        }


@dataclass(frozen=True, eq=False)
class PairwiseKappa:
    """Unweighted Cohen's kappa between every two labellers over the items both labelled.

    ``labellers`` (L,) holds the ids in ascending order; ``kappa`` (L, L) is symmetric with NaN
    where undefined, where the two share fewer than ``min_shared`` items, and on the diagonal;
    ``shared`` (L, L) counts shared items, with each labeller's own item count on the diagonal.
    ``n_labellers_omitted`` labellers were left out to keep the matrix small.
    """

    labellers: IntArray
    kappa: FloatArray
    shared: IntArray
    min_shared: int
    n_labellers_omitted: int = 0

    def to_dict(self) -> dict[str, Any]:
        kappa = [[_optional(v) for v in row] for row in self.kappa.tolist()]
        return {
            "labellers": [int(v) for v in self.labellers.tolist()],
            "kappa": kappa,
            "shared": [[int(v) for v in row] for row in self.shared.tolist()],
            "min_shared": int(self.min_shared),
            "n_labellers_omitted": int(self.n_labellers_omitted),
        }


@dataclass(frozen=True)
class Counts:
    """Sizes of the annotations frame."""

    items: int
    labellers: int
    annotations: int
    items_with_2plus: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": int(self.items),
            "labellers": int(self.labellers),
            "annotations": int(self.annotations),
            "items_with_2plus": int(self.items_with_2plus),
        }


@dataclass(frozen=True, eq=False)
class AgreementReport:
    """Everything :func:`agreement_report` computes; the frames are those of the functions of the
    same names."""

    counts: Counts
    level: Level
    alpha: Statistic
    alpha_nominal: Statistic
    fleiss: FleissResult
    percent_agreement: Statistic
    pairwise: PairwiseKappa
    labellers: pd.DataFrame
    classes: pd.DataFrame
    confusions: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts.to_dict(),
            "level": self.level,
            "alpha": self.alpha.to_dict(),
            "alpha_nominal": self.alpha_nominal.to_dict(),
            "fleiss": self.fleiss.to_dict(),
            "percent_agreement": self.percent_agreement.to_dict(),
            "pairwise": self.pairwise.to_dict(),
            "labellers": frame_records(self.labellers),
            "classes": frame_records(self.classes),
            "confusions": frame_records(self.confusions),
        }


@dataclass(frozen=True, eq=False)
class _Prepared:
    """The annotations as arrays, sorted by (item, labeller), ids replaced by dense codes."""

    item_ids: IntArray  # (I,) ascending
    labeller_ids: IntArray  # (L,) ascending
    item: npt.NDArray[np.intp]  # (N,) index into item_ids
    labeller: npt.NDArray[np.intp]  # (N,) index into labeller_ids
    label: IntArray  # (N,)
    counts: IntArray  # (I, n_classes): labels of each class per item
    time_ms: FloatArray | None  # (N,)

    @property
    def n_classes(self) -> int:
        return int(self.counts.shape[1])

    @property
    def sizes(self) -> IntArray:
        return np.asarray(self.counts.sum(axis=1), dtype=np.int64)


def _int_column(frame: pd.DataFrame, name: str) -> IntArray:
    values = np.asarray(frame[name].to_numpy())
    if values.dtype.kind in "iub":
        return values.astype(np.int64, copy=False)
    try:
        as_float = values.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"annotations.{name} must hold whole numbers") from error
    if not (np.isfinite(as_float).all() and (as_float == np.round(as_float)).all()):
        raise ValueError(f"annotations.{name} must hold whole numbers (no blanks)")
    return as_float.astype(np.int64)


def _prepare(annotations: pd.DataFrame, n_classes: int | None) -> _Prepared:
    columns = ("item", "labeller", "label")
    missing = [c for c in columns if c not in annotations.columns]
    if missing and len(annotations) > 0:
        raise ValueError(f"annotations lacks the column(s): {', '.join(missing)}")
    if missing:
        items = labellers = labels = np.array([], dtype=np.int64)
    else:
        items, labellers, labels = (_int_column(annotations, c) for c in columns)
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer):
        raise ValueError("n_classes must be a whole number")
    n_classes = int(n_classes)
    if n_classes < 1:
        raise ValueError("n_classes must be at least 1")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"annotations.label must be a class code from 0 to {n_classes - 1}")

    item_ids, item = np.unique(items, return_inverse=True)
    labeller_ids, labeller = np.unique(labellers, return_inverse=True)
    item = item.reshape(-1)
    labeller = labeller.reshape(-1)
    key = item.astype(np.int64) * max(labeller_ids.size, 1) + labeller
    order = np.argsort(key, kind="stable")
    key = key[order]
    repeated = int(np.count_nonzero(key[1:] == key[:-1]))
    if repeated:
        raise ValueError(f"annotations has {repeated} repeated (item, labeller) row(s)")
    item, labeller, labels = item[order], labeller[order], labels[order]
    counts = np.bincount(item * n_classes + labels, minlength=item_ids.size * n_classes)
    time_ms: FloatArray | None = None
    if "time_ms" in annotations.columns and not missing:
        raw = pd.to_numeric(annotations["time_ms"], errors="coerce")
        time_ms = np.asarray(raw.to_numpy(dtype=np.float64, na_value=np.nan))[order]
    return _Prepared(
        item_ids=item_ids.astype(np.int64),
        labeller_ids=labeller_ids.astype(np.int64),
        item=item,
        labeller=labeller,
        label=labels,
        counts=counts.reshape(item_ids.size, n_classes).astype(np.int64),
        time_ms=time_ms,
    )


def _pairable(counts: IntArray) -> IntArray:
    return np.asarray(counts[counts.sum(axis=1) >= 2], dtype=np.int64)


def _class_values(values: Sequence[float] | npt.ArrayLike | None, n_classes: int) -> FloatArray:
    if values is None:
        return np.arange(n_classes, dtype=np.float64)
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size != n_classes:
        raise ValueError(f"values has {array.size} entries; expected one per class ({n_classes})")
    if not np.isfinite(array).all():
        raise ValueError("values must be finite numbers")
    if np.unique(array).size != array.size:
        raise ValueError("values must differ from class to class")
    return array


def _check_level(level: str) -> Level:
    if level not in get_args(Level):
        raise ValueError(f"level must be one of {', '.join(get_args(Level))}, not {level!r}")
    return cast(Level, level)


def _alpha(counts: IntArray, level: Level, values: FloatArray) -> Statistic:
    pairable = _pairable(counts)
    n_items = int(pairable.shape[0])
    if n_items == 0:
        return Statistic(None, 0, _NO_PAIRABLE_ITEMS)
    if np.count_nonzero(pairable.sum(axis=0)) < 2:
        return Statistic(None, n_items, _ONE_CLASS)
    # krippendorff reads the order of the value domain as the scale's order (ordinal metric).
    order = np.argsort(values, kind="stable")
    with np.errstate(all="ignore"):
        value = float(
            krippendorff.alpha(
                value_counts=pairable[:, order],
                value_domain=values[order],
                level_of_measurement=level,
            )
        )
    if not math.isfinite(value):
        return Statistic(None, n_items, "the labels given never differ on this scale")
    return Statistic(value, n_items)


def _percent_agreement(counts: IntArray) -> Statistic:
    pairable = _pairable(counts).astype(np.float64)
    if pairable.shape[0] == 0:
        return Statistic(None, 0, _NO_PAIRABLE_ITEMS)
    sizes = pairable.sum(axis=1)
    per_item = ((pairable**2).sum(axis=1) - sizes) / (sizes * (sizes - 1))
    return Statistic(float(per_item.mean()), int(pairable.shape[0]))


def _fleiss(counts: IntArray) -> FleissResult:
    sizes = counts.sum(axis=1)
    eligible = sizes[sizes >= 2]
    if eligible.size == 0:
        return FleissResult(None, 0, None, 0, reason=_NO_PAIRABLE_ITEMS)
    label_counts, frequency = np.unique(eligible, return_counts=True)
    raters = int(label_counts[frequency == frequency.max()].max())
    table = counts[sizes == raters].astype(np.float64)
    n_items = int(table.shape[0])
    excluded = int(eligible.size) - n_items
    shares = table.sum(axis=0) / table.sum()
    expected = float((shares**2).sum())
    observed = float((((table**2).sum(axis=1) - raters) / (raters * (raters - 1))).mean())
    if expected >= 1.0 - 1e-12:
        return FleissResult(None, n_items, raters, excluded, observed, expected, _ONE_CLASS)
    value = float(_sm_fleiss_kappa(table, method="fleiss"))
    return FleissResult(value, n_items, raters, excluded, observed, expected)


def _coincidences(counts: IntArray) -> FloatArray:
    """Krippendorff's coincidence matrix (n_classes, n_classes) over items with 2+ labels."""
    pairable = _pairable(counts).astype(np.float64)
    weight = 1.0 / (pairable.sum(axis=1) - 1.0)
    weighted = pairable * weight[:, None]
    return np.asarray(weighted.T @ pairable - np.diag(weighted.sum(axis=0)), dtype=np.float64)


def _within_item_pairs(
    prepared: _Prepared,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Row indices (first, second) of every two annotations of one item, first < second."""
    sizes = prepared.sizes
    starts = np.cumsum(sizes) - sizes
    rank = np.arange(prepared.item.size) - starts[prepared.item]
    after = (sizes[prepared.item] - rank - 1).astype(np.intp)
    first = np.repeat(np.arange(prepared.item.size, dtype=np.intp), after)
    block_start = np.cumsum(after) - after
    step = np.arange(first.size, dtype=np.intp) - np.repeat(block_start, after) + 1
    return first, first + step


def _pairwise(prepared: _Prepared, min_shared: int, max_labellers: int) -> PairwiseKappa:
    n_labellers = prepared.labeller_ids.size
    k = prepared.n_classes
    first, second = _within_item_pairs(prepared)
    # Rows are sorted by labeller within an item, so a < b in every pair.
    a = prepared.labeller[first].astype(np.int64)
    b = prepared.labeller[second].astype(np.int64)
    pair_keys, pair = np.unique(a * n_labellers + b, return_inverse=True)
    pair = pair.reshape(-1)
    n_pairs = pair_keys.size
    label_a, label_b = prepared.label[first], prepared.label[second]
    # Kappa needs only each pair's agreeing count and its two margins, not the k-by-k table.
    shared = np.bincount(pair, minlength=n_pairs)
    agreeing = np.bincount(pair[label_a == label_b], minlength=n_pairs)
    margin_a = np.bincount(pair * k + label_a, minlength=n_pairs * k).reshape(n_pairs, k)
    margin_b = np.bincount(pair * k + label_b, minlength=n_pairs * k).reshape(n_pairs, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = shared.astype(np.float64)
        observed = agreeing / total
        expected = (margin_a * margin_b).sum(axis=1) / total**2
        kappa = (observed - expected) / (1.0 - expected)
    kappa[(shared < min_shared) | (1.0 - expected < 1e-12)] = np.nan
    pair_a, pair_b = pair_keys // max(n_labellers, 1), pair_keys % max(n_labellers, 1)

    own_items = np.bincount(prepared.labeller, minlength=n_labellers)
    keep = np.arange(n_labellers)
    if n_labellers > max_labellers:
        qualifying = shared >= min_shared
        partners = np.bincount(pair_a[qualifying], minlength=n_labellers) + np.bincount(
            pair_b[qualifying], minlength=n_labellers
        )
        keep = np.flatnonzero(partners > 0)
        if keep.size > max_labellers:
            # The best-connected labellers, then the busiest; ascending ids in the result.
            ranked = keep[np.lexsort((-own_items[keep], -partners[keep]))]
            keep = np.sort(ranked[:max_labellers])
    position = np.full(n_labellers, -1, dtype=np.int64)
    position[keep] = np.arange(keep.size)
    kept = (position[pair_a] >= 0) & (position[pair_b] >= 0)
    row, col = position[pair_a[kept]], position[pair_b[kept]]

    kappa_matrix = np.full((keep.size, keep.size), np.nan)
    kappa_matrix[row, col] = kappa[kept]
    kappa_matrix[col, row] = kappa[kept]
    shared_matrix = np.zeros((keep.size, keep.size), dtype=np.int64)
    shared_matrix[row, col] = shared[kept]
    shared_matrix[col, row] = shared[kept]
    shared_matrix[np.arange(keep.size), np.arange(keep.size)] = own_items[keep]
    return PairwiseKappa(
        labellers=prepared.labeller_ids[keep],
        kappa=kappa_matrix,
        shared=shared_matrix,
        min_shared=min_shared,
        n_labellers_omitted=int(n_labellers - keep.size),
    )


def _decision_per_item(prepared: _Prepared, decided: pd.Series | None) -> IntArray:
    """The reviewer's class code per item, or -1 where there is no decision."""
    reference = np.full(prepared.item_ids.size, -1, dtype=np.int64)
    if decided is None or len(decided) == 0:
        return reference
    known = decided.dropna()
    ids = np.asarray(known.index.to_numpy(), dtype=np.int64)
    codes = np.asarray(known.to_numpy(), dtype=np.float64)
    if not (codes == np.round(codes)).all() or ((codes < 0) | (codes >= prepared.n_classes)).any():
        raise ValueError(f"decided must hold class codes from 0 to {prepared.n_classes - 1}")
    position = np.minimum(np.searchsorted(prepared.item_ids, ids), prepared.item_ids.size - 1)
    found = (prepared.item_ids.size > 0) & (prepared.item_ids[position] == ids)
    reference[position[found]] = codes[found].astype(np.int64)
    return reference


def _leave_one_out_credit(prepared: _Prepared) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Per annotation: the credit it earns against the majority of the item's other labels, and
    whether there are other labels at all."""
    counts = prepared.counts
    # From the item's top count m1 (held by t1 classes) and the next count m2 (t2 classes) the
    # leave-one-out majority follows without a per-annotation copy of the counts row: removing a
    # label of class c leaves c the sole majority if c alone had m1 and m1 - 1 > m2, ties c with
    # the t2 classes at m2 if m1 - 1 == m2, and leaves c out of the majority otherwise.
    top = counts.max(axis=1) if counts.size else np.zeros(0, dtype=np.int64)
    top_ties = (counts == top[:, None]).sum(axis=1)
    below = np.where(counts < top[:, None], counts, -1)
    second = below.max(axis=1) if counts.size else np.zeros(0, dtype=np.int64)
    second_ties = (counts == second[:, None]).sum(axis=1)

    item = prepared.item
    own = counts[item, prepared.label]
    m1, t1, m2, t2 = top[item], top_ties[item], second[item], second_ties[item]
    sole_top = (own == m1) & (t1 == 1)
    credit = np.zeros(item.size)
    credit[sole_top & (m1 - 1 > m2)] = 1.0
    tied = sole_top & (m1 - 1 == m2)
    credit[tied] = 1.0 / (t2[tied] + 1)
    has_others = prepared.sizes[item] >= 2
    return credit, has_others


def _labeller_agreement(prepared: _Prepared, decided: pd.Series | None) -> pd.DataFrame:
    credit, has_reference = _leave_one_out_credit(prepared)
    decision = _decision_per_item(prepared, decided)[prepared.item]
    by_decision = decision >= 0
    credit[by_decision] = (prepared.label[by_decision] == decision[by_decision]).astype(float)
    has_reference = has_reference | by_decision

    n_labellers = prepared.labeller_ids.size
    n = np.bincount(prepared.labeller[has_reference], minlength=n_labellers)
    agree = np.bincount(
        prepared.labeller[has_reference], weights=credit[has_reference], minlength=n_labellers
    )
    rate: list[float | None] = [None] * n_labellers
    low: list[float | None] = [None] * n_labellers
    high: list[float | None] = [None] * n_labellers
    rated = np.flatnonzero(n > 0)
    if rated.size:
        lows, highs = proportion_confint(agree[rated], n[rated], alpha=0.05, method="wilson")
        for index, r, lo, hi in zip(
            rated.tolist(),
            (agree[rated] / n[rated]).tolist(),
            np.atleast_1d(lows).tolist(),
            np.atleast_1d(highs).tolist(),
            strict=True,
        ):
            rate[index], low[index], high[index] = r, lo, hi
    frame = pd.DataFrame(
        {
            "labeller": prepared.labeller_ids,
            "n": n.astype(np.int64),
            "agree": agree.astype(np.float64),
            "rate": pd.Series(rate, dtype=object),
            "low": pd.Series(low, dtype=object),
            "high": pd.Series(high, dtype=object),
        }
    )
    if prepared.time_ms is not None:
        medians = pd.Series(prepared.time_ms).groupby(prepared.labeller).median()
        median = medians.reindex(range(n_labellers)).to_numpy(dtype=np.float64)
        frame["median_time_ms"] = pd.Series([_optional(v) for v in median.tolist()], dtype=object)
    return frame


def _class_agreement(prepared: _Prepared) -> pd.DataFrame:
    coincidences = _coincidences(prepared.counts)
    pairs = _pairable(prepared.counts).sum(axis=0).astype(np.int64)
    agreement = [
        float(coincidences[c, c] / pairs[c]) if pairs[c] > 0 else None
        for c in range(prepared.n_classes)
    ]
    return pd.DataFrame(
        {
            "label": np.arange(prepared.n_classes, dtype=np.int64),
            "pairs": pairs,
            "agreement": pd.Series(agreement, dtype=object),
        }
    )


def _confusions(prepared: _Prepared, top: int | None) -> pd.DataFrame:
    coincidences = _coincidences(prepared.counts)
    label_a, label_b = np.triu_indices(prepared.n_classes, k=1)
    count = coincidences[label_a, label_b] + coincidences[label_b, label_a]
    nonzero = count > 0
    label_a, label_b, count = label_a[nonzero], label_b[nonzero], count[nonzero]
    order = np.lexsort((label_b, label_a, -count))
    if top is not None:
        order = order[: max(top, 0)]
    total = count.sum()
    return pd.DataFrame(
        {
            "label_a": label_a[order].astype(np.int64),
            "label_b": label_b[order].astype(np.int64),
            "count": count[order].astype(np.float64),
            "share": (count[order] / total if total > 0 else count[order]).astype(np.float64),
        }
    )


def krippendorff_alpha(
    annotations: pd.DataFrame,
    n_classes: int,
    *,
    level: Level = "nominal",
    values: Sequence[float] | npt.ArrayLike | None = None,
) -> Statistic:
    """Krippendorff's alpha at a level of measurement (nominal, ordinal, interval or ratio).

    ``values`` gives the numeric value of each class code (default ``0 .. n_classes - 1``); the
    ordinal level uses only their order, interval and ratio their differences.
    """
    prepared = _prepare(annotations, n_classes)
    return _alpha(prepared.counts, _check_level(level), _class_values(values, n_classes))


def fleiss_kappa(annotations: pd.DataFrame, n_classes: int) -> FleissResult:
    """Fleiss' kappa over the items with the most common label count (two or more labels; on a
    tie, the larger count), as the statistic needs the same number of labels on every item."""
    return _fleiss(_prepare(annotations, n_classes).counts)


def percent_agreement(annotations: pd.DataFrame) -> Statistic:
    """Mean over items with two or more labels of the share of agreeing labeller pairs (P_i)."""
    return _percent_agreement(_prepare(annotations, None).counts)


def cohen_kappa(table: npt.ArrayLike, weights: KappaWeights | None = None) -> KappaResult:
    """Cohen's kappa of a square two-rater table (rater 1 in rows), optionally weighted.

    Linear (Cicchetti–Allison) and quadratic (Fleiss–Cohen) weights grow with the distance
    between class indices, as in SAS PROC FREQ and R ``irr::kappa2`` ("equal", "squared").
    """
    array = np.asarray(table, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError("table must be a square two-dimensional array")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("table must hold non-negative counts")
    if weights not in (None, *get_args(KappaWeights)):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    n = round(float(array.sum()))
    if array.sum() <= 0:
        return KappaResult(None, None, None, 0, weights, "the table is empty")
    rows, cols = array.sum(axis=1) / array.sum(), array.sum(axis=0) / array.sum()
    index = np.arange(array.shape[0], dtype=np.float64)
    distance = np.abs(index[:, None] - index[None, :])
    if weights is None:
        distance = (distance > 0).astype(np.float64)
    elif weights == "quadratic":
        distance = distance**2
    if (distance * np.outer(rows, cols)).sum() <= 1e-12:
        return KappaResult(None, None, None, n, weights, _ONE_CLASS)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _sm_cohens_kappa(array, wt=weights)
    value = _optional(float(result.kappa))
    variance = float(result.var_kappa)
    ase = math.sqrt(max(variance, 0.0)) if variance > -1e-12 else None
    ci95: tuple[float, float] | None = None
    low, high = float(result.kappa_low), float(result.kappa_upp)
    if value is not None and ase is not None and math.isfinite(low) and math.isfinite(high):
        ci95 = (low, high)
    return KappaResult(value, ase, ci95, n, weights)


def pairwise_cohen(
    annotations: pd.DataFrame,
    n_classes: int,
    *,
    min_shared: int = 10,
    max_labellers: int = MAX_PAIRWISE_LABELLERS,
) -> PairwiseKappa:
    """Unweighted Cohen's kappa between every two labellers over the items both labelled.

    With more than ``max_labellers`` labellers, only those with a pair of at least
    ``min_shared`` shared items are kept (at most ``max_labellers``, the best-connected).
    """
    if min_shared < 1:
        raise ValueError("min_shared must be at least 1")
    return _pairwise(_prepare(annotations, n_classes), min_shared, max_labellers)


def labeller_agreement(
    annotations: pd.DataFrame, n_classes: int, *, decided: pd.Series | None = None
) -> pd.DataFrame:
    """Per labeller, how often their label matches the majority of the other labels on the item.

    Columns: ``labeller``, ``n`` (labels that have a reference), ``agree`` (credit earned),
    ``rate`` = agree / n with its 95% Wilson interval ``low``, ``high`` (None when n is 0), and
    ``median_time_ms`` when the annotations have ``time_ms``.

    The reference of a label is the majority of the *other* labels on its item. When several
    classes tie for that majority, the label earns 1/t credit if it is one of the t tied classes
    (the chance that a random tie-break agrees with it), so ``agree`` may be fractional. A label
    alone on its item has no reference and does not count, unless ``decided`` (item id → class
    code, a reviewer's decision) covers the item: then the decision is the reference of every
    label on it.
    """
    return _labeller_agreement(_prepare(annotations, n_classes), decided)


def class_agreement(annotations: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """Per class, the proportion of specific agreement o_cc / n_c from the coincidence matrix.

    Columns: ``label``, ``pairs`` (n_c: the labels of the class on items with two or more labels)
    and ``agreement`` (the chance that another label on the same item is the same class; None
    when ``pairs`` is 0).
    """
    return _class_agreement(_prepare(annotations, n_classes))


def confusions(annotations: pd.DataFrame, n_classes: int, *, top: int | None = 10) -> pd.DataFrame:
    """The class pairs labellers most often disagree on, from the coincidence matrix.

    Columns: ``label_a`` < ``label_b``, ``count`` (coincidence mass of the pair, both directions)
    and ``share`` of all disagreeing mass; largest first, nonzero only, at most ``top`` rows.
    """
    return _confusions(_prepare(annotations, n_classes), top)


def slice_agreement(
    annotations: pd.DataFrame,
    n_classes: int,
    groups: pd.Series,
    *,
    level: Level = "nominal",
    min_items: int = 10,
    values: Sequence[float] | npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Krippendorff's alpha and percent agreement within each slice of the items.

    ``groups`` maps item id → slice value; items outside it are ignored. Columns: ``slice``,
    ``n_items`` (the slice's items with two or more labels), ``alpha``, ``percent_agreement``
    (None when undefined), ``too_small`` (n_items < min_items) and ``reason`` (why alpha is None).
    """
    prepared = _prepare(annotations, n_classes)
    checked_level = _check_level(level)
    class_values = _class_values(values, n_classes)
    known = groups.dropna()
    if known.index.has_duplicates:
        raise ValueError("groups lists an item twice")
    slice_codes, slice_names = pd.factorize(known.astype(str).to_numpy(), sort=True)
    ids = np.asarray(known.index.to_numpy(), dtype=np.int64)
    item_slice = np.full(prepared.item_ids.size, -1, dtype=np.int64)
    if prepared.item_ids.size:
        position = np.minimum(np.searchsorted(prepared.item_ids, ids), prepared.item_ids.size - 1)
        found = prepared.item_ids[position] == ids
        item_slice[position[found]] = np.asarray(slice_codes, dtype=np.int64)[found]
    order = np.argsort(item_slice, kind="stable")
    bounds = np.searchsorted(item_slice[order], np.arange(len(slice_names) + 1))
    rows: list[dict[str, Any]] = []
    for code, name in enumerate(slice_names):
        counts = prepared.counts[order[bounds[code] : bounds[code + 1]]]
        alpha = _alpha(counts, checked_level, class_values)
        agreement = _percent_agreement(counts)
        rows.append(
            {
                "slice": str(name),
                "n_items": alpha.n_items,
                "alpha": alpha.value,
                "percent_agreement": agreement.value,
                "too_small": alpha.n_items < min_items,
                "reason": alpha.reason,
            }
        )
    columns = ["slice", "n_items", "alpha", "percent_agreement", "too_small", "reason"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("alpha", "percent_agreement", "reason"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def agreement_report(
    annotations: pd.DataFrame,
    n_classes: int,
    *,
    level: Level = "nominal",
    values: Sequence[float] | npt.ArrayLike | None = None,
    min_shared: int = 10,
    decided: pd.Series | None = None,
    top_confusions: int | None = 10,
) -> AgreementReport:
    """Every agreement figure of one annotations frame, computed from a single preparation."""
    if min_shared < 1:
        raise ValueError("min_shared must be at least 1")
    checked_level = _check_level(level)
    class_values = _class_values(values, n_classes)
    prepared = _prepare(annotations, n_classes)
    sizes = prepared.sizes
    alpha = _alpha(prepared.counts, checked_level, class_values)
    nominal = (
        alpha if checked_level == "nominal" else _alpha(prepared.counts, "nominal", class_values)
    )
    return AgreementReport(
        counts=Counts(
            items=int(prepared.item_ids.size),
            labellers=int(prepared.labeller_ids.size),
            annotations=int(prepared.item.size),
            items_with_2plus=int(np.count_nonzero(sizes >= 2)),
        ),
        level=checked_level,
        alpha=alpha,
        alpha_nominal=nominal,
        fleiss=_fleiss(prepared.counts),
        percent_agreement=_percent_agreement(prepared.counts),
        pairwise=_pairwise(prepared, min_shared, MAX_PAIRWISE_LABELLERS),
        labellers=_labeller_agreement(prepared, decided),
        classes=_class_agreement(prepared),
        confusions=_confusions(prepared, top_confusions),
    )
