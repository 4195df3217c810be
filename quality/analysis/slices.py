"""Slice-level error analysis: the lecture's table and the search for weak slices. No Django.

A slice is a subset of the items (a metadata value, a quantile bin of a number or of a text's
length, a user's rule, a tag, or a discovered conjunction), held as a :class:`SliceDef` with the
row positions of its members in the items frame. Rows of ``metadata`` (or ``features``) and rows
of ``items`` must describe the same items in the same order.

The table (:func:`slice_table`) puts side by side, per slice, the model's accuracy and
human-level performance (HLP), as in the lecture::

    Slice          Accuracy  HLP  Gap  % of data  Potential improvement
    Clean speech     94%     95%   1%     60%         0.60%

- **Reference label** of an item: the reviewer's decision where one exists, else the consensus
  label (``items.reference``, computed by the caller).
- **Accuracy** on a slice: the share of its items with both a prediction and a reference whose
  prediction equals the reference (``accuracy_n`` counts those items).
- **HLP** on a slice: the share of its individual human labels that equal the reference computed
  without that label's labeller: the reviewer's decision as is where there is one, else the
  majority of the item's other labels, with the tie credit of
  :func:`quality.analysis.agreement.labeller_agreement` (a label that is one of t classes tied
  for that majority earns 1/t). A label alone on an undecided item has no reference and does not
  count (``hlp_n`` counts the labels that do).
- **Gap** = HLP − accuracy (may be negative); **share** = slice items / all items;
  **potential improvement** = max(gap, 0) × share. Rates carry a 95% Wilson interval.

:func:`discover_slices` finds the conjunctions of up to ``max_level`` field values on which the
model errs most, scored as in SliceLine (Sagadeeva & Boehm, SIGMOD 2021), by a level-wise lattice
search with SliceLine's size and score upper-bound pruning; every candidate that survives the
pruning is counted exactly, so the result is the exact top-k and does not depend on row order.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from pandas.api import types as ptypes
from statsmodels.stats.proportion import proportion_confint

# The HLP of a slice must count labels exactly as the labeller table does, ties included.
from quality.analysis.agreement import _json_safe, _leave_one_out_credit, _prepare, frame_records

SliceSource = Literal["all", "metadata", "text_length", "rule", "tag", "discovered"]
Operator = Literal[
    "=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "is missing", "is not missing"
]
# (field, operator, value): one condition of a rule; value is None for "is missing".
Condition = tuple[str, str, Any]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ALL_DATA = "All data"
DEFAULT_MIN_ITEMS = 30
DEFAULT_MIN_LABELS = 30
# Potential improvements this close are a tie: 0.01 * 0.6 and 0.02 * 0.3 differ in the last bits.
TIE_TOLERANCE = 1e-12
# A field whose bucket combinations outnumber this is counted sparsely during discovery.
MAX_DENSE_CELLS = 1 << 22

OPERATORS: tuple[str, ...] = get_args(Operator)
_ORDERING = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
_SHOWN_FIELDS = 20

TABLE_COLUMNS = [
    "slice",
    "source",
    "field",
    "n_items",
    "share",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "accuracy_n",
    "correct",
    "hlp",
    "hlp_low",
    "hlp_high",
    "hlp_n",
    "hlp_agree",
    "gap",
    "potential_improvement",
    "too_small",
]


# --- Slices -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SliceDef:
    """One slice of the items.

    ``index`` holds the row positions of its members in the items frame, ascending and without
    repeats. ``field`` names the metadata field of a field-value slice (None otherwise);
    ``conditions`` is the slice written as a rule for :func:`rule_mask`, where it can be.
    """

    name: str
    source: SliceSource
    index: IntArray
    field: str | None = None
    conditions: tuple[Condition, ...] | None = None

    def __post_init__(self) -> None:
        if self.source not in get_args(SliceSource):
            raise ValueError(f"unknown slice source {self.source!r}")
        index = np.asarray(self.index).reshape(-1)
        if index.size and index.dtype.kind not in "iu":
            raise ValueError(f"slice {self.name!r}: index must hold row positions (integers)")
        index = index.astype(np.int64, copy=False)
        if index.size and (index[0] < 0 or bool(np.any(index[1:] <= index[:-1]))):
            raise ValueError(f"slice {self.name!r}: index must be ascending, without repeats")
        object.__setattr__(self, "index", index)

    @classmethod
    def from_mask(
        cls,
        name: str,
        mask: npt.ArrayLike,
        *,
        source: SliceSource = "rule",
        field: str | None = None,
        conditions: tuple[Condition, ...] | None = None,
    ) -> SliceDef:
        """The slice of the items where ``mask`` (one boolean per item) is true."""
        flags = np.asarray(mask).reshape(-1)
        if flags.dtype != np.bool_:
            raise ValueError(f"slice {name!r}: the mask must hold booleans")
        return cls(name, source, np.flatnonzero(flags).astype(np.int64), field, conditions)

    @property
    def size(self) -> int:
        return int(self.index.size)

    def mask(self, n_items: int) -> BoolArray:
        """The slice as one boolean per item."""
        flags = np.zeros(n_items, dtype=np.bool_)
        flags[self.index] = True
        return flags

    def to_dict(self) -> dict[str, Any]:
        """Name, source, field, size and conditions (not the members) as JSON-safe values."""
        return {
            "name": self.name,
            "source": self.source,
            "field": self.field,
            "size": self.size,
            "conditions": None
            if self.conditions is None
            else [[f, op, _json_safe(v)] for f, op, v in self.conditions],
        }


@dataclass(frozen=True, eq=False)
class _Buckets:
    """A field's values grouped so that every item falls in exactly one bucket."""

    field: str
    source: SliceSource
    codes: IntArray  # (N,) bucket of each item
    names: tuple[str, ...]
    conditions: tuple[tuple[Condition, ...] | None, ...]

    @property
    def size(self) -> int:
        return len(self.names)


