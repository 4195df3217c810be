"""Data-quality report of a batch of items: an import batch or a frozen dataset version. No Django.

:func:`quality_report` takes ``frame``: one row per item, one column per data or metadata field,
values as stored in JSON (text, numbers, booleans, None; numbers may be written as text; lists
and objects count as their JSON text). Items are named by their row position (0-based) in the
report; the caller maps positions to item ids through ``frame.index``. ``labels``, when given,
holds one label per row in the same order (used by position, not aligned on the index).

- **Missing**: None, NaN and blank text ("" or whitespace only).
- **Kind** of a field, unless ``kinds`` or ``text_fields`` names it: ``empty`` when every value
  is missing; ``boolean`` when every present value is a boolean (or the text true/false);
  ``numeric`` when at least 90% of the present values are finite numbers (numbers written as
  text count; the rest is reported as ``non_numeric``); otherwise ``text`` when the values are
  long (median 40 characters or more) or wordy and varied (median 3 words or more, at least half
  of them distinct), else ``categorical``.
- **Values as text**: 1, 1.0 and "1" are one value, booleans are true/false; rules ``allowed``,
  ``unique``, ``length`` and ``pattern``, category counts and labels all compare this text.
- **Exact duplicates**: rows identical on the duplicate fields (``duplicate_fields``; default
  the text fields, or every field when there is none), rows missing all of them left out.
  Rows are compared by a 64-bit hash of their values: a false match becomes likely only
  near 2³² rows.
  **Label conflicts**: groups of exact duplicates that carry two or more different labels.
- **Near duplicates** (text fields only): texts are folded (lower case, ASCII punctuation and
  runs of spaces as one space) and the texts that fold to the same string are near duplicates
  of each other. Two different folded texts are near duplicates when the cosine similarity of
  their sets of 8-byte shingles (overlapping 8-byte pieces of the UTF-8 text) is at least
  ``near_duplicate_threshold``. Candidate pairs come from MinHash LSH (one-permutation
  hashing, 64 bins in 16 bands of 4: a pair at the Jaccard index J ≥ 0.81 that a cosine of 0.9
  implies becomes a candidate with probability 1 - (1 - J⁴)¹⁶ ≥ 0.9998) and every link is
  checked exactly, so the search may miss a near duplicate but never invents one. Groups are
  the connected components of "near duplicate of"; a group counts when it holds two or more
  different texts (copies of one text are exact duplicates). Above ``near_duplicate_limit``
  distinct folded texts the similarity search runs on a random sample of that many (seed 0)
  and the report says so; texts that fold alike are found among all rows.

Every count is over rows. Nothing returns NaN: a figure the data leave undefined is None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from pandas.api import types as ptypes
from scipy.sparse.csgraph import connected_components

from quality.analysis.label_issues import json_safe

Kind = Literal["numeric", "categorical", "text", "boolean", "empty"]
Check = Literal["required", "allowed", "range", "length", "unique", "pattern"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
HashArray = npt.NDArray[np.uint64]

KINDS: tuple[str, ...] = get_args(Kind)
CHECKS: tuple[str, ...] = get_args(Check)
QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
MAX_EXAMPLES = 10
MAX_EXAMPLE_ROWS = 10
PREVIEW_CHARS = 200
MAX_WARNINGS = 20

# Kind inference.
NUMERIC_MIN_SHARE = 0.9
TEXT_MIN_MEDIAN_CHARS = 40
TEXT_MIN_MEDIAN_WORDS = 3
TEXT_MIN_DISTINCT_SHARE = 0.5
INFERENCE_SAMPLE = 1000
# Word counts cost a Python call per text: the median comes from this many texts at most.
WORDS_SAMPLE = 10_000

# Warnings.
MISSING_WARNING_SHARE = 0.05
IMBALANCE_WARNING_RATIO = 10.0

# Near duplicates.
NEAR_DUPLICATE_THRESHOLD = 0.9
# Distinct folded texts searched for similar pairs at most (about 4 s per 100,000 texts of
# ~200 characters on one core); more are sampled.
NEAR_DUPLICATE_LIMIT = 100_000
SHINGLE_BYTES = 8
MINHASH_BINS = 64
BAND_ROWS = 4
# Band buckets larger than this give a chain through their texts instead of all pairs.
ALL_PAIRS_BUCKET = 20
# Candidates whose signatures agree on fewer bins than this are dropped before the exact
# check: a pair at Jaccard 0.81 agrees on 52 of 64 bins on average, 6 standard deviations
# above this.
MIN_SIGNATURE_AGREEMENT = 0.5
_PAIR_CHUNK = 20_000
# Classes listed in the class balance at most (a label field holding numbers could have a
# million); the figures cover every class.
MAX_CLASSES = 1000

_MISSING_TEXT = "\x00missing"  # hashes a missing value apart from every text
_MISSING_HASH = np.uint64(0x9E3779B97F4A7C15)
_STRING = pd.StringDtype("pyarrow")
_RULE_KEYS: dict[str, tuple[str, ...]] = {
    "required": (),
    "allowed": ("values",),
    "range": ("min", "max"),
    "length": ("min", "max"),
    "unique": (),
    "pattern": ("regex",),
}
_COMMON_RULE_KEYS = ("field", "check", "name")


class RuleError(ValueError):
    """Rules that cannot be checked; ``problems`` lists every one, each meant for the user."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


# --- Results ------------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _preview(value: Any) -> Any:
    """A value for the report: JSON-safe, long text cut to ``PREVIEW_CHARS`` characters."""
    value = json_safe(value)
    if isinstance(value, str) and len(value) > PREVIEW_CHARS:
        return value[: PREVIEW_CHARS - 1] + "…"
    return value


