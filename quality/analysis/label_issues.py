"""Label issues of a classification dataset from out-of-sample predicted probabilities. No Django.

``labels`` are class indices ``0 .. k-1`` (shape ``(n,)``) and ``pred_probs`` the model's
out-of-sample class probabilities (shape ``(n, k)``, obtained by cross-validation), one row per
item in the same order. Confident learning (cleanlab) finds the labels that are probably wrong and
estimates the dataset's label health; with ``features`` (shape ``(n, d)``) cleanlab's Datalab
also looks for outliers, near duplicates and class imbalance.

cleanlab costs about 3 s to import, so it is imported inside the functions, and it is always
called with ``n_jobs=1`` and ``verbose=False`` (its process pool is slower here and cannot start
inside a daemonic Celery worker).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

FilterBy = Literal[
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
]
ScoreMethod = Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
Check = Literal["outlier", "near_duplicate", "class_imbalance"]
Metric = Literal["cosine", "euclidean"]

DEFAULT_CHECKS: tuple[Check, ...] = ("outlier", "near_duplicate", "class_imbalance")

# A row whose sum is this close to 1 is used exactly as given (float32 softmax noise).
SUM_TOLERANCE = 1e-6
# A row further from 1 than this is refused; between the two it is renormalised and counted.
SUM_REJECT_BEYOND = 0.1

# Datalab's own neighbour search is brute force (quadratic in rows): above this many rows the
# kNN graph is built here with a tree.
DATALAB_KNN_MAX_ROWS = 20_000
KNN_NEIGHBOURS = 10
# A KD-tree stays fast up to about this many dimensions; wider features are projected onto their
# leading principal components to find candidate neighbours (an approximate graph).
TREE_MAX_DIMS = 16
APPROXIMATE_CANDIDATES = 3
RECALL_SAMPLE = 200
MIN_RECALL = 0.9


class ProbabilityProblem(ValueError):
    """``pred_probs`` cannot be used; ``row`` is the first offending row, when there is one."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


class LabelIssueProblem(ValueError):
    """The labels (or the options) of a label-issue search cannot be used."""


def json_safe(value: Any) -> Any:
    """Plain Python for JSON: numpy scalars unwrapped; NaN, infinities and pandas' NA as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as JSON-safe dicts (missing values as None)."""
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    return [
        {name: json_safe(values[row]) for name, values in columns.items()}
        for row in range(len(frame))
    ]


@dataclass(frozen=True, eq=False)
class Normalised:
    """``probs`` (n, k) float64, every row summing to 1.

    ``renormalised`` rows summed to between ``tolerance`` and ``reject_beyond`` away from 1 and
    were divided by their sum; ``first_renormalised`` is the first of them (None when none was);
    ``max_deviation`` is the largest ``|sum - 1|`` seen before any division.
    """

    probs: FloatArray
    renormalised: int
    first_renormalised: int | None
    max_deviation: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": int(self.probs.shape[0]),
            "n_classes": int(self.probs.shape[1]),
            "renormalised": int(self.renormalised),
            "first_renormalised": self.first_renormalised,
            "max_deviation": json_safe(self.max_deviation),
        }


def _first(mask: npt.ArrayLike) -> int:
    return int(np.flatnonzero(mask)[0])