def _format_value(value: Any) -> str:
    """A metadata value as text, the same for 1, 1.0 and "1" and for True and "true"."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _plain_number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _format_edges(edges: FloatArray) -> list[str]:
    short = [_format_value(float(f"{v:.4g}")) if math.isfinite(v) else str(v) for v in edges]
    if len(set(short)) == len(short):
        return short
    return [_format_value(float(v)) for v in edges]


def _hashable(series: pd.Series) -> pd.Series:
    """The series with unhashable values (lists, dicts from JSON) replaced by their text."""
    if series.dtype != object:
        return series
    try:
        pd.factorize(series)
    except TypeError:
        return series.map(lambda v: v if isinstance(v, Hashable) else str(v))
    return series


def _missing(series: pd.Series) -> BoolArray:
    """Blank values: None, NaN and the empty string."""
    missing = np.array(series.isna().to_numpy(), dtype=np.bool_)
    if not (ptypes.is_numeric_dtype(series.dtype) or ptypes.is_bool_dtype(series.dtype)):
        missing |= np.asarray(series.isin([""]).to_numpy(), dtype=np.bool_)
    return missing


def _numbers(series: pd.Series, missing: BoolArray) -> FloatArray | None:
    """The field as finite floats (NaN where missing) when every present value is a number
    (numbers stored as text count; booleans do not), else None."""
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype) or dtype.kind in "mM" or isinstance(dtype, pd.DatetimeTZDtype):
        return None  # dates compare as their ISO text
    if ptypes.is_numeric_dtype(dtype):
        # A copy: the blanks are overwritten below, and pandas may hand out its own buffer.
        values = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    else:
        present = series[~missing]
        if present.empty:
            return None
        # Most text fields show it in their first values: no need to parse a million of them.
        if pd.to_numeric(present.iloc[:1000], errors="coerce").isna().any():
            return None
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype):
            # Text straight from the database: Arrow parses it a hundred times faster.
            try:
                parsed = pc.cast(pa.array(present.array), pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
            values = np.full(len(series), np.nan)
            values[~missing] = parsed.to_numpy(zero_copy_only=False)
            if not np.isfinite(values[~missing]).all():
                return None
            return values
        if present.dtype == object and present.map(lambda v: isinstance(v, bool | np.bool_)).any():
            return None
        converted = pd.to_numeric(present, errors="coerce")
        if converted.isna().any():
            return None
        values = np.full(len(series), np.nan)
        values[~missing] = converted.to_numpy(dtype=np.float64)
    if not np.isfinite(values[~missing]).all():
        return None
    values[missing] = np.nan
    return values


def _text_codes(series: pd.Series, missing: BoolArray) -> tuple[IntArray, list[str]]:
    """Per item the index of its value's text in the returned list (-1 where missing)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = [_format_value(v) for v in uniques]
    # 1 and "1" are one value: the text decides.
    text_codes, text_uniques = pd.factorize(np.array(text, dtype=object))
    merged = np.append(np.asarray(text_codes, dtype=np.int64), -1)
    item_codes = np.asarray(codes, dtype=np.int64)
    result = merged[item_codes]  # -1 picks the appended -1
    result[missing] = -1
    return result, [str(v) for v in text_uniques]


def _compact(
    field: str,
    source: SliceSource,
    codes: IntArray,
    names: list[str],
    conditions: list[tuple[Condition, ...] | None],
) -> _Buckets:
    """The buckets without the empty ones, renumbered in order."""
    counts = np.bincount(codes, minlength=len(names))
    kept = np.flatnonzero(counts > 0)
    renumber = np.full(len(names), -1, dtype=np.int64)
    renumber[kept] = np.arange(kept.size)
    return _Buckets(
        field=field,
        source=source,
        codes=renumber[codes],
        names=tuple(names[i] for i in kept.tolist()),
        conditions=tuple(conditions[i] for i in kept.tolist()),
    )


def _number_buckets(
    field: str,
    values: FloatArray,
    bins: int,
    *,
    label: str,
    source: SliceSource,
    as_rule: bool,
) -> _Buckets:
    """Quantile bins [low, high) of a number (the last one closed), or one bucket per value
    when there are no more distinct values than bins; blanks in a last bucket.

    A value that fills a whole bin or more on its own (0 for most counts) gets its own bucket,
    ``field = 0``, and the bins beside it leave it out: ``field in (0, 3)``.
    """
    missing = np.isnan(values)
    present = values[~missing]
    distinct = np.unique(present)
    codes = np.zeros(values.size, dtype=np.int64)
    names: list[str] = []
    conditions: list[tuple[Condition, ...] | None] = []
    if distinct.size <= bins:
        codes[~missing] = np.searchsorted(distinct, present)
        for value in distinct.tolist():
            names.append(f"{label} = {_format_value(value)}")
            conditions.append(((field, "=", _plain_number(value)),) if as_rule else None)
    else:
        quantiles = np.quantile(present, np.linspace(0.0, 1.0, bins + 1))
        edges, repeats = np.unique(quantiles, return_counts=True)
        heavy = repeats > 1
        # Bucket 2j holds the heavy edge j alone; bucket 2i + 1 the values between edges i, i + 1.
        interval = np.minimum(np.searchsorted(edges, present, side="right") - 1, edges.size - 2)
        at_edge = np.searchsorted(edges, present)
        on_heavy = (at_edge < edges.size) & heavy[np.minimum(at_edge, edges.size - 1)]
        on_heavy &= edges[np.minimum(at_edge, edges.size - 1)] == present
        codes[~missing] = np.where(on_heavy, 2 * at_edge, 2 * interval + 1)
        shown = _format_edges(edges)
        last = edges.size - 2
        for j in range(edges.size):
            value = _plain_number(float(edges[j]))
            names.append(f"{label} = {shown[j]}")
            conditions.append(((field, "=", value),) if as_rule else None)
            if j > last:
                break
            high = _plain_number(float(edges[j + 1]))
            closed_high = j == last and not heavy[j + 1]
            opening = "(" if heavy[j] else "["
            closing = "]" if closed_high else ")"
            names.append(f"{label} in {opening}{shown[j]}, {shown[j + 1]}{closing}")
            lower: Condition = (field, ">" if heavy[j] else ">=", value)
            upper: Condition = (field, "<=" if closed_high else "<", high)
            conditions.append((lower, upper) if as_rule else None)
    codes[missing] = len(names)
    names.append(f"{label} is missing")
    conditions.append(((field, "is missing", None),) if as_rule else None)
    return _compact(field, source, codes, names, conditions)