@dataclass(frozen=True)
class Histogram:
    """Bin edges (one more than counts) and counts, for a chart. Bins are [low, high), the last
    one closed."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"edges": json_safe(list(self.edges)), "counts": list(self.counts)}


@dataclass(frozen=True)
class NumericSummary:
    """The finite numbers of a field (``count`` of them) and how many present values are not
    numbers. ``std`` is the sample standard deviation (ddof=1); quantiles are numpy's linear
    ones, keyed ``p01`` … ``p99``."""

    count: int
    non_numeric: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: Mapping[str, float] = field(default_factory=dict)
    histogram: Histogram | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "non_numeric": self.non_numeric,
            "min": json_safe(self.min),
            "max": json_safe(self.max),
            "mean": json_safe(self.mean),
            "std": json_safe(self.std),
            "quantiles": json_safe(dict(self.quantiles)),
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
        }


@dataclass(frozen=True)
class ValueCount:
    """A value (as text) or a label, its row count and its share of the counted rows."""

    value: str
    count: int
    share: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count, "share": json_safe(self.share)}


@dataclass(frozen=True)
class CategorySummary:
    """The most frequent values, most frequent first (ties in text order); the rest fold into
    "other": ``other_count`` rows holding ``other_values`` distinct values. Shares are of the
    present values."""

    top: tuple[ValueCount, ...]
    other_count: int
    other_values: int
    other_share: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "top": [v.to_dict() for v in self.top],
            "other_count": self.other_count,
            "other_values": self.other_values,
            "other_share": json_safe(self.other_share),
        }


@dataclass(frozen=True)
class TextSummary:
    """Lengths of the present texts in characters (Unicode code points) and the median number
    of words (runs of non-space characters), over ``WORDS_SAMPLE`` texts spread evenly over the
    rows when there are more."""

    count: int
    length_min: int | None = None
    length_median: float | None = None
    length_mean: float | None = None
    length_p95: float | None = None
    length_max: int | None = None
    words_median: float | None = None
    histogram: Histogram | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "length_min": self.length_min,
            "length_median": json_safe(self.length_median),
            "length_mean": json_safe(self.length_mean),
            "length_p95": json_safe(self.length_p95),
            "length_max": self.length_max,
            "words_median": json_safe(self.words_median),
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
        }


@dataclass(frozen=True)
class FieldProfile:
    """One field: its kind (``kind_given`` when the caller chose it), rows, missing rows,
    distinct present values and the summary its kind has (``categories`` for categorical and
    boolean fields)."""

    name: str
    kind: Kind
    kind_given: bool
    rows: int
    missing: int
    distinct: int
    numeric: NumericSummary | None = None
    categories: CategorySummary | None = None
    text: TextSummary | None = None

    @property
    def missing_share(self) -> float | None:
        return _share(self.missing, self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "kind_given": self.kind_given,
            "rows": self.rows,
            "missing": self.missing,
            "missing_share": json_safe(self.missing_share),
            "distinct": self.distinct,
            "numeric": None if self.numeric is None else self.numeric.to_dict(),
            "categories": None if self.categories is None else self.categories.to_dict(),
            "text": None if self.text is None else self.text.to_dict(),
        }


@dataclass(frozen=True)
class ClassBalance:
    """Labels per class, most frequent first (declared classes without items last, count 0;
    the first ``MAX_CLASSES`` of ``n_classes``).

    ``imbalance_ratio`` is the largest class over the smallest non-empty one (None with fewer
    than two non-empty classes); ``balance`` is the entropy of the class shares over its
    maximum, log(number of classes): 1 for equal classes, towards 0 as one class dominates
    (None with fewer than two classes). ``unexpected`` lists labels outside ``label_classes``.
    """

    labelled: int
    unlabelled: int
    n_classes: int
    classes: tuple[ValueCount, ...]
    imbalance_ratio: float | None
    balance: float | None
    empty_classes: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "unlabelled": self.unlabelled,
            "n_classes": self.n_classes,
            "classes": [c.to_dict() for c in self.classes],
            "imbalance_ratio": json_safe(self.imbalance_ratio),
            "balance": json_safe(self.balance),
            "empty_classes": list(self.empty_classes),
            "unexpected": list(self.unexpected),
        }


@dataclass(frozen=True)
class DuplicateGroup:
    """Rows that are duplicates of each other: the first ``MAX_EXAMPLE_ROWS`` row positions,
    the group's size, up to three of its texts (or one, for exact duplicates) and, for a label
    conflict, its labels with their counts."""

    rows: tuple[int, ...]
    size: int
    texts: tuple[Any, ...] = ()
    labels: tuple[ValueCount, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "rows": list(self.rows),
            "size": self.size,
            "texts": [_preview(t) for t in self.texts],
        }
        if self.labels:
            result["labels"] = [c.to_dict() for c in self.labels]
        return result


@dataclass(frozen=True)
class DuplicateSummary:
    """Groups of duplicate rows: how many, the rows in them, the rows beyond each group's first
    (``redundant``: what deduplication would drop) and examples, largest groups first."""

    fields: tuple[str, ...]
    groups: int
    rows: int
    examples: tuple[DuplicateGroup, ...] = ()

    @property
    def redundant(self) -> int:
        return self.rows - self.groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "groups": self.groups,
            "rows": self.rows,
            "redundant": self.redundant,
            "examples": [g.to_dict() for g in self.examples],
        }


@dataclass(frozen=True)
class NearDuplicateSummary(DuplicateSummary):
    """Near-duplicate groups (see the module's notes). ``texts_searched`` of ``texts`` distinct
    folded texts went through the similarity search (fewer when ``sampled``)."""

    threshold: float = NEAR_DUPLICATE_THRESHOLD
    texts: int = 0
    texts_searched: int = 0
    sampled: bool = False
    pairs_checked: int = 0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "threshold": self.threshold,
            "texts": self.texts,
            "texts_searched": self.texts_searched,
            "sampled": self.sampled,
            "pairs_checked": self.pairs_checked,
            "note": self.note,
        }


@dataclass(frozen=True)
class Violation:
    """A row that breaks a rule and its value there (JSON-safe, long text cut short)."""

    row: int
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "value": self.value}


@dataclass(frozen=True)
class RuleResult:
    """One owner-defined rule: the rule as validated, a readable name, whether every row passes,
    the violating rows (count, share of all rows) and the first ``MAX_EXAMPLES`` of them."""

    rule: Mapping[str, Any]
    name: str
    passed: bool
    violations: int
    share: float | None
    examples: tuple[Violation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": json_safe(dict(self.rule)),
            "name": self.name,
            "passed": self.passed,
            "violations": self.violations,
            "share": json_safe(self.share),
            "examples": [v.to_dict() for v in self.examples],
        }


@dataclass(frozen=True)
class QualityReport:
    """The data-quality report of a batch (see :func:`quality_report`).

    ``complete_rows`` counts rows with no field missing. ``warnings`` are short sentences for the
    owner, most important kinds first; ``notes`` say what was not computed, or only on a sample.
    """

    rows: int
    fields: tuple[FieldProfile, ...]
    complete_rows: int
    duplicates: DuplicateSummary
    class_balance: ClassBalance | None = None
    label_conflicts: DuplicateSummary | None = None
    near_duplicates: NearDuplicateSummary | None = None
    rules: tuple[RuleResult, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def field(self, name: str) -> FieldProfile:
        """The profile of the field called ``name``."""
        for profile in self.fields:
            if profile.name == name:
                return profile
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "complete_rows": self.complete_rows,
            "fields": [f.to_dict() for f in self.fields],
            "duplicates": self.duplicates.to_dict(),
            "class_balance": None if self.class_balance is None else self.class_balance.to_dict(),
            "label_conflicts": None
            if self.label_conflicts is None
            else self.label_conflicts.to_dict(),
            "near_duplicates": None
            if self.near_duplicates is None
            else self.near_duplicates.to_dict(),
            "rules": [r.to_dict() for r in self.rules],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


# --- Values -------------------------------------------------------------------------------------


def _value_text(value: Any) -> str | None:
    """One stored value as text (None when missing): 1, 1.0 and "1" alike, booleans as
    true/false, lists and objects as JSON."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        import json

        return json.dumps(json_safe(value), sort_keys=True, ensure_ascii=False, default=str)
    return str(value)


def _float_text(numbers: FloatArray) -> npt.NDArray[np.object_]:
    """Floats as :func:`_value_text` writes them (vectorised); NaN as None."""
    text = np.full(numbers.size, None, dtype=object)
    finite = np.isfinite(numbers)
    whole = finite & (np.floor(numbers) == numbers) & (np.abs(numbers) < 1e15)
    # Python's str and repr beat numpy's float-to-text conversion several times over.
    text[whole] = list(map(str, numbers[whole].astype(np.int64).tolist()))
    fraction = finite & ~whole
    text[fraction] = list(map(repr, numbers[fraction].tolist()))
    text[np.isposinf(numbers)] = "inf"
    text[np.isneginf(numbers)] = "-inf"
    return text


_FLOAT_TYPES = {float, np.float64, np.float32, np.float16}
_INT_TYPES = {int, np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8}
_BOOL_TYPES = {bool, np.bool_}


@dataclass(frozen=True, eq=False)
class _Objects:
    """Stored values sorted by type: their text (None where missing), the numbers of those
    stored as numbers, and which values were stored as booleans or numbers."""

    text: npt.NDArray[np.object_]
    numbers: FloatArray
    booleans: BoolArray
    stored_numbers: BoolArray


def _objects(values: npt.NDArray[np.object_]) -> _Objects:
    """Sort stored values by type, one vectorised step per type (no Python call per value
    except for lists, objects and other rare types)."""
    types = pd.Series(values, dtype=object, copy=False).map(type)
    text = np.full(values.size, None, dtype=object)
    numbers = np.full(values.size, np.nan)
    is_str = types.isin([str]).to_numpy()
    text[is_str] = values[is_str]
    booleans = types.isin(_BOOL_TYPES).to_numpy()
    text[booleans] = np.where(values[booleans].astype(bool), "true", "false")
    floats = types.isin(_FLOAT_TYPES).to_numpy()
    numbers[floats] = values[floats].astype(np.float64)
    text[floats] = _float_text(numbers[floats])
    ints = types.isin(_INT_TYPES).to_numpy()
    numbers[ints] = values[ints].astype(np.float64)
    text[ints] = list(map(str, values[ints].tolist()))
    others = ~(is_str | booleans | floats | ints)
    if others.any():
        text[others] = [_value_text(v) for v in values[others]]
    return _Objects(text, numbers, booleans, floats | ints)


def _evenly(count: int, most: int) -> IntArray:
    """Up to ``most`` positions spread evenly over ``range(count)``: a sample without chance."""
    if count <= most:
        return np.arange(count, dtype=np.int64)
    return np.linspace(0, count - 1, most).astype(np.int64)


# Numbers written as text: JSON's notation, with a leading + or a bare fraction (.5) allowed and
# spaces or tabs around. No \s or \d: with them pandas leaves RE2 for Python's re, row by row.
_NUMBER_TEXT = r"[ \t]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*"


def _parse_numbers(texts: pd.Series) -> FloatArray:
    """Texts that are numbers as floats, NaN for the rest (missing included)."""
    numbers = np.full(len(texts), np.nan)
    looks = texts.str.fullmatch(_NUMBER_TEXT).to_numpy(dtype=np.bool_, na_value=False)
    if looks.any():
        parsed = pd.to_numeric(texts[looks], errors="coerce")
        numbers[looks] = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers


def _word_counts(texts: Sequence[str]) -> FloatArray:
    """Words per text: runs of characters other than whitespace."""
    return np.array([len(t.split()) for t in texts], dtype=np.float64)


class _Field:
    """One column, prepared once: which rows are missing, its numbers, its values as text.

    ``source`` says how the values were stored: all numbers, all booleans, or anything else
    (text, or a mix) as "text".
    """

    def __init__(self, name: str, series: pd.Series) -> None:
        series = series.reset_index(drop=True)  # rows are positions
        self.name = name
        self.series = series
        self.rows = len(series)
        dtype = series.dtype
        # Numbers stored as numbers; NaN elsewhere, where ``_parse`` marks the rows whose text
        # may hold a number.
        self._stored: FloatArray | None = None
        self._parse: BoolArray | None = None
        self._text: pd.Series | None = None
        if ptypes.is_numeric_dtype(dtype) and not (
            ptypes.is_bool_dtype(dtype) or ptypes.is_complex_dtype(dtype)
        ):
            self.source = "number"
            self._stored = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan))
            self.missing = np.isnan(self._stored)
        elif ptypes.is_string_dtype(dtype) and not ptypes.is_object_dtype(dtype):
            self.source = "text"
            self._set_text(series.astype(_STRING))
            self._parse = ~self.missing
        else:
            objects = _objects(series.to_numpy(dtype=object, na_value=None))
            self._set_text(pd.Series(objects.text, dtype=_STRING))
            present = ~self.missing
            self._stored = objects.numbers
            self._parse = present & ~(objects.stored_numbers | objects.booleans)
            if np.all(objects.booleans[present]):
                self.source = "boolean"
            elif np.all(objects.stored_numbers[present]):
                self.source = "number"
            else:
                self.source = "text"
        self.present = int(self.rows - np.count_nonzero(self.missing))

    def _set_text(self, text: pd.Series) -> None:
        blank = (text.str.len() == 0) | text.str.isspace()
        self.missing = np.asarray(
            text.isna().to_numpy() | blank.to_numpy(dtype=np.bool_, na_value=False),
            dtype=np.bool_,
        )
        self._text = text.where(~self.missing) if self.missing.any() else text

    @cached_property
    def numbers(self) -> FloatArray:
        """The finite numbers, NaN where missing or not a finite number (booleans are not)."""
        numbers = np.full(self.rows, np.nan) if self._stored is None else self._stored.copy()
        if self._parse is not None and self._parse.any():
            numbers[self._parse] = _parse_numbers(self.text[self._parse])
        numbers[~np.isfinite(numbers)] = np.nan
        return numbers

    @cached_property
    def non_numeric(self) -> int:
        return int(self.present - np.count_nonzero(~np.isnan(self.numbers)))

    @property
    def text(self) -> pd.Series:
        """Each value as text (see :func:`_value_text`), missing as NA."""
        if self._text is None:
            stored = self._stored if self._stored is not None else self.numbers
            self._text = pd.Series(_float_text(stored), dtype=_STRING)
        return self._text

    @cached_property
    def present_text(self) -> pd.Series:
        return self.text[~self.missing]

    def infer_kind(self) -> Kind:
        if self.present == 0:
            return "empty"
        if self.source == "boolean":
            return "boolean"
        if self.source == "number":
            return "numeric"
        present = self.present_text
        sample = present.iloc[_evenly(len(present), INFERENCE_SAMPLE)]
        truth = ["true", "false"]
        if sample.str.lower().isin(truth).all() and present.str.lower().isin(truth).all():
            return "boolean"
        parsed = _parse_numbers(sample)
        if self._stored is not None:
            stored = self._stored[~self.missing][_evenly(len(present), INFERENCE_SAMPLE)]
            parsed = np.where(np.isnan(parsed), stored, parsed)
        if np.count_nonzero(np.isfinite(parsed)) >= 0.5 * len(sample):
            numeric = self.present - self.non_numeric
            if numeric >= NUMERIC_MIN_SHARE * self.present:
                return "numeric"
        if float(np.median(sample.str.len().to_numpy(dtype=np.float64))) >= TEXT_MIN_MEDIAN_CHARS:
            return "text"
        if (
            float(np.median(_word_counts(sample.tolist()))) >= TEXT_MIN_MEDIAN_WORDS
            and self.distinct >= TEXT_MIN_DISTINCT_SHARE * self.present
        ):
            return "text"
        return "categorical"

    @cached_property
    def distinct(self) -> int:
        return int(self.present_text.nunique())


