"""CROWDLAB consensus, labeller quality and active-learning scores (cleanlab.multiannotator),
with its pitfalls worked around. No Django.

Input is one (item id, labeller id, label) triple per annotation, labels being class indices
``0 .. n_classes-1``, plus a model's out-of-sample class probabilities for the items. CROWDLAB
weighs each labeller's answers and the model's by how well they agree with the consensus.

cleanlab 2.9 raises, or returns extremes, in cases a labelling project meets every day; here:

* an item without labels, or a labeller without labels, makes cleanlab raise: the label matrix
  only has rows for items with labels and columns for labellers with labels; items that have
  probabilities but no labels are scored for active learning as unlabelled items.
* when *every* item has exactly one label (or there is one labeller) cleanlab raises. Then the
  result falls back to the model (``method == "model_only"``): the consensus is the label given,
  its quality is cleanlab's label quality score of that label under the model, and no labeller
  gets a quality score.
* a labeller with one or two labels gets an extreme quality. Labellers with fewer than
  ``min_labels_per_labeller`` labels are pooled: their labels still vote, through shared
  pseudo-labeller columns (an item's first pooled label in the first, its second in the second,
  …) whose weight reflects the pool, but they get no quality score of their own.
* a labeller who never labels an item that someone else labelled gets NaN quality from
  cleanlab: reported as None, with a note.
* labels must be integers (string names are refused; map them to class indices first).
* cleanlab breaks remaining ties with numpy's global random generator; it is seeded for the
  call (and restored afterwards), so the same input gives the same output.

The label matrix is dense (items with labels × labeller columns), which is fine up to about
1e5 × 1e3; past ``max_cells`` cells the call is refused.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from quality.analysis.label_issues import json_records, json_safe, normalise_probabilities

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MAX_CELLS = 50_000_000

_POOLED_NOTE = "pooled: fewer than {} labels"
_NO_OVERLAP_NOTE = "labelled no item that anyone else labelled"


class CrowdlabProblem(ValueError):
    """The annotations or probabilities cannot be used for CROWDLAB."""


@dataclass(frozen=True, eq=False)
class CrowdlabResult:
    """What :func:`crowdlab` found.

    ``items``, one row per item with labels and probabilities, by id: ``item_id``,
    ``consensus_label``, ``consensus_quality`` (0..1: how likely the consensus is right),
    ``annotator_agreement`` (share of the item's labels equal to the consensus), ``n_labels``,
    ``active_learning_score`` (lower: label it again sooner).
    ``labellers``, one row per labeller, by id: ``labeller_id``, ``n_labels``, ``quality``
    (CROWDLAB's labeller quality 0..1, NaN when undefined), ``agreement_with_consensus``,
    ``pooled`` (had fewer than ``min_labels_per_labeller`` labels), ``note`` (why ``quality`` is
    missing, else None).
    ``unlabeled``: ``item_id``, ``active_learning_score`` for the items with probabilities but no
    labels. ``method`` is ``crowdlab`` or, when no item has two labels, ``model_only``.
    ``model_weight`` is CROWDLAB's weight of the model against one labeller (None for
    ``model_only``). ``n_annotations_dropped`` counts annotations of items without
    probabilities.
    """

    items: pd.DataFrame
    labellers: pd.DataFrame
    unlabeled: pd.DataFrame
    method: Literal["crowdlab", "model_only"]
    model_weight: float | None
    n_annotations_dropped: int
    notes: tuple[str, ...] = ()

    def label_next(self, count: int | None = None) -> pd.DataFrame:
        """Items to label next, most useful first: ``item_id``, ``active_learning_score``,
        ``labelled`` (False for items nobody has labelled yet)."""
        both = pd.concat(
            [
                self.items[["item_id", "active_learning_score"]].assign(labelled=True),
                self.unlabeled[["item_id", "active_learning_score"]].assign(labelled=False),
            ],
            ignore_index=True,
        )
        ranked = both.sort_values(["active_learning_score", "item_id"], kind="stable")
        return ranked.head(count if count is not None else len(ranked)).reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "model_weight": json_safe(self.model_weight),
            "n_annotations_dropped": int(self.n_annotations_dropped),
            "notes": list(self.notes),
            "items": json_records(self.items),
            "labellers": json_records(self.labellers),
            "unlabeled": json_records(self.unlabeled),
        }


def _whole_numbers(values: npt.ArrayLike, name: str, size: int | None = None) -> IntArray:
    raw = np.asarray(values).reshape(-1)
    if size is not None and raw.size != size:
        raise CrowdlabProblem(
            f"{name} has {raw.size} entries; expected one per annotation ({size})"
        )
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64, copy=False)
    if raw.dtype.kind == "f" and np.isfinite(raw).all() and (raw == np.round(raw)).all():
        return raw.astype(np.int64)
    if raw.size == 0:
        return raw.astype(np.int64)
    raise CrowdlabProblem(
        f"{name} must be whole numbers (map names such as class labels to integers first)"
    )


@contextlib.contextmanager
def _quiet_and_seeded(seed: int, caught: list[str]) -> Iterator[None]:
    # cleanlab prints (even with verbose=False inside get_active_learning_scores), warns, and
    # breaks its last ties with numpy's global generator.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            yield
        caught.extend(str(message.message) for message in w)
    finally:
        np.random.set_state(state)


def crowdlab(
    item_ids: npt.ArrayLike,
    labeller_ids: npt.ArrayLike,
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    n_classes: int,
    *,
    prob_item_ids: npt.ArrayLike | None = None,
    min_labels_per_labeller: int = 3,
    pred_probs_unlabeled: npt.ArrayLike | None = None,
    unlabeled_item_ids: npt.ArrayLike | None = None,
    active_learning: bool = True,
    seed: int = 0,
    max_cells: int = MAX_CELLS,
) -> CrowdlabResult:
    """CROWDLAB consensus and quality per item, quality per labeller, active-learning scores.

    ``item_ids``, ``labeller_ids`` and ``labels`` hold one annotation each. ``pred_probs``
    (rows × ``n_classes``) are the model's probabilities, one row per id in ``prob_item_ids``,
    or, without it, one per distinct annotated item in ascending id order. Annotations of items
    without a row are dropped (counted); rows without annotations are scored as unlabelled
    items, as are ``pred_probs_unlabeled`` (ids ``unlabeled_item_ids``, default their row
    positions). Probabilities are checked and renormalised as by
    :func:`quality.analysis.label_issues.normalise_probabilities`. See the module docstring for
    the pitfalls handled and the fallbacks used.

    Active-learning scores come from ``cleanlab.multiannotator.get_active_learning_scores``,
    which fits a temperature to the probabilities and runs CROWDLAB again on them: most of the
    time of a large call. ``active_learning=False`` skips it (the scores are then NaN).
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise CrowdlabProblem("n_classes must be a whole number, at least 2")
    if min_labels_per_labeller < 1:
        raise CrowdlabProblem("min_labels_per_labeller must be at least 1")
    items = _whole_numbers(item_ids, "item_ids")
    labellers = _whole_numbers(labeller_ids, "labeller_ids", items.size)
    labs = _whole_numbers(labels, "labels", items.size)
    if labs.size and (labs.min() < 0 or labs.max() >= n_classes):
        row = int(np.flatnonzero((labs < 0) | (labs >= n_classes))[0])
        raise CrowdlabProblem(
            f"labels[{row}] is {labs[row]}, outside the classes 0..{n_classes - 1}"
        )
    probs = normalise_probabilities(pred_probs, n_classes=int(n_classes)).probs
    if prob_item_ids is None:
        row_ids = np.unique(items)
        if row_ids.size != probs.shape[0]:
            raise CrowdlabProblem(
                f"pred_probs has {probs.shape[0]} rows but the annotations name {row_ids.size} "
                "items; give one row per item in ascending id order, or prob_item_ids"
            )
    else:
        row_ids = _whole_numbers(prob_item_ids, "prob_item_ids", probs.shape[0])
        if np.unique(row_ids).size != row_ids.size:
            raise CrowdlabProblem("prob_item_ids names an item twice")
    order = np.argsort(row_ids, kind="stable")
    row_ids, probs = row_ids[order], probs[order]

    # Annotations of items with probabilities only; their row in the (sorted) probabilities.
    position = np.minimum(np.searchsorted(row_ids, items), max(row_ids.size - 1, 0))
    known = row_ids[position] == items if row_ids.size else np.zeros(items.size, dtype=bool)
    dropped = int(np.count_nonzero(~known))
    rows, labellers, labs = position[known], labellers[known], labs[known]
    if rows.size == 0:
        raise CrowdlabProblem("no annotation belongs to an item with predicted probabilities")
    labeller_set, labeller_index, per_labeller = np.unique(
        labellers, return_inverse=True, return_counts=True
    )
    labeller_index = labeller_index.reshape(-1)
    repeats = np.unique(rows * labeller_set.size + labeller_index, return_counts=True)[1]
    if np.any(repeats > 1):
        raise CrowdlabProblem(
            f"{int(np.count_nonzero(repeats > 1))} (item, labeller) pair(s) are labelled "
            "twice; keep one label per labeller and item"
        )

    labelled = np.unique(rows)
    unlabelled_rows = np.setdiff1d(np.arange(row_ids.size), labelled)
    item_row = np.searchsorted(labelled, rows)  # row in the label matrix
    unlabeled_ids, unlabeled_probs = _unlabelled(
        row_ids[unlabelled_rows],
        probs[unlabelled_rows],
        pred_probs_unlabeled,
        unlabeled_item_ids,
        int(n_classes),
    )

    # Columns: one per labeller with enough labels; the others' labels share pooled columns.
    pooled = per_labeller < min_labels_per_labeller
    own_column = np.cumsum(~pooled) - 1
    n_own = int(np.count_nonzero(~pooled))
    column = np.empty(rows.size, dtype=np.int64)
    is_pooled = pooled[labeller_index]
    column[~is_pooled] = own_column[labeller_index[~is_pooled]]
    if is_pooled.any():
        # An item's j-th pooled label (by labeller id) goes to pooled column j.
        pooled_at = np.flatnonzero(is_pooled)
        by_item = pooled_at[np.lexsort((labeller_index[pooled_at], item_row[pooled_at]))]
        starts = np.r_[0, np.flatnonzero(np.diff(item_row[by_item])) + 1]
        rank = np.arange(by_item.size) - np.repeat(starts, np.diff(np.r_[starts, by_item.size]))
        column[by_item] = n_own + rank
    n_columns = int(column.max()) + 1
    if labelled.size * n_columns > max_cells:
        raise CrowdlabProblem(
            f"the label matrix would have {labelled.size:,} items × {n_columns:,} labeller "
            f"columns, more than {max_cells:,} cells; split the dataset or raise "
            "min_labels_per_labeller"
        )
    matrix = np.full((labelled.size, n_columns), np.nan)
    matrix[item_row, column] = labs
    item_probs = probs[labelled]
    n_labels = np.bincount(item_row, minlength=labelled.size)

    caught: list[str] = []
    notes: list[str] = []
    if n_labels.max() <= 1:
        method: Literal["crowdlab", "model_only"] = "model_only"
        consensus, quality, agreement, column_quality, model_weight = _model_only(
            matrix, item_probs, n_columns
        )
        notes.append(
            "no item has two labels: consensus is the label given, its quality the model's "
            "label quality score; labeller quality needs overlapping labels"
        )
    else:
        method = "crowdlab"
        consensus, quality, agreement, column_quality, model_weight = _crowdlab(
            matrix, item_probs, seed, caught
        )
    if active_learning:
        al_labelled, al_unlabelled = _active_learning(
            matrix, item_probs, unlabeled_probs, seed, caught
        )
    else:
        al_labelled, al_unlabelled = (
            np.full(labelled.size, np.nan),
            np.full(unlabeled_ids.size, np.nan),
        )
        notes.append("active-learning scores not computed")

    items_frame = pd.DataFrame(
        {
            "item_id": row_ids[labelled].astype(np.int64),
            "consensus_label": consensus.astype(np.int64),
            "consensus_quality": quality,
            "annotator_agreement": agreement,
            "n_labels": n_labels.astype(np.int64),
            "active_learning_score": al_labelled,
        }
    )
    labellers_frame = _labeller_frame(
        labeller_set,
        per_labeller,
        pooled,
        own_column,
        column_quality,
        labeller_index,
        labs,
        consensus[item_row],
        min_labels_per_labeller,
        method,
    )
    if pooled.any():
        notes.append(
            f"{int(pooled.sum())} labeller(s) with fewer than {min_labels_per_labeller} labels "
            f"pooled into {n_columns - n_own} shared column(s)"
        )
    if dropped:
        notes.append(f"{dropped} annotation(s) of items without predicted probabilities dropped")
    notes.extend(dict.fromkeys(f"cleanlab: {message}" for message in caught))
    return CrowdlabResult(
        items=items_frame,
        labellers=labellers_frame,
        unlabeled=pd.DataFrame({"item_id": unlabeled_ids, "active_learning_score": al_unlabelled}),
        method=method,
        model_weight=model_weight,
        n_annotations_dropped=dropped,
        notes=tuple(notes),
    )


def _unlabelled(
    ids: IntArray,
    probs: FloatArray,
    extra_probs: npt.ArrayLike | None,
    extra_ids: npt.ArrayLike | None,
    n_classes: int,
) -> tuple[IntArray, FloatArray]:
    if extra_probs is None:
        if extra_ids is not None:
            raise CrowdlabProblem("unlabeled_item_ids needs pred_probs_unlabeled")
        return ids, probs
    more = normalise_probabilities(extra_probs, n_classes=n_classes).probs
    if extra_ids is None:
        more_ids = np.arange(more.shape[0], dtype=np.int64)
    else:
        more_ids = _whole_numbers(extra_ids, "unlabeled_item_ids", more.shape[0])
    all_ids = np.concatenate([ids, more_ids])
    if np.unique(all_ids).size != all_ids.size:
        raise CrowdlabProblem("an unlabelled item id is repeated or also has probabilities")
    return all_ids, np.vstack([probs, more])


def _model_only(
    matrix: FloatArray, probs: FloatArray, n_columns: int
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, float | None]:
    from cleanlab.rank import get_label_quality_scores

    given = np.nanmax(matrix, axis=1).astype(np.int64)
    quality = np.asarray(get_label_quality_scores(given, probs), dtype=np.float64)
    return given, quality, np.ones(given.size), np.full(n_columns, np.nan), None


def _crowdlab(
    matrix: FloatArray, probs: FloatArray, seed: int, caught: list[str]
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, float | None]:
    from cleanlab.multiannotator import get_label_quality_multiannotator

    with _quiet_and_seeded(seed, caught):
        result = get_label_quality_multiannotator(
            matrix,
            probs,
            consensus_method="best_quality",
            quality_method="crowdlab",
            calibrate_probs=False,
            return_detailed_quality=False,
            return_annotator_stats=True,
            return_weights=True,
            verbose=False,
        )
    per_item = result["label_quality"]
    # annotator_stats is sorted by quality; its index is the column position.
    stats = result["annotator_stats"].sort_index()
    return (
        per_item["consensus_label"].to_numpy(dtype=np.int64),
        per_item["consensus_quality_score"].to_numpy(dtype=np.float64),
        per_item["annotator_agreement"].to_numpy(dtype=np.float64),
        stats["annotator_quality"].to_numpy(dtype=np.float64),
        float(result["model_weight"]),
    )


def _active_learning(
    matrix: FloatArray,
    probs: FloatArray,
    unlabelled: FloatArray,
    seed: int,
    caught: list[str],
) -> tuple[FloatArray, FloatArray]:
    from cleanlab.multiannotator import get_active_learning_scores

    with _quiet_and_seeded(seed, caught):
        scored, unscored = get_active_learning_scores(
            matrix, probs, unlabelled if unlabelled.shape[0] else None
        )
    return np.asarray(scored, dtype=np.float64), np.asarray(unscored, dtype=np.float64)


def _labeller_frame(
    labeller_set: IntArray,
    per_labeller: IntArray,
    pooled: npt.NDArray[np.bool_],
    own_column: IntArray,
    column_quality: FloatArray,
    labeller_index: IntArray,
    labs: IntArray,
    consensus_of_annotation: IntArray,
    min_labels: int,
    method: str,
) -> pd.DataFrame:
    agrees = np.bincount(
        labeller_index,
        weights=(labs == consensus_of_annotation).astype(np.float64),
        minlength=labeller_set.size,
    )
    quality = np.where(pooled, np.nan, column_quality[np.where(pooled, 0, own_column)])
    note: list[str | None] = []
    for is_pooled, value in zip(pooled.tolist(), quality.tolist(), strict=True):
        if is_pooled:
            note.append(_POOLED_NOTE.format(min_labels))
        elif method == "model_only":
            note.append("no item has two labels")
        elif not np.isfinite(value):
            note.append(_NO_OVERLAP_NOTE)
        else:
            note.append(None)
    return pd.DataFrame(
        {
            "labeller_id": labeller_set.astype(np.int64),
            "n_labels": per_labeller.astype(np.int64),
            "quality": quality,
            "agreement_with_consensus": agrees / per_labeller,
            "pooled": pooled,
            "note": pd.Series(note, dtype=object),
        }
    )