def _value_buckets(field: str, series: pd.Series, missing: BoolArray, max_values: int) -> _Buckets:
    """One bucket per value, the ``max_values`` most frequent ones; the rest share one bucket."""
    text_codes, text = _text_codes(series, missing)
    counts = np.bincount(text_codes[text_codes >= 0], minlength=len(text))
    order = np.lexsort((np.argsort(np.argsort(np.array(text, dtype=object))), -counts))
    order = order[counts[order] > 0]  # "" is a value to pandas but blank here
    kept, rest = order[:max_values], order[max_values:]
    renumber = np.zeros(len(text) + 1, dtype=np.int64)
    renumber[kept] = np.arange(kept.size)
    renumber[rest] = kept.size
    names = [f"{field} = {text[i]}" for i in kept.tolist()]
    conditions: list[tuple[Condition, ...] | None] = [
        ((field, "=", text[i]),) for i in kept.tolist()
    ]
    names.append(f"{field} = other ({rest.size} values)")
    conditions.append(((field, "not in", [text[i] for i in kept.tolist()]),))
    names.append(f"{field} is missing")
    conditions.append(((field, "is missing", None),))
    renumber[-1] = len(names) - 1  # code -1: missing
    codes = renumber[text_codes]
    return _compact(field, "metadata", codes, names, conditions)


def _field_buckets(
    frame: pd.DataFrame, field: str, *, bins: int, max_values: int, categorical: bool
) -> _Buckets:
    series = _hashable(frame[field])
    missing = _missing(series)
    numbers = None if categorical else _numbers(series, missing)
    if numbers is not None:
        return _number_buckets(field, numbers, bins, label=field, source="metadata", as_rule=True)
    return _value_buckets(field, series, missing, max_values)


def _length_buckets(frame: pd.DataFrame, field: str, bins: int) -> _Buckets:
    series = _hashable(frame[field])
    missing = _missing(series)
    lengths = np.full(len(series), np.nan)
    present = series[~missing]
    lengths[~missing] = present.astype(str).str.len().to_numpy(dtype=np.float64)
    return _number_buckets(
        field, lengths, bins, label=f"len({field})", source="text_length", as_rule=False
    )


def _check_fields(frame: pd.DataFrame, fields: Sequence[str]) -> None:
    known = [str(c) for c in frame.columns]
    for name in fields:
        if name not in frame.columns:
            shown = ", ".join(sorted(known)[:_SHOWN_FIELDS])
            more = ", …" if len(known) > _SHOWN_FIELDS else ""
            raise ValueError(f"unknown field {name!r}; the items have: {shown}{more}")


def _text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its column names as text (fields are referred to by name)."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1")


def _slices_of(buckets: _Buckets) -> list[SliceDef]:
    codes = buckets.codes
    if buckets.size < 2**15:
        codes = codes.astype(np.int16)  # numpy sorts 16-bit integers by radix: several times faster
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(buckets.codes, minlength=buckets.size))))
    field = buckets.field if buckets.source == "metadata" else None
    return [
        SliceDef(
            name=name,
            source=buckets.source,
            index=order[bounds[i] : bounds[i + 1]].astype(np.int64),
            field=field,
            conditions=buckets.conditions[i],
        )
        for i, name in enumerate(buckets.names)
    ]


def slice_masks(
    metadata: pd.DataFrame,
    *,
    fields: Sequence[str] | None = None,
    numeric_bins: int = 4,
    text_fields: Sequence[str] = (),
    text_bins: int = 4,
    max_values: int = 50,
    categorical: Sequence[str] = (),
) -> list[SliceDef]:
    """The slices that item metadata defines, field by field; each field's slices partition
    the items.

    ``metadata`` has one row per item (in the items frame's order) and a column per field.
    ``fields`` (default: every column not in ``text_fields``) are sliced by value: a field
    whose present values are all numbers (numbers written as text included) gets
    ``numeric_bins`` quantile bins ``field in [low, high)`` (a value that fills a bin on its
    own, such as a count's 0, gets ``field = 0`` and the bin beside it becomes ``(0, high)``),
    or one slice per value if it has no more distinct values than bins; any other field (and
    those listed in ``categorical``, such as numeric ids) gets ``field = value`` for its
    ``max_values`` most frequent values, then ``field = other (k values)``. ``text_fields``
    are sliced by length, ``len(field) in [low, high)``, in ``text_bins`` quantile bins.
    Blanks (None, NaN, "") form ``field is missing``. Empty slices are left out.
    """
    _check_positive("numeric_bins", numeric_bins)
    _check_positive("text_bins", text_bins)
    _check_positive("max_values", max_values)
    metadata = _text_columns(metadata)
    texts = list(text_fields)
    chosen = [c for c in metadata.columns if c not in texts] if fields is None else list(fields)
    _check_fields(metadata, [*chosen, *texts, *categorical])
    forced = set(categorical)
    slices: list[SliceDef] = []
    for name in chosen:
        buckets = _field_buckets(
            metadata, name, bins=numeric_bins, max_values=max_values, categorical=name in forced
        )
        slices.extend(_slices_of(buckets))
    for name in texts:
        slices.extend(_slices_of(_length_buckets(metadata, name, text_bins)))
    return slices


# --- Rules --------------------------------------------------------------------------------------


def _operator(raw: Any, field: str) -> str:
    text = " ".join(str(raw).lower().split()) if isinstance(raw, str) else None
    if text == "==":
        text = "="
    if text not in OPERATORS:
        raise ValueError(
            f"unknown operator {raw!r} in the condition on {field!r}; "
            f"use one of: {', '.join(OPERATORS)}"
        )
    return text