# --- Field summaries ----------------------------------------------------------------------------


def _histogram(values: FloatArray, low: float, high: float) -> Histogram:
    """``HISTOGRAM_BINS`` equal bins from ``low`` to ``high`` (the 1st and 99th percentiles),
    the first and last stretched to the minimum and maximum so that a few outliers do not
    squash the chart; whole numbers spanning fewer values than bins get one bin per number."""
    smallest, largest = float(values.min()), float(values.max())
    if np.all(np.floor(values) == values) and largest - smallest < HISTOGRAM_BINS:
        edges = np.arange(smallest, largest + 2.0)
    elif high > low:
        edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
        edges[0], edges[-1] = smallest, largest
    elif largest > smallest:
        edges = np.linspace(smallest, largest, HISTOGRAM_BINS + 1)
    else:
        edges = np.array([smallest - 0.5, smallest + 0.5])
    counts, _ = np.histogram(values, bins=edges)
    return Histogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts))


def _numeric_summary(data: _Field) -> NumericSummary:
    numbers = data.numbers
    values = numbers[~np.isnan(numbers)]
    if values.size == 0:
        return NumericSummary(count=0, non_numeric=data.non_numeric)
    quantiles = np.quantile(values, QUANTILES)
    return NumericSummary(
        count=int(values.size),
        non_numeric=data.non_numeric,
        min=float(values.min()),
        max=float(values.max()),
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if values.size > 1 else None,
        quantiles={
            f"p{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, quantiles, strict=True)
        },
        histogram=_histogram(values, float(quantiles[0]), float(quantiles[-1])),
    )