def normalise_probabilities(
    pred_probs: npt.ArrayLike,
    *,
    n_classes: int | None = None,
    tolerance: float = SUM_TOLERANCE,
    reject_beyond: float = SUM_REJECT_BEYOND,
) -> Normalised:
    """Check predicted probabilities and renormalise the rows that are slightly off.

    Bands on each row's sum: within ``tolerance`` of 1 the row is used as given; within
    ``reject_beyond`` of 1 (but not ``tolerance``) it is divided by its sum and counted in
    ``renormalised`` (cleanlab's published IMDB probabilities sum to 1.00002); further away it is
    refused. Refused with :class:`ProbabilityProblem`, naming the first offending row: anything
    but a 2-D array, a column count other than ``n_classes`` (when given) or fewer than two
    columns, no rows, NaN or infinite values, negative values, and sums outside the band.
    """
    if not 0 <= tolerance < reject_beyond < 1:
        raise ProbabilityProblem("need 0 <= tolerance < reject_beyond < 1")
    try:
        probs = np.array(pred_probs, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ProbabilityProblem("pred_probs must be an array of numbers") from error
    if probs.ndim != 2:
        raise ProbabilityProblem(
            f"pred_probs must be a 2-D array (items × classes); got shape {probs.shape}"
        )
    n, k = probs.shape
    if n_classes is not None and k != n_classes:
        raise ProbabilityProblem(
            f"pred_probs has {k} column(s); expected one per class ({n_classes})"
        )
    if k < 2:
        raise ProbabilityProblem(f"pred_probs needs at least two class columns; got {k}")
    if n == 0:
        raise ProbabilityProblem("pred_probs has no rows")
    finite = np.isfinite(probs)
    if not finite.all():
        row = _first(~finite.all(axis=1))
        raise ProbabilityProblem(f"pred_probs row {row} holds NaN or an infinite value", row)
    negative = probs < 0
    if negative.any():
        row = _first(negative.any(axis=1))
        value = float(probs[row][negative[row]][0])
        raise ProbabilityProblem(f"pred_probs row {row} holds a negative value ({value:g})", row)
    deviation = np.abs(probs.sum(axis=1) - 1.0)
    refused = deviation > reject_beyond
    if refused.any():
        row = _first(refused)
        raise ProbabilityProblem(
            f"pred_probs row {row} sums to {1 + float(probs[row].sum() - 1):.6g}; each row must "
            f"sum to 1 (rows within {reject_beyond:g} of 1 are renormalised)",
            row,
        )
    off = deviation > tolerance
    renormalised = int(np.count_nonzero(off))
    if renormalised:
        probs[off] /= probs[off].sum(axis=1, keepdims=True)
    return Normalised(
        probs=probs,
        renormalised=renormalised,
        first_renormalised=_first(off) if renormalised else None,
        max_deviation=float(deviation.max()),
    )


def _check_labels(labels: npt.ArrayLike, n: int, k: int) -> IntArray:
    raw = np.asarray(labels)
    if raw.ndim != 1:
        raise LabelIssueProblem(f"labels must be a 1-D array of class indices; got {raw.shape}")
    if raw.size != n:
        raise LabelIssueProblem(
            f"labels has {raw.size} entries but pred_probs has {n} rows; give one of each per item"
        )
    if raw.dtype.kind in "iu":
        values = raw.astype(np.int64, copy=False)
    elif raw.dtype.kind == "f" and np.isfinite(raw).all() and (raw == np.round(raw)).all():
        values = raw.astype(np.int64)
    else:
        raise LabelIssueProblem("labels must be whole-number class indices (no blanks, no names)")
    outside = (values < 0) | (values >= k)
    if outside.any():
        row = _first(outside)
        raise LabelIssueProblem(
            f"labels row {row} holds {values[row]}, outside the classes 0..{k - 1}"
        )
    counts = np.bincount(values, minlength=k)
    if np.count_nonzero(counts) < 2:
        raise LabelIssueProblem(
            f"finding label issues needs at least two classes with labels; every label is "
            f"class {int(values[0])}"
        )
    return values


@dataclass(frozen=True, eq=False)
class IssueReport:
    """What :func:`find_issues` found.

    ``issues``, one row per (item, issue): ``index`` (row in the inputs), ``issue_type``
    (``label``, ``outlier``, ``near_duplicate``, ``class_imbalance``), ``given`` (label),
    ``suggested`` (label issues: the most likely class other than the given one; else NA),
    ``score`` (0..1, lower is worse: the label quality score for label issues, Datalab's score
    for the others), ``confidence`` (label issues: the probability of ``suggested``; else NaN),
    ``set_id`` (near duplicates: one id per group of items that duplicate each other; else NA).
    Ordered by issue type in that order, then worst score first, then index.

    ``classes``, one row per class, worst first: ``class``, ``n_labels``, ``label_issues``
    (estimated items given this class that belong to another), ``inverse_label_issues`` (items
    of this class given another), ``label_noise`` (P(true ≠ k | given = k)),
    ``inverse_label_noise`` (P(given ≠ k | true = k)), ``quality`` (1 - label_noise).
    ``overlapping_classes``, the class pairs most often confused, most first: ``class_a``,
    ``class_b``, ``n_overlapping``, ``joint_probability`` (share of all items).
    ``health_score`` is cleanlab's overall label health (``health_summary``'s figure):
    1 - ``estimated_label_issues`` / ``n_items``.
    ``label_quality`` holds every item's label quality score (n,). ``notes`` say how the
    feature checks ran (which kNN graph, what was skipped).
    """

    issues: pd.DataFrame
    classes: pd.DataFrame
    overlapping_classes: pd.DataFrame
    health_score: float
    estimated_label_issues: int
    n_items: int
    n_classes: int
    filter_by: str
    label_quality: FloatArray
    renormalised_rows: int
    checks_run: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n_label_issues(self) -> int:
        return int(np.count_nonzero(self.issues["issue_type"].to_numpy() == "label"))

    def label_issue_indices(self) -> IntArray:
        """Rows with a label issue, worst first."""
        frame = self.issues[self.issues["issue_type"] == "label"]
        return np.asarray(frame["index"].to_numpy(), dtype=np.int64)

    def records(self) -> list[dict[str, Any]]:
        """The issues as JSON-safe dicts."""
        return json_records(self.issues)

    def to_dict(self) -> dict[str, Any]:
        counts = self.issues["issue_type"].value_counts()
        return {
            "n_items": int(self.n_items),
            "n_classes": int(self.n_classes),
            "filter_by": self.filter_by,
            "n_issues": {str(kind): int(count) for kind, count in counts.items()},
            "health_score": json_safe(self.health_score),
            "estimated_label_issues": int(self.estimated_label_issues),
            "renormalised_rows": int(self.renormalised_rows),
            "checks_run": list(self.checks_run),
            "notes": list(self.notes),
            "issues": self.records(),
            "classes": json_records(self.classes),
            "overlapping_classes": json_records(self.overlapping_classes),
        }


def _issue_frame(
    kind: str,
    index: IntArray,
    given: IntArray,
    score: FloatArray,
    *,
    suggested: IntArray | None = None,
    confidence: FloatArray | None = None,
    set_id: IntArray | None = None,
) -> pd.DataFrame:
    # Worst score first, then by row.
    order = np.lexsort((index, score))
    size = index.size
    return pd.DataFrame(
        {
            "index": index[order].astype(np.int64),
            "issue_type": np.full(size, kind, dtype=object),
            "given": given[order].astype(np.int64),
            "suggested": _optional_ints(suggested, order),
            "score": score[order].astype(np.float64),
            "confidence": np.full(size, np.nan) if confidence is None else confidence[order],
            "set_id": _optional_ints(set_id, order),
        }
    )


def _optional_ints(values: IntArray | None, order: npt.NDArray[np.intp]) -> pd.arrays.IntegerArray:
    if values is None:
        return pd.arrays.IntegerArray(
            np.zeros(order.size, dtype=np.int64), np.ones(order.size, dtype=bool)
        )
    return pd.arrays.IntegerArray(values[order].astype(np.int64), np.zeros(order.size, dtype=bool))


def _label_issue_frame(
    index: IntArray, labels: IntArray, probs: FloatArray, scores: FloatArray
) -> pd.DataFrame:
    rows = probs[index]
    given = labels[index]
    # The suggestion is never the given label: mask it out before taking the most likely class.
    others = rows.copy()
    others[np.arange(index.size), given] = -np.inf
    suggested = others.argmax(axis=1).astype(np.int64)
    return _issue_frame(
        "label",
        index,
        given,
        scores[index],
        suggested=suggested,
        confidence=rows[np.arange(index.size), suggested],
    )


def _health(
    labels: IntArray,
    probs: FloatArray,
    confident_joint: npt.NDArray[Any],
    off_diagonal: IntArray,
    top_overlapping: int,
) -> tuple[pd.DataFrame, pd.DataFrame, float, int]:
    from cleanlab.count import estimate_joint
    from cleanlab.dataset import find_overlapping_classes, rank_classes_by_label_quality
    from cleanlab.internal.constants import FLOATING_POINT_COMPARISON

    n, k = probs.shape
    # The confident joint is calibrated already: without labels estimate_joint only normalises.
    joint = estimate_joint(None, None, confident_joint=confident_joint)
    ranked = rank_classes_by_label_quality(joint=joint, num_examples=n)
    classes = pd.DataFrame(
        {
            "class": ranked["Class Index"].to_numpy(dtype=np.int64),
            "n_labels": np.bincount(labels, minlength=k)[ranked["Class Index"].to_numpy()],
            "label_issues": ranked["Label Issues"].to_numpy(dtype=np.int64),
            "inverse_label_issues": ranked["Inverse Label Issues"].to_numpy(dtype=np.int64),
            "label_noise": ranked["Label Noise"].to_numpy(dtype=np.float64),
            "inverse_label_noise": ranked["Inverse Label Noise"].to_numpy(dtype=np.float64),
            "quality": ranked["Label Quality Score"].to_numpy(dtype=np.float64),
        }
    )
    pairs = find_overlapping_classes(joint=joint, num_examples=n)
    pairs = pairs[pairs["Joint Probability"] > 0].head(top_overlapping)
    overlapping = pd.DataFrame(
        {
            "class_a": pairs["Class Index A"].to_numpy(dtype=np.int64),
            "class_b": pairs["Class Index B"].to_numpy(dtype=np.int64),
            "n_overlapping": pairs["Num Overlapping Examples"].to_numpy(dtype=np.int64),
            "joint_probability": pairs["Joint Probability"].to_numpy(dtype=np.float64),
        }
    )
    # cleanlab's overall_label_health_score(labels, pred_probs) counts the off-diagonal items of
    # the confident joint whose prediction is not (within 1e-6) the given label; computing it
    # from the off-diagonal rows already in hand saves a second pass over every row.
    rows = probs[off_diagonal].copy()
    given = labels[off_diagonal]
    rows[np.arange(off_diagonal.size), given] += FLOATING_POINT_COMPARISON
    estimated = int(np.count_nonzero(rows.argmax(axis=1) != given))
    return classes, overlapping, 1.0 - estimated / n, estimated


def find_issues(
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    *,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    score_method: ScoreMethod = "self_confidence",
    features: npt.ArrayLike | None = None,
    knn_graph: sp.csr_matrix | None = None,
    checks: Iterable[Check] = DEFAULT_CHECKS,
    metric: Metric | None = None,
    top_overlapping: int = 10,
) -> IssueReport:
    """Label issues, the dataset's label health and (with features) outliers and duplicates.

    The label issues are exactly ``cleanlab.filter.find_label_issues(labels, pred_probs,
    filter_by=..., frac_noise=..., min_examples_per_class=...)`` on the checked and
    renormalised probabilities (see :func:`normalise_probabilities`), scored by
    ``cleanlab.rank.get_label_quality_scores(method=score_method)``. The class table, the
    overlapping class pairs and the health score are those of ``cleanlab.dataset.health_summary``
    (computed from one confident joint, without printing).

    With ``features`` (n, d) or a precomputed ``knn_graph`` (a CSR distance matrix as
    ``sklearn.neighbors.NearestNeighbors.kneighbors_graph`` returns), cleanlab's Datalab runs
    ``checks`` (any of ``outlier``, ``near_duplicate``, ``class_imbalance``). Datalab measures
    ``metric`` distances, by default cosine above three feature dimensions (so a point far out
    along the direction of others is *not* an outlier) and euclidean below. Above 20,000 rows
    Datalab's own neighbour search (brute force) is too slow, so :func:`build_knn_graph` builds
    the graph: exact up to 16 dimensions, approximate beyond, or not at all (the kNN checks are
    then skipped) when an approximate search misses too many neighbours. ``notes`` say which.
    Without features or a graph only the label checks run.
    """
    normalised = normalise_probabilities(pred_probs)
    probs = normalised.probs
    n, k = probs.shape
    labs = _check_labels(labels, n, k)
    if filter_by not in get_args(FilterBy):
        raise LabelIssueProblem(f"filter_by must be one of {', '.join(get_args(FilterBy))}")
    if score_method not in get_args(ScoreMethod):
        raise LabelIssueProblem(f"score_method must be one of {', '.join(get_args(ScoreMethod))}")
    if not 0 < frac_noise <= 1:
        raise LabelIssueProblem("frac_noise must lie in (0, 1]")
    if min_examples_per_class < 0:
        raise LabelIssueProblem("min_examples_per_class must not be negative")
    if metric is not None and metric not in get_args(Metric):
        raise LabelIssueProblem("metric must be 'cosine', 'euclidean' or None")
    wanted = tuple(dict.fromkeys(checks))
    unknown = [c for c in wanted if c not in get_args(Check)]
    if unknown:
        raise LabelIssueProblem(
            f"unknown check(s) {', '.join(map(str, unknown))}; choose from "
            f"{', '.join(get_args(Check))}"
        )

    from cleanlab import rank
    from cleanlab.count import calibrate_confident_joint, compute_confident_joint
    from cleanlab.filter import find_label_issues

    # One confident joint serves both the filter and the health figures; calibrating the raw
    # joint is what compute_confident_joint(calibrate=True) does inside find_label_issues.
    raw_joint, off_diagonal = compute_confident_joint(
        labels=labs, pred_probs=probs, calibrate=False, return_indices_of_off_diagonals=True
    )
    confident_joint = calibrate_confident_joint(raw_joint, labs)
    mask = find_label_issues(
        labs,
        probs,
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
        # find_label_issues re-estimates (and warns about) a given joint for this method.
        confident_joint=None if filter_by == "confident_learning" else confident_joint,
        n_jobs=1,
        verbose=False,
    )
    # The scorer that rank.get_label_quality_scores(method=score_method) dispatches to, called
    # directly: the inputs are checked already, and cleanlab's check loops over every label in
    # Python (a fifth of the whole search at 100,000 rows).
    scorer = {
        "self_confidence": rank.get_self_confidence_for_each_label,
        "normalized_margin": rank.get_normalized_margin_for_each_label,
        "confidence_weighted_entropy": rank.get_confidence_weighted_entropy_for_each_label,
    }[score_method]
    scores = np.asarray(scorer(labs, probs), dtype=np.float64)
    flagged = np.flatnonzero(mask).astype(np.int64)
    frames = [_label_issue_frame(flagged, labs, probs, scores)]
    classes, overlapping, health, estimated = _health(
        labs, probs, confident_joint, np.asarray(off_diagonal, dtype=np.int64), top_overlapping
    )

    notes: list[str] = []
    run: tuple[str, ...] = ()
    if normalised.renormalised:
        notes.append(
            f"{normalised.renormalised} row(s) of pred_probs did not sum to 1 and were "
            f"renormalised (first: row {normalised.first_renormalised})"
        )
    if wanted and (features is not None or knn_graph is not None):
        feature_frames, run, feature_notes = _feature_checks(
            labs, features, knn_graph, wanted, metric
        )
        frames.extend(feature_frames)
        notes.extend(feature_notes)
    elif wanted:
        # Datalab costs seconds to import and set up; without features only class imbalance
        # would run, and classes["n_labels"] shows that already.
        notes.append(f"no features or kNN graph given: {', '.join(wanted)} not checked")

    issues = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return IssueReport(
        issues=issues,
        classes=classes,
        overlapping_classes=overlapping,
        health_score=float(health),
        estimated_label_issues=estimated,
        n_items=n,
        n_classes=k,
        filter_by=filter_by,
        label_quality=scores,
        renormalised_rows=normalised.renormalised,
        checks_run=("label", *run),
        notes=tuple(notes),
    )


@dataclass(frozen=True, eq=False)
class KnnGraph:
    """A kNN distance graph in Datalab's format (CSR, ``k`` entries per row sorted by distance)
    or, when ``graph`` is None, why none was built. ``exact`` tells an exact search from an
    approximate one; ``note`` says in words which it was."""

    graph: sp.csr_matrix | None
    exact: bool
    note: str


def _tree_neighbours(
    tree: Any, points: FloatArray, rows: npt.NDArray[np.intp], k: int
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    # The k nearest other rows of each of ``rows``. Each row is dropped from its own answer;
    # among exact duplicates it need not come first, and when more than k + 1 rows coincide it
    # may be missing, in which case the farthest entry goes instead.
    distances, neighbours = tree.query(points[rows], k=k + 1)
    is_self = neighbours == rows[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    keep = ~is_self
    return distances[keep].reshape(rows.size, k), neighbours[keep].reshape(rows.size, k)


def _remeasured(
    points: FloatArray, rows: npt.NDArray[np.intp], candidates: npt.NDArray[np.intp], k: int
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    # Full-dimensional distances to each row's candidates; the k nearest kept, nearest first.
    full = np.empty(candidates.shape)
    for start in range(0, rows.size, 10_000):
        block = slice(start, start + 10_000)
        diff = points[candidates[block]] - points[rows[block], None, :]
        full[block] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    best = np.argsort(full, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(full, best, axis=1), np.take_along_axis(candidates, best, axis=1)


def _exact_neighbours(
    points: FloatArray, rows: npt.NDArray[np.intp], k: int
) -> npt.NDArray[np.intp]:
    # Brute force for a few rows: their distances to every row, 50 rows at a time.
    squared = np.einsum("ij,ij->i", points, points)
    result = np.empty((rows.size, k), dtype=np.intp)
    for start in range(0, rows.size, 50):
        chunk = rows[start : start + 50]
        distances = squared[chunk, None] - 2 * points[chunk] @ points.T + squared[None, :]
        distances[np.arange(chunk.size), chunk] = np.inf
        nearest = np.argpartition(distances, k, axis=1)[:, :k]
        result[start : start + chunk.size] = nearest
    return result


def build_knn_graph(
    features: npt.ArrayLike, *, k: int = KNN_NEIGHBOURS, metric: Metric | None = None
) -> KnnGraph:
    """A kNN distance graph of ``features`` (n, d) for Datalab, without its quadratic search.

    The metric is Datalab's default unless given: cosine above three dimensions, else
    euclidean. Cosine distances come from euclidean ones between unit vectors
    (``1 - cos = |a - b|² / 2``), so one KD-tree serves both. Up to 16 dimensions the search is
    exact. Wider features are projected onto 16 principal components, each row's ``3 k``
    nearest rows in the projection are re-measured in full and the ``k`` nearest kept: an
    approximate graph. Its recall is first measured on 200 rows against a brute-force search;
    below 90% (features whose neighbourhoods do not survive the projection) no graph is built.
    """
    from scipy.spatial import cKDTree
    from sklearn.decomposition import PCA

    points = np.asarray(features, dtype=np.float64)
    n, d = points.shape
    k = min(k, n - 1)
    chosen = metric or ("cosine" if d > 3 else "euclidean")
    if chosen == "cosine":
        norms = np.linalg.norm(points, axis=1, keepdims=True)
        points = points / np.where(norms > 0, norms, 1.0)
    every_row = np.arange(n)
    if d <= TREE_MAX_DIMS:
        distances, neighbours = _tree_neighbours(cKDTree(points), points, every_row, k)
        note = f"kNN graph ({k} neighbours, {chosen}) built with a KD-tree: exact"
        exact = True
    else:
        projected = PCA(n_components=TREE_MAX_DIMS, random_state=0).fit_transform(points)
        tree = cKDTree(projected)
        wide = min(APPROXIMATE_CANDIDATES * k, n - 1)
        sample = np.random.default_rng(0).choice(n, size=min(RECALL_SAMPLE, n), replace=False)
        _, candidates = _tree_neighbours(tree, projected, sample, wide)
        _, found = _remeasured(points, sample, candidates, k)
        truth = _exact_neighbours(points, sample, k)
        hits = sum(np.intersect1d(a, b).size for a, b in zip(found, truth, strict=True))
        recall = hits / truth.size
        if recall < MIN_RECALL:
            return KnnGraph(
                None,
                False,
                f"features have {d} dimensions and a search on {TREE_MAX_DIMS} principal "
                f"components finds only {recall:.0%} of the true neighbours: outlier and "
                "duplicate checks not run (pass knn_graph from an approximate-neighbour index)",
            )
        _, candidates = _tree_neighbours(tree, projected, every_row, wide)
        distances, neighbours = _remeasured(points, every_row, candidates, k)
        note = (
            f"kNN graph ({k} neighbours, {chosen}) from {TREE_MAX_DIMS} principal components, "
            f"re-measured in full: approximate (recall {recall:.0%} on {sample.size} rows)"
        )
        exact = False
    if chosen == "cosine":
        distances = distances**2 / 2
    graph = sp.csr_matrix(
        (distances.ravel(), neighbours.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
    )
    return KnnGraph(graph, exact, note)


def _duplicate_set_ids(rows: IntArray, sets: pd.Series, n: int) -> IntArray:
    # Items listing each other form one set (connected components); sets are numbered in order
    # of their first row (rows ascend).
    pair_a = np.repeat(rows, [len(s) for s in sets])
    pair_b = np.concatenate([np.asarray(s, dtype=np.int64) for s in sets] + [np.empty(0, int)])
    graph = sp.coo_matrix((np.ones(pair_a.size), (pair_a, pair_b)), shape=(n, n))
    _, component = sp.csgraph.connected_components(graph, directed=False)
    _, first, inverse = np.unique(component[rows], return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def _feature_checks(
    labels: IntArray,
    features: npt.ArrayLike | None,
    knn_graph: sp.csr_matrix | None,
    wanted: tuple[str, ...],
    metric: Metric | None,
) -> tuple[list[pd.DataFrame], tuple[str, ...], list[str]]:
    n = labels.size
    notes: list[str] = []
    points: FloatArray | None = None
    if features is not None:
        points = np.asarray(features, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] != n:
            raise LabelIssueProblem(
                f"features must be one row per item ({n} × d); got shape {points.shape}"
            )
        if not np.isfinite(points).all():
            row = _first(~np.isfinite(points).all(axis=1))
            raise LabelIssueProblem(f"features row {row} holds NaN or an infinite value")
    if knn_graph is not None:
        if not sp.issparse(knn_graph) or knn_graph.shape != (n, n):
            raise LabelIssueProblem(f"knn_graph must be a sparse {n} × {n} distance matrix")
        knn_graph = sp.csr_matrix(knn_graph)
        notes.append("kNN checks used the kNN graph given")

    knn_checks = [c for c in wanted if c in ("outlier", "near_duplicate")]
    neighbours = min(KNN_NEIGHBOURS, n - 1)
    if knn_checks and neighbours < 2:
        notes.append(f"too few rows ({n}) for outlier and duplicate checks: not run")
        knn_checks = []
    if knn_checks and knn_graph is None and points is not None and n > DATALAB_KNN_MAX_ROWS:
        built = build_knn_graph(points, k=neighbours, metric=metric)
        notes.append(built.note)
        knn_graph = built.graph
        if knn_graph is None:
            knn_checks = []
    elif knn_checks and knn_graph is None:
        notes.append("kNN graph computed by Datalab (exact)")
    if knn_graph is not None:
        neighbours = min(neighbours, knn_graph.nnz // n)

    issue_types: dict[str, dict[str, Any]] = {}
    for check in knn_checks:
        options: dict[str, Any] = {"k": neighbours}
        if metric is not None and knn_graph is None:
            options["metric"] = metric
        issue_types[check] = options
    if "class_imbalance" in wanted:
        issue_types["class_imbalance"] = {}
    if not issue_types:
        return [], (), notes

    from cleanlab import Datalab

    # Datalab prints progress even at verbosity 0 in places; keep a worker's log clean.
    with contextlib.redirect_stdout(io.StringIO()):
        lab = Datalab(data={"label": labels}, label_name="label", verbosity=0)
        # Given both, Datalab warns and uses the graph.
        lab.find_issues(
            features=points if knn_graph is None else None,
            knn_graph=knn_graph,
            issue_types=issue_types,
        )
    frames: list[pd.DataFrame] = []
    if "outlier" in issue_types:
        found = lab.get_issues("outlier")
        rows = np.flatnonzero(found["is_outlier_issue"].to_numpy()).astype(np.int64)
        score = found["outlier_score"].to_numpy(dtype=np.float64)[rows]
        frames.append(_issue_frame("outlier", rows, labels[rows], score))
    if "near_duplicate" in issue_types:
        found = lab.get_issues("near_duplicate")
        rows = np.flatnonzero(found["is_near_duplicate_issue"].to_numpy()).astype(np.int64)
        score = found["near_duplicate_score"].to_numpy(dtype=np.float64)[rows]
        set_ids = _duplicate_set_ids(rows, found["near_duplicate_sets"].iloc[rows], n)
        frames.append(_issue_frame("near_duplicate", rows, labels[rows], score, set_id=set_ids))
    if "class_imbalance" in issue_types:
        found = lab.get_issues("class_imbalance")
        rows = np.flatnonzero(found["is_class_imbalance_issue"].to_numpy()).astype(np.int64)
        score = found["class_imbalance_score"].to_numpy(dtype=np.float64)[rows]
        frames.append(_issue_frame("class_imbalance", rows, labels[rows], score))
    return frames, tuple(issue_types), notes