def _check_conditions(metadata: pd.DataFrame, conditions: Sequence[Any]) -> list[Condition]:
    if isinstance(conditions, str) or not isinstance(conditions, Sequence):
        raise ValueError("a rule is a list of conditions [field, operator, value]")
    if not conditions:
        raise ValueError("a rule needs at least one condition")
    checked: list[Condition] = []
    for condition in conditions:
        if (
            isinstance(condition, str)
            or not isinstance(condition, Sequence)
            or len(condition) not in (2, 3)
        ):
            raise ValueError(f"a condition is [field, operator, value], not {condition!r}")
        field, raw_operator = condition[0], condition[1]
        value = condition[2] if len(condition) == 3 else None
        if not isinstance(field, str):
            raise ValueError(f"a condition's field must be a name, not {field!r}")
        _check_fields(metadata, [field])
        operator = _operator(raw_operator, field)
        if operator in ("is missing", "is not missing"):
            if value is not None:
                raise ValueError(f"{operator!r} takes no value (the condition on {field!r})")
        elif len(condition) == 2 or value is None:
            raise ValueError(
                f"{operator!r} on {field!r} needs a value; use 'is missing' to find blanks"
            )
        checked.append((field, operator, value))
    return checked


def _as_number(field: str, operator: str, value: Any) -> float:
    number: float | None = None
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise ValueError(f"{field!r} holds numbers, so {operator!r} needs a number, not {value!r}")
    return number


def _as_text(field: str, operator: str, value: Any) -> str:
    if isinstance(value, str | int | float | bool | np.generic):
        return _format_value(value)
    raise ValueError(f"{operator!r} on {field!r} needs a single value, not {value!r}")


def _value_list(field: str, operator: str, value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    raise ValueError(f"{operator!r} on {field!r} needs a list of values, not {value!r}")


def _condition_mask(series: pd.Series, field: str, operator: str, value: Any) -> BoolArray:
    series = _hashable(series)
    missing = _missing(series)
    if operator == "is missing":
        return missing
    if operator == "is not missing":
        return ~missing
    numbers = _numbers(series, missing)
    if operator == "contains":
        if not isinstance(value, str) or not value:
            raise ValueError(f"'contains' on {field!r} needs a piece of text, not {value!r}")
        codes, text = _text_codes(series, missing)
        needle = value.casefold()
        hits = np.array([needle in t.casefold() for t in text], dtype=np.bool_)
        return _take(hits, codes)
    if operator in _ORDERING:
        compare = _ORDERING[operator]
        if numbers is not None:
            return np.asarray(compare(numbers, _as_number(field, operator, value)), dtype=np.bool_)
        if not isinstance(value, str):
            raise ValueError(
                f"{field!r} holds text, so {operator!r} compares text in alphabetical order "
                f"and needs a text value, not {value!r}"
            )
        codes, text = _text_codes(series, missing)
        hits = np.asarray(compare(np.array(text, dtype=object), value), dtype=np.bool_)
        return _take(hits, codes)
    wanted = _value_list(field, operator, value) if operator in ("in", "not in") else [value]
    if numbers is not None:
        targets = np.array([_as_number(field, operator, v) for v in wanted], dtype=np.float64)
        equal = np.isin(numbers, targets)
    else:
        codes, text = _text_codes(series, missing)
        targets_text = {_as_text(field, operator, v) for v in wanted}
        equal = _take(np.array([t in targets_text for t in text], dtype=np.bool_), codes)
    # A blank matches no comparison, "!=" and "not in" included: only "is missing" finds it.
    return equal if operator in ("=", "in") else ~equal & ~missing


def _take(per_value: BoolArray, codes: IntArray) -> BoolArray:
    if per_value.size == 0:
        return np.zeros(codes.size, dtype=np.bool_)
    return np.asarray(per_value[np.maximum(codes, 0)] & (codes >= 0), dtype=np.bool_)


def rule_mask(metadata: pd.DataFrame, conditions: Sequence[Any]) -> BoolArray:
    """The items (one boolean per metadata row) that meet every condition of a rule.

    A condition is ``(field, operator, value)``. Operators: ``=``, ``!=``, ``<``, ``<=``, ``>``,
    ``>=``, ``in``, ``not in`` (value: a list), ``contains`` (case-insensitive, value: text),
    ``is missing`` and ``is not missing`` (no value). On a field whose present values are all
    numbers the comparisons are numeric and the value must be a number (or a number written as
    text); on any other field values compare as text, ``<`` and the like in alphabetical order
    (right for ISO dates). A blank (None, NaN, "") matches only ``is missing``, so ``!=`` and
    ``not in`` leave blanks out. A rule that cannot be applied raises ``ValueError`` with a
    message meant for the user.
    """
    mask = np.ones(len(metadata), dtype=np.bool_)
    for field, operator, value in _check_conditions(metadata, conditions):
        mask &= _condition_mask(metadata[field], field, operator, value)
    return mask


def describe_rule(conditions: Sequence[Condition]) -> str:
    """A rule as readable text, such as ``country = DE and score < 0.5``."""
    parts = []
    for field, operator, value in conditions:
        if operator in ("is missing", "is not missing"):
            parts.append(f"{field} {operator}")
        elif operator in ("in", "not in") and isinstance(value, list | tuple | set | frozenset):
            shown = ", ".join(_format_value(v) for v in _value_list(field, operator, value))
            parts.append(f"{field} {operator} ({shown})")
        else:
            parts.append(f"{field} {operator} {_format_value(value)}")
    return " and ".join(parts)


def rule_slice(
    metadata: pd.DataFrame,
    conditions: Sequence[Any],
    *,
    name: str | None = None,
    source: SliceSource = "rule",
) -> SliceDef:
    """The slice of a user's rule (see :func:`rule_mask`), named after it unless ``name``."""
    checked = _check_conditions(metadata, conditions)
    mask = rule_mask(metadata, checked)
    return SliceDef.from_mask(
        name or describe_rule(checked), mask, source=source, conditions=tuple(checked)
    )


# --- The table ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SliceTable:
    """The error-analysis table: the "All data" row and one row per slice, sorted by potential
    improvement (largest first; ties: larger share, then name). Columns as in
    :func:`slice_table`."""

    overall: pd.DataFrame
    rows: pd.DataFrame
    n_items: int
    min_items: int
    min_labels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_items": int(self.n_items),
            "min_items": int(self.min_items),
            "min_labels": int(self.min_labels),
            "overall": frame_records(self.overall)[0],
            "rows": frame_records(self.rows),
        }