@dataclass(frozen=True)
class _Counts:
    """Values with their counts, most frequent first (ties in text order): all of them, or the
    ``top`` first; ``total`` and ``distinct`` cover every value."""

    ranked: tuple[tuple[str, int], ...]
    total: int
    distinct: int


def _count_values(texts: pd.Series, top: int | None = None) -> _Counts:
    counts = texts.value_counts(dropna=True)
    values = counts.to_numpy(dtype=np.int64)
    names = pd.Series(counts.index, dtype=_STRING)
    chosen = np.arange(values.size)
    if top is not None and values.size > top:
        cutoff = np.partition(values, values.size - top)[values.size - top]
        above = np.flatnonzero(values > cutoff)
        # Of the values tied at the cut, those first in text order (a sort in pyarrow: an id
        # field may tie a million values at one count).
        tied = names[values == cutoff].sort_values(kind="stable")
        chosen = np.concatenate([above, tied.index.to_numpy()[: top - above.size]])
    pairs = zip(names.iloc[chosen].tolist(), values[chosen].tolist(), strict=True)
    ranked = sorted(pairs, key=lambda vc: (-vc[1], vc[0]))
    return _Counts(tuple(ranked), int(values.sum()), int(values.size))


def _category_summary(counts: _Counts) -> CategorySummary:
    shown = sum(c for _, c in counts.ranked)
    other = counts.total - shown
    other_values = counts.distinct - len(counts.ranked)
    return CategorySummary(
        top=tuple(ValueCount(v, c, _share(c, counts.total)) for v, c in counts.ranked),
        other_count=other,
        other_values=other_values,
        other_share=_share(other, counts.total) if other_values else None,
    )


def _text_summary(data: _Field) -> TextSummary:
    present = data.present_text
    if present.empty:
        return TextSummary(count=0)
    lengths = present.str.len().to_numpy(dtype=np.float64)
    words = _word_counts(present.iloc[_evenly(len(present), WORDS_SAMPLE)].tolist())
    low, median, p95, p99 = np.quantile(lengths, [0.01, 0.5, 0.95, 0.99])
    return TextSummary(
        count=len(present),
        length_min=int(lengths.min()),
        length_median=float(median),
        length_mean=float(lengths.mean()),
        length_p95=float(p95),
        length_max=int(lengths.max()),
        words_median=float(np.median(words)),
        histogram=_histogram(lengths, float(low), float(p99)),
    )


def _profile(data: _Field, kind: Kind, *, given: bool, max_categories: int) -> FieldProfile:
    common: dict[str, Any] = {
        "name": data.name,
        "kind": kind,
        "kind_given": given,
        "rows": data.rows,
        "missing": data.rows - data.present,
    }
    if kind == "numeric":
        numeric = _numeric_summary(data)
        numbers = data.numbers
        distinct = int(pd.unique(numbers[~np.isnan(numbers)]).size)
        if data.non_numeric:
            odd = data.present_text[np.isnan(numbers[~data.missing])]
            distinct += int(odd.nunique())
        return FieldProfile(**common, distinct=distinct, numeric=numeric)
    if kind in ("categorical", "boolean"):
        texts = data.present_text
        if kind == "boolean":
            texts = texts.str.lower()
        counts = _count_values(texts, max_categories)
        return FieldProfile(
            **common,
            distinct=counts.distinct,
            categories=_category_summary(counts),
        )
    if kind == "text":
        return FieldProfile(**common, distinct=data.distinct, text=_text_summary(data))
    return FieldProfile(**common, distinct=0)


# --- Labels -------------------------------------------------------------------------------------


def _class_balance(labels: _Field, classes: Sequence[Any] | None) -> ClassBalance:
    every = labels.present_text.value_counts()
    seen = set(every.index.tolist())
    declared = [t for t in (_value_text(c) for c in classes or ()) if t is not None]
    declared = list(dict.fromkeys(declared))
    empty = [c for c in declared if c not in seen]
    unexpected = sorted(seen - set(declared)) if declared else []
    total = labels.present
    ranked = _count_values(labels.present_text, MAX_CLASSES).ranked
    rows = [ValueCount(v, c, _share(c, total)) for v, c in ranked]
    rows += [ValueCount(c, 0, _share(0, total)) for c in empty[: MAX_CLASSES - len(rows)]]
    sizes = every.to_numpy(dtype=np.float64)
    n_classes = sizes.size + len(empty)
    ratio = float(sizes.max() / sizes.min()) if sizes.size >= 2 else None
    balance: float | None = None
    if n_classes >= 2 and total:
        p = sizes / total
        balance = float(-(p * np.log(p)).sum() / math.log(n_classes))
    return ClassBalance(
        labelled=total,
        unlabelled=labels.rows - total,
        n_classes=n_classes,
        classes=tuple(rows),
        imbalance_ratio=ratio,
        balance=balance,
        empty_classes=tuple(empty),
        unexpected=tuple(unexpected),
    )


# --- Exact duplicates ---------------------------------------------------------------------------


def _field_hashes(data: _Field) -> HashArray:
    """A 64-bit hash of each row's value; every missing value hashes alike."""
    if data.source == "number" and data.non_numeric == 0:
        # + 0.0 turns -0.0 into 0.0; NaN bit patterns may differ, so missing rows are set apart.
        hashes = pd.util.hash_array(np.nan_to_num(data.numbers) + 0.0)
        return np.where(data.missing, _MISSING_HASH, np.asarray(hashes, dtype=np.uint64))
    text = data.text.fillna(_MISSING_TEXT)
    return np.asarray(pd.util.hash_pandas_object(text, index=False).to_numpy(), dtype=np.uint64)


def _row_hashes(fields: Sequence[_Field]) -> HashArray:
    hashes = np.zeros(fields[0].rows if fields else 0, dtype=np.uint64)
    for data in fields:
        hashes = hashes * np.uint64(0x100000001B3) ^ _field_hashes(data)
    return hashes


@dataclass(frozen=True, eq=False)
class _Groups:
    """Rows in groups: ``rows`` ascending, ``group`` numbering their groups 0.. in order of
    each group's first row."""

    rows: IntArray
    group: IntArray

    @cached_property
    def sizes(self) -> IntArray:
        return np.bincount(self.group).astype(np.int64)

    @property
    def count(self) -> int:
        return int(self.sizes.size)

    def members(self, group: int) -> IntArray:
        members: IntArray = self.rows[self.group == group]
        return members

    def largest(self, most: int, among: IntArray | None = None) -> list[int]:
        """Up to ``most`` groups (of ``among``, default all), largest first, then by first row."""
        chosen = np.arange(self.count) if among is None else among
        order = np.lexsort((chosen, -self.sizes[chosen]))
        return [int(g) for g in chosen[order[:most]]]


def _groups_of(keys: npt.NDArray[Any], eligible: BoolArray) -> _Groups:
    """The groups of eligible rows sharing a key with another eligible row."""
    rows = np.flatnonzero(eligible).astype(np.int64)
    keyed = pd.Series(keys[rows])
    repeated = keyed.duplicated(keep=False).to_numpy()
    rows, keyed = rows[repeated], keyed[repeated]
    group, _ = pd.factorize(keyed)
    return _Groups(rows, np.asarray(group, dtype=np.int64))


def _first_rows(members: IntArray) -> tuple[int, ...]:
    return tuple(int(r) for r in members[:MAX_EXAMPLE_ROWS])


def _preview_text(fields: Sequence[_Field], row: int) -> str:
    parts = [data.text.iloc[row] for data in fields]
    return " | ".join("" if p is pd.NA or p is None else str(p) for p in parts)


def _exact_duplicates(fields: Sequence[_Field], groups: _Groups) -> DuplicateSummary:
    examples = []
    for g in groups.largest(MAX_EXAMPLES):
        members = groups.members(g)
        examples.append(
            DuplicateGroup(
                rows=_first_rows(members),
                size=int(members.size),
                texts=(_preview_text(fields, int(members[0])),),
            )
        )
    return DuplicateSummary(
        fields=tuple(d.name for d in fields),
        groups=groups.count,
        rows=int(groups.rows.size),
        examples=tuple(examples),
    )


def _label_conflicts(fields: Sequence[_Field], groups: _Groups, labels: _Field) -> DuplicateSummary:
    label_text = labels.text.to_numpy(dtype=object, na_value=None)[groups.rows]
    labelled = ~labels.missing[groups.rows]
    pairs = pd.DataFrame({"group": groups.group[labelled], "label": label_text[labelled]})
    per_group = pairs.drop_duplicates().groupby("group").size()
    conflicting = np.sort(per_group.index[per_group.to_numpy() > 1].to_numpy(dtype=np.int64))
    in_conflict = np.isin(groups.group, conflicting)
    examples = []
    for g in groups.largest(MAX_EXAMPLES, among=conflicting):
        members = groups.members(g)
        counts = _count_values(pd.Series(label_text[groups.group == g], dtype=_STRING))
        examples.append(
            DuplicateGroup(
                rows=_first_rows(members),
                size=int(members.size),
                texts=(_preview_text(fields, int(members[0])),),
                labels=tuple(ValueCount(v, c, None) for v, c in counts.ranked),
            )
        )
    return DuplicateSummary(
        fields=tuple(d.name for d in fields),
        groups=int(conflicting.size),
        rows=int(np.count_nonzero(in_conflict)),
        examples=tuple(examples),
    )


# --- Near duplicates ----------------------------------------------------------------------------

# Bytes that folding turns into a space: ASCII other than letters and digits. Upper-case ASCII
# letters become lower case (pandas lowers the rest first); bytes of 128 and up are kept.
_FOLD = np.arange(256, dtype=np.uint8)
_FOLD[:128] = 32
_FOLD[ord("0") : ord("9") + 1] = np.arange(ord("0"), ord("9") + 1)
_FOLD[ord("a") : ord("z") + 1] = np.arange(ord("a"), ord("z") + 1)
_FOLD[ord("A") : ord("Z") + 1] = np.arange(ord("a"), ord("z") + 1)
_FOLD[0] = 0
_EMPTY_BIN = np.uint32(0xFFFFFFFF)


def _fold(texts: pd.Series) -> list[bytes]:
    """Each text folded (see the module's notes) as UTF-8; a missing text as b""."""
    lowered = texts.str.lower().fillna("").tolist()
    joined = "\x00".join(lowered)
    if joined.count("\x00") != max(len(lowered) - 1, 0):
        joined = "\x00".join(t.replace("\x00", " ") for t in lowered)
    data = np.take(_FOLD, np.frombuffer((joined + "\x00").encode("utf-8"), dtype=np.uint8))
    # A space goes when it follows a space or the start of a text, then when it ends a text.
    after_break = np.empty(data.size, dtype=np.bool_)
    after_break[0] = True
    after_break[1:] = data[:-1] <= 32
    data = data[~((data == 32) & after_break)]
    before_end = np.empty(data.size, dtype=np.bool_)
    before_end[-1] = True
    before_end[:-1] = data[1:] == 0
    data = data[~((data == 32) & before_end)]
    folded: list[bytes] = data.tobytes().split(b"\x00")[:-1]
    return folded


def _shingles(texts: Sequence[bytes]) -> tuple[HashArray, IntArray]:
    """The 8-byte shingles of each text as 64-bit numbers and the text each comes from; a text
    shorter than 8 bytes is one shingle, padded with zero bytes."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    pad = b"\x00" * SHINGLE_BYTES
    buffer = np.frombuffer(pad.join(texts) + pad, dtype=np.uint8)
    starts = np.zeros(len(texts), dtype=np.int64)
    starts[1:] = np.cumsum(lengths[:-1] + SHINGLE_BYTES)
    counts = np.maximum(lengths - SHINGLE_BYTES + 1, 1)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    offsets = np.arange(owner.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    windows = np.ndarray(
        shape=(buffer.size - SHINGLE_BYTES + 1,), dtype="<u8", buffer=buffer, strides=(1,)
    )
    return windows[starts[owner] + offsets], owner


def _signatures(keys: HashArray, owner: IntArray, n_texts: int) -> npt.NDArray[np.uint32]:
    """One-permutation MinHash signatures (n_texts, MINHASH_BINS), empty bins filled from the
    next full one (rotation densification)."""
    mixed = ((keys * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)).astype(np.uint32)
    mixed ^= mixed >> np.uint32(15)
    mixed *= np.uint32(0x85EBCA6B)
    mixed ^= mixed >> np.uint32(13)
    slot = owner.astype(np.uint32) * np.uint32(MINHASH_BINS)
    slot += mixed & np.uint32(MINHASH_BINS - 1)
    flat = np.full(n_texts * MINHASH_BINS, _EMPTY_BIN, dtype=np.uint32)
    np.minimum.at(flat, slot, mixed >> np.uint32(6))
    signatures = flat.reshape(n_texts, MINHASH_BINS)
    sparse_rows = np.flatnonzero((signatures == _EMPTY_BIN).any(axis=1))
    if sparse_rows.size:
        part = signatures[sparse_rows]
        full = np.concatenate([part != _EMPTY_BIN] * 2, axis=1)
        columns = np.where(full, np.arange(2 * MINHASH_BINS), 2 * MINHASH_BINS)
        source = np.minimum.accumulate(columns[:, ::-1], axis=1)[:, ::-1][:, :MINHASH_BINS]
        distance = (source - np.arange(MINHASH_BINS)).astype(np.uint32)
        part = np.take_along_axis(part, source % MINHASH_BINS, axis=1)
        signatures[sparse_rows] = part + distance * np.uint32(0x61C88647)
    return signatures


def _band_pairs(signatures: npt.NDArray[np.uint32]) -> IntArray:
    """Candidate pairs (p, 2) of texts whose signatures agree on a whole band, i < j, sorted.

    A bucket of up to ``ALL_PAIRS_BUCKET`` texts gives all its pairs; a larger one (a template
    filled in many ways) only a chain through its texts in an order that changes from band to
    band, which connects a group of similar texts without its quadratic number of pairs.
    """
    n = signatures.shape[0]
    ids = np.arange(n, dtype=np.uint64)
    found: list[IntArray] = []
    for number, start in enumerate(range(0, MINHASH_BINS - BAND_ROWS + 1, BAND_ROWS)):
        band = signatures[:, start : start + BAND_ROWS].astype(np.uint64)
        key = band[:, 0].copy()
        for column in range(1, BAND_ROWS):
            key = key * np.uint64(0x100000001B3) ^ band[:, column]
        shuffle = (ids + np.uint64(number)) * np.uint64(0x9E3779B97F4A7C15)
        order = np.lexsort((shuffle, key))
        sorted_key = key[order]
        first = np.ones(n, dtype=np.bool_)
        first[1:] = sorted_key[1:] != sorted_key[:-1]
        bucket_start = np.flatnonzero(first)
        size = np.diff(np.append(bucket_start, n))
        small = (size > 1) & (size <= ALL_PAIRS_BUCKET)
        left, right = _all_pairs(bucket_start[small], size[small])
        # Chains: each position of a large bucket but its last, with the next one.
        in_large = np.zeros(n, dtype=np.bool_)
        big_start, big_size = bucket_start[size > ALL_PAIRS_BUCKET], size[size > ALL_PAIRS_BUCKET]
        if big_size.size:
            in_large[np.repeat(big_start, big_size) + _ranks(big_size)] = True
            in_large[big_start + big_size - 1] = False
        chain = np.flatnonzero(in_large)
        a = order[np.concatenate([left, chain])]
        b = order[np.concatenate([right, chain + 1])]
        found.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
    codes = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    codes = codes[np.append(True, codes[1:] != codes[:-1])] if codes.size else codes
    return np.stack([codes // n, codes % n], axis=1)


def _ranks(sizes: IntArray) -> IntArray:
    """0, 1, …, size - 1 for each size, concatenated."""
    return np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _all_pairs(starts: IntArray, sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Every pair of positions (p < q) within each run ``starts[k] .. starts[k] + sizes[k]``."""
    position = np.repeat(starts, sizes) + _ranks(sizes)
    partners = np.repeat(sizes, sizes) - 1 - _ranks(sizes)
    left = np.repeat(position, partners)
    return left, left + 1 + _ranks(partners)