def _whole_numbers(frame: pd.DataFrame, name: str) -> IntArray:
    values = np.asarray(frame[name].to_numpy())
    if values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    try:
        as_float = values.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"items.{name} must hold whole numbers") from error
    if not (np.isfinite(as_float).all() and (as_float == np.round(as_float)).all()):
        raise ValueError(f"items.{name} must hold whole numbers (-1 for none, no blanks)")
    return as_float.astype(np.int64)


def _item_counts(items: pd.DataFrame, annotations: pd.DataFrame) -> FloatArray:
    """Per item (rows of ``items``): 1, judged (prediction and reference), correct, labels with
    a leave-one-out reference and their agreement credit; shape (N, 5)."""
    missing = [c for c in ("item", "reference", "prediction") if c not in items.columns]
    if missing:
        raise ValueError(f"items lacks the column(s): {', '.join(missing)}")
    ids = _whole_numbers(items, "item")
    reference = _whole_numbers(items, "reference")
    prediction = _whole_numbers(items, "prediction")
    if "decided" in items.columns:
        decided = np.asarray(items["decided"].fillna(False).to_numpy(dtype=np.bool_))
    else:
        decided = np.zeros(ids.size, dtype=np.bool_)
    undecidable = int(np.count_nonzero(decided & (reference < 0)))
    if undecidable:
        raise ValueError(f"items.decided is true for {undecidable} item(s) without a reference")
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    repeated = int(np.count_nonzero(sorted_ids[1:] == sorted_ids[:-1]))
    if repeated:
        raise ValueError(f"items lists {repeated} item id(s) twice")

    n = ids.size
    judged = (reference >= 0) & (prediction >= 0)
    correct = judged & (prediction == reference)

    prepared = _prepare(annotations, None)
    row_of = np.full(prepared.item_ids.size, -1, dtype=np.int64)
    if n and prepared.item_ids.size:
        position = np.minimum(np.searchsorted(sorted_ids, prepared.item_ids), n - 1)
        found = sorted_ids[position] == prepared.item_ids
        row_of[found] = order[position[found]]
    decision = np.where(decided, reference, -1)
    decision_of = np.where(row_of >= 0, decision[np.maximum(row_of, 0)], -1)
    # As in labeller_agreement: a reviewer's decision replaces the leave-one-out majority.
    credit, has_reference = _leave_one_out_credit(prepared)
    given = decision_of[prepared.item]
    by_decision = given >= 0
    credit = np.where(by_decision, (prepared.label == given).astype(np.float64), credit)
    row = row_of[prepared.item]
    counted = (has_reference | by_decision) & (row >= 0)
    hlp_n = np.bincount(row[counted], minlength=n)
    hlp_agree = np.bincount(row[counted], weights=credit[counted], minlength=n)
    return np.column_stack(
        [np.ones(n), judged, correct, hlp_n.astype(np.float64), hlp_agree]
    ).astype(np.float64)


def _wilson(count: FloatArray, nobs: FloatArray) -> tuple[FloatArray, FloatArray]:
    low = np.full(count.size, np.nan)
    high = np.full(count.size, np.nan)
    rated = nobs > 0
    if rated.any():
        lows, highs = proportion_confint(count[rated], nobs[rated], alpha=0.05, method="wilson")
        low[rated], high[rated] = np.atleast_1d(lows), np.atleast_1d(highs)
    return low, high


def _optional_column(values: FloatArray) -> pd.Series:
    return pd.Series([v if math.isfinite(v) else None for v in values.tolist()], dtype=object)


def _table_frame(
    names: list[str],
    sources: list[str],
    fields: list[str | None],
    totals: FloatArray,
    n_total: int,
    min_items: int,
    min_labels: int,
) -> pd.DataFrame:
    n_items, judged, correct, hlp_n, hlp_agree = (totals[:, c] for c in range(5))
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(judged > 0, correct / judged, np.nan)
        hlp = np.where(hlp_n > 0, hlp_agree / hlp_n, np.nan)
        share = n_items / n_total if n_total > 0 else np.full(n_items.size, np.nan)
    gap = hlp - accuracy
    potential = np.maximum(gap, 0.0) * share
    accuracy_low, accuracy_high = _wilson(correct, judged)
    hlp_low, hlp_high = _wilson(hlp_agree, hlp_n)
    return pd.DataFrame(
        {
            "slice": pd.Series(names, dtype=object),
            "source": pd.Series(sources, dtype=object),
            "field": pd.Series(fields, dtype=object),
            "n_items": np.rint(n_items).astype(np.int64),
            "share": _optional_column(share),
            "accuracy": _optional_column(accuracy),
            "accuracy_low": _optional_column(accuracy_low),
            "accuracy_high": _optional_column(accuracy_high),
            "accuracy_n": np.rint(judged).astype(np.int64),
            "correct": np.rint(correct).astype(np.int64),
            "hlp": _optional_column(hlp),
            "hlp_low": _optional_column(hlp_low),
            "hlp_high": _optional_column(hlp_high),
            "hlp_n": np.rint(hlp_n).astype(np.int64),
            "hlp_agree": hlp_agree.astype(np.float64),
            "gap": _optional_column(gap),
            "potential_improvement": _optional_column(potential),
            "too_small": (judged < min_items) | (hlp_n < min_labels),
        },
        columns=TABLE_COLUMNS,
    )