def _agreement(signatures: npt.NDArray[np.uint32], pairs: IntArray) -> FloatArray:
    """The share of signature bins on which each pair of texts agrees."""
    agree = np.empty(pairs.shape[0])
    for start in range(0, pairs.shape[0], _PAIR_CHUNK):
        chunk = pairs[start : start + _PAIR_CHUNK]
        agree[start : start + chunk.shape[0]] = (
            signatures[chunk[:, 0]] == signatures[chunk[:, 1]]
        ).mean(axis=1)
    return agree


class _ShingleSets:
    """The shingle sets of some texts as a sparse 0/1 matrix, for exact cosines."""

    def __init__(self, keys: HashArray, owner: IntArray, texts: IntArray, n_texts: int) -> None:
        self.local = np.full(n_texts, -1, dtype=np.int64)
        self.local[texts] = np.arange(texts.size)
        chosen = self.local[owner] >= 0
        feature, uniques = pd.factorize(keys[chosen])
        # Built from coordinates, the matrix sums a shingle repeated in a text; sets want 1.
        self.matrix = sp.csr_matrix(
            (np.ones(feature.size, dtype=np.float32), (self.local[owner[chosen]], feature)),
            shape=(texts.size, len(uniques)),
        )
        self.matrix.data[:] = 1.0
        self.sizes = np.diff(self.matrix.indptr).astype(np.float64)

    def cosines(self, pairs: IntArray) -> FloatArray:
        a, b = self.local[pairs[:, 0]], self.local[pairs[:, 1]]
        shared = np.asarray(self.matrix[a].multiply(self.matrix[b]).sum(axis=1), dtype=np.float64)
        cosine: FloatArray = shared.ravel() / np.sqrt(self.sizes[a] * self.sizes[b])
        return cosine


def _similar_pairs(texts: Sequence[bytes], threshold: float) -> tuple[IntArray, int]:
    """Pairs (i < j) of ``texts`` whose shingle-set cosine is at least ``threshold``: enough of
    them to connect every group found (a candidate inside a group already connected is not
    checked), and the number of pairs checked."""
    n = len(texts)
    keys, owner = _shingles(texts)
    signatures = _signatures(keys, owner, n)
    candidates = _band_pairs(signatures)
    candidates = candidates[_agreement(signatures, candidates) >= MIN_SIGNATURE_AGREEMENT]
    if not candidates.size:
        return candidates, 0
    sets = _ShingleSets(
        keys, owner, np.flatnonzero(np.bincount(candidates.ravel(), minlength=n)), n
    )
    component = np.arange(n)
    found: list[IntArray] = []
    checked = 0
    for start in range(0, candidates.shape[0], _PAIR_CHUNK):
        pairs = candidates[start : start + _PAIR_CHUNK]
        pairs = pairs[component[pairs[:, 0]] != component[pairs[:, 1]]]
        if not pairs.size:
            continue
        checked += pairs.shape[0]
        similar = pairs[sets.cosines(pairs) >= threshold - 1e-12]
        if similar.size:
            found.append(similar)
            edges = np.concatenate(found)
            graph = sp.coo_matrix((np.ones(edges.shape[0]), (edges[:, 0], edges[:, 1])), (n, n))
            component = connected_components(graph, directed=False)[1]
    edges = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    return edges, checked


def _near_duplicates(
    fields: Sequence[_Field], *, threshold: float, limit: int
) -> NearDuplicateSummary:
    rows = fields[0].rows
    raw = fields[0].text if len(fields) == 1 else _joined_text(fields)
    # Each distinct text is folded once: batches repeat texts.
    raw_code, raw_texts = pd.factorize(raw)
    raw_code = np.asarray(raw_code, dtype=np.int64)
    folded_code, uniques = pd.factorize(pd.Series(_fold(pd.Series(raw_texts)), dtype=object))
    lengths = np.fromiter(map(len, uniques), dtype=np.int64, count=len(uniques))
    folded_code = np.where(lengths[folded_code] > 0, folded_code, -1)
    code = np.where(raw_code >= 0, np.append(folded_code, -1)[raw_code], -1)
    searched = np.flatnonzero(lengths > 0).astype(np.int64)
    n_texts = int(searched.size)
    sampled = searched.size > limit
    if sampled:
        rng = np.random.default_rng(0)
        searched = np.sort(rng.choice(searched, size=limit, replace=False))
    folded_texts = list(uniques)
    pairs, checked = _similar_pairs([folded_texts[i] for i in searched], threshold)
    edges = searched[pairs] if pairs.size else np.empty((0, 2), dtype=np.int64)
    graph = sp.coo_matrix(
        (np.ones(edges.shape[0]), (edges[:, 0], edges[:, 1])), shape=(len(uniques),) * 2
    )
    _, component = connected_components(graph, directed=False)
    row_component = np.where(code >= 0, component[np.maximum(code, 0)], -1)
    candidates = _groups_of(row_component, code >= 0)
    # A group needs two different texts: copies of one text are exact duplicates.
    variety = pd.DataFrame({"group": candidates.group, "text": raw_code[candidates.rows]})
    kinds = variety.drop_duplicates().groupby("group").size()
    varied = kinds.index[kinds.to_numpy() > 1].to_numpy(dtype=np.int64)
    keep = np.isin(candidates.group, varied)
    varied_rows = np.zeros(rows, dtype=np.bool_)
    varied_rows[candidates.rows[keep]] = True
    groups = _groups_of(row_component, varied_rows)
    examples = []
    for g in groups.largest(MAX_EXAMPLES):
        members = groups.members(g)
        distinct = pd.Series(raw.iloc[members].to_numpy(dtype=object)).drop_duplicates()
        examples.append(
            DuplicateGroup(
                rows=_first_rows(members),
                size=int(members.size),
                texts=tuple(distinct.iloc[:3]),
            )
        )
    how = (
        f"similarity searched among a random sample of {limit:,} of the {n_texts:,} distinct "
        "folded texts (seed 0); groups outside the sample are found only when their texts "
        "fold alike"
        if sampled
        else f"similarity searched among all {n_texts:,} distinct folded texts"
    )
    return NearDuplicateSummary(
        fields=tuple(d.name for d in fields),
        groups=groups.count,
        rows=int(groups.rows.size),
        examples=tuple(examples),
        threshold=threshold,
        texts=n_texts,
        texts_searched=int(searched.size),
        sampled=sampled,
        pairs_checked=checked,
        note=how,
    )


def _joined_text(fields: Sequence[_Field]) -> pd.Series:
    """The text fields of each row joined by a newline (missing parts left out)."""
    joined = fields[0].text.fillna("")
    for data in fields[1:]:
        part = data.text.fillna("")
        between = ((joined != "") & (part != "")).map({True: "\n", False: ""}).astype(_STRING)
        joined = joined + between + part
    return joined.where(joined != "")


# --- Rules --------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(float(value))
    )


def _rule_label(index: int, rule: Mapping[str, Any]) -> str:
    check, name = rule.get("check"), rule.get("field")
    if check in CHECKS and isinstance(name, str):
        return f"rule {index} ({check} on {name!r})"
    return f"rule {index}"


def _check_bounds(
    label: str, rule: Mapping[str, Any], whole: bool, problems: list[str]
) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for key in ("min", "max"):
        value = rule.get(key)
        if value is None:
            continue
        if whole and not (_is_number(value) and float(value).is_integer() and value >= 0):
            problems.append(f"{label}: {key!r} must be a whole number of characters, 0 or more")
        elif not whole and not _is_number(value):
            problems.append(f"{label}: {key!r} must be a number, not {value!r}")
        else:
            bounds[key] = int(value) if whole else float(value)
    if all(rule.get(k) is None for k in ("min", "max")):
        problems.append(f"{label}: give 'min', 'max' or both")
    elif "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        problems.append(f"{label}: 'min' ({rule['min']}) is greater than 'max' ({rule['max']})")
    return bounds


def validate_rules(rules: object, fields: Iterable[str] | None) -> list[dict[str, Any]]:
    """Rules checked and normalised for saving; :class:`RuleError` lists every problem.

    A rule is ``{"field": name, "check": kind, ...}`` with an optional display ``"name"``:
    ``required``; ``allowed`` with ``values`` (a non-empty list of text, numbers or booleans);
    ``range`` with ``min`` and/or ``max`` (numbers, inclusive); ``length`` with ``min`` and/or
    ``max`` (characters, inclusive); ``unique``; ``pattern`` with ``regex`` (Python syntax; the
    whole value must match). ``fields`` are the known field names (None: not checked).
    ``rules`` may be anything a client sent: what is not such a list is a problem reported.
    """
    if isinstance(rules, str | bytes | Mapping) or not isinstance(rules, Sequence):
        raise RuleError(["rules must be a list of rules"])
    known = None if fields is None else [str(f) for f in fields]
    problems: list[str] = []
    checked: list[dict[str, Any]] = []
    for index, rule in enumerate(rules, start=1):
        if not isinstance(rule, Mapping):
            problems.append(f"rule {index} must be an object with 'field' and 'check'")
            continue
        label = _rule_label(index, rule)
        name, check = rule.get("field"), rule.get("check")
        before = len(problems)
        if not isinstance(name, str) or not name:
            problems.append(f"{label}: 'field' must name a field")
        elif known is not None and name not in known:
            shown = ", ".join(sorted(known)[:20]) + (", …" if len(known) > 20 else "")
            problems.append(f"{label}: unknown field {name!r}; the fields are: {shown}")
        if check not in CHECKS:
            problems.append(f"{label}: unknown check {check!r}; use one of: {', '.join(CHECKS)}")
            continue
        allowed_keys = (*_COMMON_RULE_KEYS, *_RULE_KEYS[str(check)])
        for key in rule:
            if key not in allowed_keys:
                takes = ", ".join(repr(k) for k in _RULE_KEYS[str(check)]) or "no parameters"
                problems.append(f"{label}: unknown key {key!r}; a {check} rule takes {takes}")
        display = rule.get("name")
        if display is not None and not isinstance(display, str):
            problems.append(f"{label}: 'name' must be text")
        normal: dict[str, Any] = {"field": name, "check": check}
        if check == "allowed":
            values = rule.get("values")
            if (
                not isinstance(values, list | tuple)
                or not values
                or not all(isinstance(v, str | bool) or _is_number(v) for v in values)
            ):
                problems.append(
                    f"{label}: 'values' must be a non-empty list of text, numbers or booleans"
                )
            else:
                normal["values"] = [json_safe(v) for v in values]
        elif check in ("range", "length"):
            normal.update(_check_bounds(label, rule, check == "length", problems))
        elif check == "pattern":
            regex = rule.get("regex")
            if not isinstance(regex, str) or not regex:
                problems.append(f"{label}: 'regex' must be a non-empty regular expression")
            else:
                try:
                    re.compile(regex)
                except re.error as error:
                    problems.append(f"{label}: bad regex {regex!r}: {error}")
                else:
                    normal["regex"] = regex
        if display:
            normal["name"] = display
        if len(problems) == before:
            checked.append(normal)
    if problems:
        raise RuleError(problems)
    return checked


def _rule_name(rule: Mapping[str, Any]) -> str:
    if rule.get("name"):
        return str(rule["name"])
    field_name, check = rule["field"], rule["check"]
    if check == "allowed":
        shown = ", ".join(str(_value_text(v)) for v in rule["values"][:5])
        more = ", …" if len(rule["values"]) > 5 else ""
        return f"{field_name} in ({shown}{more})"
    if check in ("range", "length"):
        subject = field_name if check == "range" else f"len({field_name})"
        low, high = rule.get("min"), rule.get("max")
        if low is not None and high is not None:
            return f"{_value_text(low)} ≤ {subject} ≤ {_value_text(high)}"
        return (
            f"{subject} ≥ {_value_text(low)}"
            if low is not None
            else (f"{subject} ≤ {_value_text(high)}")
        )
    if check == "pattern":
        return f"{field_name} matches {rule['regex']}"
    return f"{field_name} {check}"


def _violations(data: _Field, rule: Mapping[str, Any]) -> BoolArray:
    """The rows that break ``rule``: a missing value breaks only ``required``."""
    check = rule["check"]
    present = ~data.missing
    if check == "required":
        return data.missing.copy()
    if check == "range":
        numbers = data.numbers
        ok = ~np.isnan(numbers)
        if rule.get("min") is not None:
            ok &= numbers >= rule["min"]
        if rule.get("max") is not None:
            ok &= numbers <= rule["max"]
        return present & ~ok
    text = data.text
    if check == "allowed":
        texts = [t for t in (_value_text(v) for v in rule["values"]) if t is not None]
        ok = np.array(text.isin(texts).to_numpy(dtype=np.bool_, na_value=False))
        allowed_numbers = [float(v) for v in rule["values"] if _is_number(v)]
        if allowed_numbers:
            ok |= np.isin(data.numbers, allowed_numbers)
        bad: BoolArray = present & ~ok
        return bad
    if check == "length":
        lengths = text.str.len().to_numpy(dtype=np.float64, na_value=np.nan)
        outside = np.zeros(data.rows, dtype=np.bool_)
        if rule.get("min") is not None:
            outside |= lengths < rule["min"]
        if rule.get("max") is not None:
            outside |= lengths > rule["max"]
        return present & outside
    if check == "unique":
        repeated: BoolArray = text.duplicated(keep=False).to_numpy(dtype=np.bool_)
        return present & repeated
    try:
        matched = text.str.fullmatch(rule["regex"])
    except ValueError:  # RE2 refuses some Python syntax, such as possessive quantifiers
        matched = text.astype(object).str.fullmatch(rule["regex"])
    unmatched: BoolArray = ~matched.to_numpy(dtype=np.bool_, na_value=False)
    return present & unmatched


def _rule_result(data: _Field, rule: Mapping[str, Any]) -> RuleResult:
    bad = _violations(data, rule)
    rows = np.flatnonzero(bad)
    examples = tuple(
        Violation(int(r), _preview(data.series.iloc[int(r)])) for r in rows[:MAX_EXAMPLES]
    )
    return RuleResult(
        rule=dict(rule),
        name=_rule_name(rule),
        passed=rows.size == 0,
        violations=int(rows.size),
        share=_share(int(rows.size), data.rows),
        examples=examples,
    )


# --- The report ---------------------------------------------------------------------------------