def slice_table(
    items: pd.DataFrame,
    annotations: pd.DataFrame,
    slices: Sequence[SliceDef],
    *,
    min_items: int = DEFAULT_MIN_ITEMS,
    min_labels: int = DEFAULT_MIN_LABELS,
) -> SliceTable:
    """The error-analysis table: accuracy, HLP, gap, share and potential improvement per slice.

    ``items``: one row per item of the analysis (N rows, the order the slices' positions refer
    to) with integer ``item`` (id), ``reference`` (class code, -1 for none), ``prediction``
    (class code, -1 for none) and optionally boolean ``decided`` (the reference is a reviewer's
    decision). ``annotations``: the human labels as for :mod:`quality.analysis.agreement`,
    integer ``item``, ``labeller``, ``label``, one row per (item, labeller); labels of items not
    in ``items`` are ignored.

    Columns: ``slice``, ``source``, ``field``, ``n_items``, ``share`` (n_items / N),
    ``accuracy`` with ``accuracy_low``/``accuracy_high`` (95% Wilson), ``accuracy_n`` (items with
    a prediction and a reference) and ``correct``; ``hlp`` with ``hlp_low``/``hlp_high``,
    ``hlp_n`` (labels with a reference) and ``hlp_agree`` (credit earned, fractional on ties);
    ``gap`` (HLP − accuracy), ``potential_improvement`` (max(gap, 0) × share) and ``too_small``
    (fewer than ``min_items`` judged items or ``min_labels`` counted labels). A rate without
    anything to count, and the gap and improvement that need it, are None.
    """
    _check_positive("min_items", min_items)
    _check_positive("min_labels", min_labels)
    counts = _item_counts(items, annotations)
    n = counts.shape[0]
    for piece in slices:
        if piece.size and int(piece.index[-1]) >= n:
            raise ValueError(
                f"slice {piece.name!r} refers to row {int(piece.index[-1])}, "
                f"but there are {n} items"
            )
    sizes = np.array([piece.size for piece in slices], dtype=np.int64)
    indptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    indices = (
        np.concatenate([piece.index for piece in slices]) if slices else np.zeros(0, dtype=np.int64)
    )
    # One sparse product sums the per-item counts of every slice at once.
    membership = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(len(slices), n))
    totals = np.asarray(membership @ counts, dtype=np.float64).reshape(len(slices), 5)
    rows = _table_frame(
        [piece.name for piece in slices],
        [piece.source for piece in slices],
        [piece.field for piece in slices],
        totals,
        n,
        min_items,
        min_labels,
    )
    potential = pd.to_numeric(rows["potential_improvement"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    tie_key = np.where(np.isnan(potential), -np.inf, np.round(potential / TIE_TOLERANCE))
    share = pd.to_numeric(rows["share"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    name_rank = np.argsort(np.argsort(rows["slice"].to_numpy(dtype=object), kind="stable"))
    order = np.lexsort((name_rank, -np.nan_to_num(share, nan=0.0), -tie_key))
    overall = _table_frame(
        [ALL_DATA], ["all"], [None], counts.sum(axis=0).reshape(1, 5), n, min_items, min_labels
    )
    return SliceTable(
        overall=overall,
        rows=rows.iloc[order].reset_index(drop=True),
        n_items=n,
        min_items=min_items,
        min_labels=min_labels,
    )


# --- Discovery ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DiscoveredSlice:
    """A conjunction of field values on which the model errs more than on average.

    ``predicates`` are the bucket names joined by "and" in ``name``; ``conditions`` the same as
    a rule (None when a predicate, such as a text-length bin, is no rule). ``size`` rows,
    ``errors`` their summed error, ``error_rate`` = errors / size, ``score`` SliceLine's score;
    ``index`` the rows (positions in ``features``).
    """

    name: str
    predicates: tuple[str, ...]
    conditions: tuple[Condition, ...] | None
    size: int
    errors: float
    error_rate: float
    score: float
    index: IntArray

    def as_slice(self) -> SliceDef:
        """The slice, for :func:`slice_table`."""
        return SliceDef(self.name, "discovered", self.index, conditions=self.conditions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "predicates": list(self.predicates),
            "conditions": self.as_slice().to_dict()["conditions"],
            "size": int(self.size),
            "errors": _json_safe(float(self.errors)),
            "error_rate": _json_safe(float(self.error_rate)),
            "score": _json_safe(float(self.score)),
        }


@dataclass(frozen=True, eq=False)
class _Lattice:
    """The search space: every field's buckets as predicates with global ids."""

    codes: IntArray  # (F, n) bucket of each row per field
    cards: IntArray  # (F,) buckets per field
    offsets: IntArray  # (F,) id of each field's first predicate
    field_of: IntArray  # (P,) field of each predicate
    errors: FloatArray  # (n,)
    binary: bool
    n: int
    mean_error: float
    alpha: float
    min_support: int

    @property
    def n_predicates(self) -> int:
        return int(self.field_of.size)

    def score(self, size: FloatArray, errors: FloatArray) -> FloatArray:
        """SliceLine's score α(ē_S / ē − 1) − (1 − α)(n / |S| − 1)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            value = self.alpha * ((errors / size) / self.mean_error - 1) - (1 - self.alpha) * (
                self.n / size - 1
            )
        return np.where(size > 0, value, -np.inf)

    def bound(self, size: FloatArray, errors: FloatArray, max_error: FloatArray) -> FloatArray:
        """SliceLine's upper bound on the score of a slice (or any sub-slice) whose size, summed
        error and largest error are at most these."""
        # The score of a sub-slice of size s is at most
        # alpha * (min(s * max, errors) / (s * mean) - 1) - (1 - alpha) * (n / s - 1),
        # monotone on each side of s = errors / max: its maximum over [min_support, size] is
        # at an end or at that kink.
        low = np.full(size.size, float(self.min_support))
        with np.errstate(divide="ignore", invalid="ignore"):
            kink = np.clip(errors / np.maximum(max_error, 1e-300), low, np.maximum(size, low))
            best = np.full(size.size, -np.inf)
            for s in (low, kink, np.maximum(size, low)):
                value = self.alpha * (
                    np.minimum(s * max_error, errors) / (s * self.mean_error) - 1
                ) - (1 - self.alpha) * (self.n / s - 1)
                best = np.maximum(best, value)
        return np.where(size >= self.min_support, best, -np.inf)

    def count(self, candidates: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Exact size, summed error and largest error of each candidate (rows of predicate
        ids, one per field), one pass over the rows per combination of fields."""
        k, level = candidates.shape
        size = np.zeros(k)
        errors = np.zeros(k)
        max_error = np.zeros(k)
        fields = self.field_of[candidates]
        local = candidates - self.offsets[fields]
        field_key = np.zeros(k, dtype=np.int64)
        for column in range(level):
            field_key = field_key * self.cards.size + fields[:, column]
        groups, inverse = np.unique(field_key, return_inverse=True)
        members_sorted = np.argsort(inverse.reshape(-1), kind="stable")
        bounds = np.searchsorted(inverse.reshape(-1)[members_sorted], np.arange(groups.size + 1))
        for group in range(groups.size):
            members = members_sorted[bounds[group] : bounds[group + 1]]
            chosen = fields[members[0]].tolist()
            cells = 1
            for f in chosen:
                cells *= int(self.cards[f])
            row_cell = np.zeros(self.n, dtype=np.int64)
            wanted = np.zeros(members.size, dtype=np.int64)
            for column, f in enumerate(chosen):
                row_cell = row_cell * self.cards[f] + self.codes[f]
                wanted = wanted * self.cards[f] + local[members, column]
            if cells <= MAX_DENSE_CELLS:
                cell_of_row, n_cells, target = row_cell, cells, wanted
            else:
                present, cell_of_row = np.unique(row_cell, return_inverse=True)
                n_cells = present.size
                position = np.minimum(np.searchsorted(present, wanted), max(n_cells - 1, 0))
                target = np.where(present[position] == wanted, position, n_cells)
                n_cells += 1  # one empty cell for the combinations no row has
            cell_size = np.bincount(cell_of_row, minlength=n_cells).astype(np.float64)
            cell_errors = np.bincount(cell_of_row, weights=self.errors, minlength=n_cells)
            if self.binary:
                cell_max = (cell_errors > 0).astype(np.float64)
            else:
                cell_max = np.zeros(n_cells)
                np.maximum.at(cell_max, cell_of_row, self.errors)
            size[members] = cell_size[target]
            errors[members] = cell_errors[target]
            max_error[members] = cell_max[target]
        return size, errors, max_error


def _pairs_within_groups(group: IntArray) -> tuple[IntArray, IntArray]:
    """Every (i, j), i < j, of rows in the same group; rows of a group are consecutive."""
    n = group.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    ends = np.concatenate((starts[1:], [n]))
    end_of_row = np.repeat(ends, ends - starts)
    after = end_of_row - np.arange(n) - 1
    first = np.repeat(np.arange(n, dtype=np.int64), after)
    block_start = np.cumsum(after) - after
    step = np.arange(first.size, dtype=np.int64) - np.repeat(block_start, after) + 1
    return first, first + step


def _keys(rows: IntArray, base: int) -> IntArray:
    key = np.zeros(rows.shape[0], dtype=np.int64)
    for column in range(rows.shape[1]):
        key = key * base + rows[:, column]
    return key


def _candidates(
    lattice: _Lattice, parents: IntArray, stats: tuple[FloatArray, FloatArray, FloatArray]
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """The next level's candidates from this level's slices (rows sorted ascending), with the
    smallest size, error and largest error among their parents; a candidate some of whose
    parents are missing (pruned) is left out, as it cannot score better than they could."""
    k, width = parents.shape
    prefix_key = _keys(parents[:, :-1], lattice.n_predicates)
    first, second = _pairs_within_groups(prefix_key)
    distinct_fields = lattice.field_of[parents[first, -1]] < lattice.field_of[parents[second, -1]]
    first, second = first[distinct_fields], second[distinct_fields]
    candidates = np.column_stack([parents[first], parents[second, -1]])
    size = np.minimum(stats[0][first], stats[0][second])
    errors = np.minimum(stats[1][first], stats[1][second])
    max_error = np.minimum(stats[2][first], stats[2][second])
    keep = np.ones(first.size, dtype=np.bool_)
    parent_keys = _keys(parents, lattice.n_predicates)  # ascending, as the rows are
    for dropped in range(width - 1):
        other = np.delete(candidates, dropped, axis=1)
        other_keys = _keys(other, lattice.n_predicates)
        position = np.minimum(np.searchsorted(parent_keys, other_keys), max(k - 1, 0))
        found = parent_keys[position] == other_keys
        keep &= found
        size = np.minimum(size, np.where(found, stats[0][position], 0.0))
        errors = np.minimum(errors, np.where(found, stats[1][position], 0.0))
        max_error = np.minimum(max_error, np.where(found, stats[2][position], 0.0))
    return candidates[keep], size[keep], errors[keep], max_error[keep]


def _rank(
    level: IntArray, predicates: IntArray, score: FloatArray, size: FloatArray
) -> npt.NDArray[np.intp]:
    # Score first; then the simpler slice, the larger one, the predicates in order.
    columns = [predicates[:, c] for c in range(predicates.shape[1] - 1, -1, -1)]
    return np.lexsort((*columns, -size, level, -score))


def discover_slices(
    features: pd.DataFrame,
    errors: npt.ArrayLike,
    *,
    max_level: int = 3,
    top_k: int = 10,
    min_support: int | None = None,
    alpha: float = 0.95,
    numeric_bins: int = 4,
    max_values: int = 50,
    categorical: Sequence[str] = (),
) -> list[DiscoveredSlice]:
    """The ``top_k`` slices, conjunctions of up to ``max_level`` field values, with the highest
    SliceLine score α(ē_S / ē − 1) − (1 − α)(n / |S| − 1).

    ``features``: one row per item, a column per field, bucketed as :func:`slice_masks` does
    (numbers in ``numeric_bins`` quantile bins, values beyond the ``max_values`` most frequent
    as "other", blanks as "is missing"). ``errors``: per row the model's error in 0..1 (1:
    wrong); NaN leaves the row out (no prediction or no reference). Only slices with at least
    ``min_support`` rows (default: 30 or 1% of the rows, whichever is larger) and a positive
    score qualify. Ties in score go to the slice with fewer predicates, then the larger, then
    the first in field order; the answer is the same for any order of the rows.
    """
    _check_positive("max_level", max_level)
    _check_positive("top_k", top_k)
    _check_positive("numeric_bins", numeric_bins)
    _check_positive("max_values", max_values)
    if not 0 < alpha <= 1:
        raise ValueError("alpha must lie in (0, 1]")
    error_values = np.asarray(errors, dtype=np.float64).reshape(-1)
    if error_values.size != len(features):
        raise ValueError(
            f"errors has {error_values.size} entries; expected one per row of features "
            f"({len(features)})"
        )
    judged = ~np.isnan(error_values)
    if ((error_values[judged] < 0) | (error_values[judged] > 1)).any():
        raise ValueError("errors must lie between 0 and 1 (NaN for rows without one)")
    features = _text_columns(features)
    _check_fields(features, list(categorical))
    rows = np.flatnonzero(judged)
    frame = features if rows.size == len(features) else features.iloc[rows]
    row_errors = error_values[rows]
    n = int(rows.size)
    support = max(DEFAULT_MIN_ITEMS, math.ceil(0.01 * n)) if min_support is None else min_support
    _check_positive("min_support", support)
    if n == 0 or features.shape[1] == 0 or float(row_errors.sum()) <= 0:
        return []

    forced = set(categorical)
    buckets = [
        _field_buckets(frame, c, bins=numeric_bins, max_values=max_values, categorical=c in forced)
        for c in frame.columns
    ]
    cards = np.array([b.size for b in buckets], dtype=np.int64)
    n_predicates = int(cards.sum())
    if n_predicates ** min(max_level, len(buckets)) >= 2**62:
        raise ValueError("too many field values for this search: lower max_values or max_level")
    lattice = _Lattice(
        codes=np.vstack([b.codes for b in buckets]).astype(np.int64),
        cards=cards,
        offsets=(np.cumsum(cards) - cards).astype(np.int64),
        field_of=np.repeat(np.arange(cards.size, dtype=np.int64), cards),
        errors=row_errors,
        binary=bool(np.isin(row_errors, (0.0, 1.0)).all()),
        n=n,
        mean_error=float(row_errors.mean()),
        alpha=float(alpha),
        min_support=int(support),
    )

    top_level = np.zeros(0, dtype=np.int64)
    top_predicates = np.zeros((0, max_level), dtype=np.int64)
    top_score = np.zeros(0)
    top_size = np.zeros(0)
    top_errors = np.zeros(0)
    stats = (np.zeros(0), np.zeros(0), np.zeros(0))
    candidates = np.arange(n_predicates, dtype=np.int64).reshape(-1, 1)
    for level in range(1, max_level + 1):
        if level > 1 and candidates.shape[0] > 1:
            threshold = top_score[top_k - 1] if top_score.size >= top_k else 0.0
            candidates, size_ub, errors_ub, max_ub = _candidates(lattice, candidates, stats)
            bound = lattice.bound(size_ub, errors_ub, max_ub)
            hopeful = (errors_ub > 0) & (bound > 0) & (bound >= threshold)
            candidates = candidates[hopeful]
        if candidates.shape[0] == 0:
            break
        size, error_sum, max_error = lattice.count(candidates)
        score = lattice.score(size, error_sum)
        qualifies = (size >= support) & (score > 0)
        padded = np.full((candidates.shape[0], max_level), n_predicates, dtype=np.int64)
        padded[:, :level] = candidates
        top_level = np.concatenate([top_level, np.full(int(qualifies.sum()), level)])
        top_predicates = np.vstack([top_predicates, padded[qualifies]])
        top_score = np.concatenate([top_score, score[qualifies]])
        top_size = np.concatenate([top_size, size[qualifies]])
        top_errors = np.concatenate([top_errors, error_sum[qualifies]])
        best = _rank(top_level, top_predicates, top_score, top_size)[:top_k]
        top_level, top_predicates = top_level[best], top_predicates[best]
        top_score, top_size, top_errors = top_score[best], top_size[best], top_errors[best]
        # Only slices whose sub-slices might still make the top k are extended.
        threshold = top_score[top_k - 1] if top_score.size >= top_k else 0.0
        bound = lattice.bound(size, error_sum, max_error)
        extend = (size >= support) & (error_sum > 0) & (bound > 0) & (bound >= threshold)
        candidates = candidates[extend]
        stats = (size[extend], error_sum[extend], max_error[extend])
        order = np.lexsort([candidates[:, c] for c in range(level - 1, -1, -1)])
        candidates = candidates[order]
        stats = (stats[0][order], stats[1][order], stats[2][order])

    found: list[DiscoveredSlice] = []
    for i in range(top_score.size):
        chosen = top_predicates[i, : top_level[i]].tolist()
        member = np.ones(n, dtype=np.bool_)
        names: list[str] = []
        conditions: list[Condition] | None = []
        for predicate in chosen:
            field = int(lattice.field_of[predicate])
            local = predicate - int(lattice.offsets[field])
            member &= lattice.codes[field] == local
            names.append(buckets[field].names[local])
            rule = buckets[field].conditions[local]
            conditions = None if rule is None or conditions is None else [*conditions, *rule]
        found.append(
            DiscoveredSlice(
                name=" and ".join(names),
                predicates=tuple(names),
                conditions=None if conditions is None else tuple(conditions),
                size=int(top_size[i]),
                errors=float(top_errors[i]),
                error_rate=float(top_errors[i] / top_size[i]),
                score=float(top_score[i]),
                index=rows[member].astype(np.int64),
            )
        )
    return found