def _percent(share: float) -> str:
    if share >= 0.1 or share == 0:
        return f"{share:.0%}"
    return f"{share:.1%}" if share >= 0.001 else "<0.1%"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _warnings(report: QualityReport, duplicate_noun: str) -> list[str]:
    """Short sentences for the owner: failed rules, label conflicts, missing values, fields
    that are not what they seem, class imbalance, duplicates."""
    said: list[str] = []
    for rule in report.rules:
        if not rule.passed and rule.share is not None:
            said.append(
                f"rule {rule.name!r}: {_count(rule.violations, 'row')} ({_percent(rule.share)}) "
                "fail"
            )
    conflicts = report.label_conflicts
    if conflicts is not None and conflicts.groups:
        said.append(
            f"{_count(conflicts.groups, f'exact duplicate {duplicate_noun}')} with different "
            f"labels ({_count(conflicts.rows, 'row')})"
        )
    for profile in report.fields:
        share = profile.missing_share
        if profile.kind == "empty" and profile.rows:
            said.append(f"{profile.name}: every value missing")
        elif share is not None and share >= MISSING_WARNING_SHARE:
            said.append(
                f"{profile.name}: {_percent(share)} missing ({_count(profile.missing, 'row')})"
            )
        if profile.numeric is not None and profile.numeric.non_numeric:
            said.append(
                f"{profile.name}: {_count(profile.numeric.non_numeric, 'value')} not a number"
            )
        if profile.distinct == 1 and profile.rows - profile.missing > 1:
            said.append(f"{profile.name}: one value in every row that has one")
    balance = report.class_balance
    if balance is not None:
        ratio = balance.imbalance_ratio
        if ratio is not None and ratio >= IMBALANCE_WARNING_RATIO:
            sized = [c for c in balance.classes if c.count > 0]
            said.append(
                f"label: {sized[-1].value!r} has {ratio:,.0f}× fewer items than {sized[0].value!r}"
            )
        if balance.empty_classes:
            said.append(f"label: no items for {', '.join(map(repr, balance.empty_classes))}")
        if balance.unexpected:
            shown = ", ".join(map(repr, balance.unexpected[:5]))
            more = (
                f" and {len(balance.unexpected) - 5:,} more" if len(balance.unexpected) > 5 else ""
            )
            said.append(f"label: values outside the classes: {shown}{more}")
        if report.rows and balance.unlabelled / report.rows >= MISSING_WARNING_SHARE:
            said.append(f"label: {_percent(balance.unlabelled / report.rows)} of rows unlabelled")
    duplicates = report.duplicates
    if duplicates.groups:
        said.append(
            f"{_count(duplicates.groups, 'group')} of exact duplicates on "
            f"{', '.join(duplicates.fields)} ({_count(duplicates.rows, 'row')}, "
            f"{duplicates.redundant:,} beyond the first of each)"
        )
    near = report.near_duplicates
    if near is not None and near.groups:
        said.append(
            f"{_count(near.groups, 'group')} of near-duplicate texts ({_count(near.rows, 'row')})"
            + (" in a sample" if near.sampled else "")
        )
    if len(said) > MAX_WARNINGS:
        said = [*said[: MAX_WARNINGS - 1], f"… and {len(said) - MAX_WARNINGS + 1} more"]
    return said


def _field_names(frame: pd.DataFrame) -> list[str]:
    names = [str(c) for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"field names must be unique; repeated: {', '.join(repeated)}")
    return names


def _check_known(what: str, names: Iterable[str], known: Sequence[str]) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"{what}: unknown field {unknown[0]!r}; the fields are: {', '.join(sorted(known))}"
        )


def quality_report(
    frame: pd.DataFrame,
    *,
    text_fields: Sequence[str] = (),
    kinds: Mapping[str, str] | None = None,
    labels: pd.Series | npt.ArrayLike | None = None,
    label_classes: Sequence[Any] | None = None,
    rules: Sequence[Mapping[str, Any]] = (),
    duplicate_fields: Sequence[str] | None = None,
    near_duplicates: bool = True,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    near_duplicate_limit: int = NEAR_DUPLICATE_LIMIT,
    max_categories: int = 20,
) -> QualityReport:
    """The data-quality report of a batch of items (one row each); see the module's notes.

    ``text_fields`` are text whatever their values; ``kinds`` sets any field's kind. ``labels``
    (one per row, by position; missing = unlabelled) gives the class balance and label
    conflicts; ``label_classes`` adds the classes that may have no items. ``rules`` are checked
    as :func:`validate_rules` describes. Near duplicates are searched in the text fields
    (joined by a newline when there are several). Bad arguments raise ``ValueError``
    (:class:`RuleError` for rules) with a message meant for the user.
    """
    names = _field_names(frame)
    _check_known("text_fields", text_fields, names)
    given: dict[str, Kind] = {}
    for name, kind in (kinds or {}).items():
        _check_known("kinds", [name], names)
        if kind not in KINDS or kind == "empty":
            raise ValueError(
                f"kinds: unknown kind {kind!r} for {name!r}; use numeric, categorical, text "
                "or boolean"
            )
        given[name] = cast(Kind, kind)
    for name in text_fields:
        if given.get(name, "text") != "text":
            raise ValueError(f"{name!r} is in text_fields but kinds says {given[name]!r}")
        given[name] = "text"
    if duplicate_fields is not None:
        _check_known("duplicate_fields", duplicate_fields, names)
    if not 0 < near_duplicate_threshold <= 1:
        raise ValueError("near_duplicate_threshold must be above 0 and at most 1")
    if near_duplicate_limit < 2:
        raise ValueError("near_duplicate_limit must be at least 2")
    if max_categories < 1:
        raise ValueError("max_categories must be at least 1")
    checked_rules = validate_rules(rules, names)

    columns = [_Field(name, frame.iloc[:, i]) for i, name in enumerate(names)]
    by_name = {d.name: d for d in columns}
    profiles = []
    for data in columns:
        kind = given.get(data.name) or data.infer_kind()
        profiles.append(
            _profile(data, kind, given=data.name in given, max_categories=max_categories)
        )
    n = len(frame)
    complete = np.ones(n, dtype=np.bool_)
    for data in columns:
        complete &= ~data.missing

    texts = [by_name[p.name] for p in profiles if p.kind == "text"]
    key_fields = (
        [by_name[name] for name in duplicate_fields]
        if duplicate_fields is not None
        else texts or columns
    )
    notes: list[str] = []
    if key_fields:
        eligible = np.zeros(n, dtype=np.bool_)
        for data in key_fields:
            eligible |= ~data.missing
        groups = _groups_of(_row_hashes(key_fields), eligible)
    else:
        groups = _groups_of(np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.bool_))
    duplicates = _exact_duplicates(key_fields, groups)

    balance = conflicts = None
    if labels is not None:
        values = (
            labels.to_numpy(dtype=object)
            if isinstance(labels, pd.Series)
            else np.asarray(labels, dtype=object)
        )
        if values.ndim != 1 or values.size != n:
            raise ValueError(
                f"labels must hold one label per row ({n:,}); got shape {values.shape}"
            )
        label_data = _Field("label", pd.Series(values, dtype=object))
        balance = _class_balance(label_data, label_classes)
        conflicts = _label_conflicts(key_fields, groups, label_data)

    near = None
    if near_duplicates and texts and n:
        near = _near_duplicates(
            texts, threshold=near_duplicate_threshold, limit=near_duplicate_limit
        )
    elif near_duplicates and n:
        notes.append("near duplicates not searched: no text field")
    if near is not None and near.sampled:
        notes.append(f"near duplicates: {near.note}")

    results = tuple(_rule_result(by_name[r["field"]], r) for r in checked_rules)
    report = QualityReport(
        rows=n,
        fields=tuple(profiles),
        complete_rows=int(np.count_nonzero(complete)),
        duplicates=duplicates,
        class_balance=balance,
        label_conflicts=conflicts,
        near_duplicates=near,
        rules=results,
        notes=tuple(notes),
    )
    noun = "text" if key_fields and all(d in texts for d in key_fields) else "row"
    return replace(report, warnings=tuple(_warnings(report, noun)))
