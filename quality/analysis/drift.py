"""Drift between a reference and a current batch, field by field. No Django.

The reference is usually a frozen dataset version; the current batch an import batch, another
version or a day of production inputs. Both are DataFrames with one row per item and one column
per field (``data`` and ``metadata`` keys flattened by the caller); the rows of the two need not
match in number or order. Labels and predictions come as separate sequences (one class name or
code per labelled or predicted item) because their length rarely equals the frame's.

Each field gets a **kind** (:func:`field_kind`, or the caller's ``kinds``) decided on the
reference side, and the tests that suit it:

- **numeric** (numbers, numbers written as text, datetimes as seconds since the epoch):
  two-sample Kolmogorov–Smirnov (statistic and p-value exactly as ``scipy.stats.ks_2samp`` with
  ``method="auto"``), the Wasserstein-1 distance (as ``scipy.stats.wasserstein_distance``) and the
  same divided by the reference's standard deviation, the PSI over reference-quantile bins, a
  summary (mean, std, quantiles) and a histogram on shared bin edges for the chart.
- **categorical**: the chi-square test of homogeneity on the 2 × k table of counts
  (``scipy.stats.chi2_contingency``; the ``max_categories`` most frequent categories, the rest
  summed into ``"(other)"``), the Jensen–Shannon distance in base 2 and the PSI over the same
  table, and the categories that are new in the current batch or have vanished from it.
- **text**: the distribution of character lengths, compared as a numeric field.

Every field also gets its **missing rate** on each side (None, NaN and the empty string are
missing; so is a value of a numeric field that is not a finite number, counted apart as
``invalid``) with a two-proportion z-test. The batch as a whole gets a **volume** check (row
counts and their ratio).

**PSI** (population stability index), with ``r_i`` and ``c_i`` the reference's and the current
batch's share of bin (or category) ``i``, each raised to :data:`PSI_EPSILON` where it is zero so
that an empty bin counts as a large change rather than an infinite one (no renormalisation)::

    PSI = Σ_i (c_i − r_i) · ln(c_i / r_i)

Numeric bins are cut at the reference's deciles (``psi_bins`` quantiles, duplicate edges
dropped, so a field with few distinct values gets fewer bins); bin ``i`` holds the values in
``(edge_{i-1}, edge_i]``, the outer bins run to ±infinity.

**Drift.** With a million rows every difference is "significant", so a p-value never decides on
its own: a field drifted when an *effect size* crosses its threshold (:class:`Thresholds`) *and*
the matching test is significant at ``alpha`` (the significance gate only stops small samples
from crying wolf). The verdict is "drift" when any field, the volume, the labels or the
predictions drifted. A field present on one side only (a schema change) drifted, with that reason;
a side with no rows at all counts as having every field, empty.

Statistics the data leave undefined are None in :meth:`DriftReport.to_dict`, never NaN.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from quality.analysis.agreement import _json_safe, frame_records

FieldKind = Literal["numeric", "categorical", "text"]
Verdict = Literal["drift", "no drift"]
Presence = Literal["both", "reference only", "current only"]
KsMethod = Literal["exact", "asymp"]
Role = Literal["field", "labels", "predictions"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)
PSI_EPSILON = 1e-4
DEFAULT_PSI_BINS = 10
DEFAULT_HISTOGRAM_BINS = 20
DEFAULT_MAX_CATEGORIES = 50
OTHER = "(other)"
# scipy's ks_2samp(method="auto") is exact up to this sample size and asymptotic above it.
KS_EXACT_MAX_N = 10_000
# Fields are compared in parallel threads when both sides have this many rows.
PARALLEL_MIN_ROWS = 100_000
_EXACT_KS = threading.Lock()  # warnings.catch_warnings is process-wide: one thread at a time
# Where scipy's asymptotic p-value is 2 · smirnov(n, D) summed term by term (its kolmogn sf
# branch for 2.2 ≤ n·D² < 370, and smirnov's exact series up to n = 1e6), the series is summed
# vectorised here once n exceeds SMIRNOV_SERIES_MIN_N: scipy's loop takes a second per field at
# a million rows a side, and that band (small but significant differences) is where real data
# sits at that size.
SMIRNOV_SERIES_MIN_N = 50_000
SMIRNOV_SERIES_MAX_N = 1_000_000
SMIRNOV_SERIES_BAND = (2.2, 370.0)
# The histogram spans these pooled quantiles, so that one outlier does not squash the chart.
HISTOGRAM_RANGE = (0.005, 0.995)

# field_kind looks at this many evenly spaced values; enough to tell text from categories.
KIND_SAMPLE = 10_000
# A string field is text when at least this share of its sampled values are distinct and there
# are many of them or they are long; otherwise it is categorical.
TEXT_MIN_DISTINCT_SHARE = 0.5
TEXT_MIN_DISTINCT = 50
TEXT_MIN_MEDIAN_LENGTH = 20

_SHOWN_CATEGORIES = 5
LABELS = "labels"
PREDICTIONS = "predictions"


# --- Thresholds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """When a difference counts as drift; every default holds for samples of 5,000 to millions.

    Under "same distribution" the effect sizes shrink like 1/√n. At 5,000 rows per side the KS
    statistic stays below about 0.04 (its 99.9% point is 1.95·√(2/n)); the normalised
    Wasserstein distance of a normal field averages 0.027 with a 99th percentile of 0.06 (heavy
    tails make it noisier: up to 0.1 for a Pareto with infinite variance, which the KS gate then
    keeps quiet); the PSI over 10 bins sits near 9·(1/n₁ + 1/n₂) ≈ 0.004 and the JS distance
    over k categories near √((k−1)/(4n·ln 2)), 0.06 for 50 categories. At 1,000,000 rows all of
    these are ten times smaller. The defaults sit above that noise, at the sizes people call a
    real change:

    - ``ks_statistic`` 0.1: the two CDFs are 10 percentage points apart somewhere.
    - ``wasserstein`` 0.1: the distributions are a tenth of a reference standard deviation apart
      on average (a mean shift of 0.1 SD, or the equivalent change of shape).
    - ``psi`` 0.2: the credit-scoring convention (< 0.1 stable, 0.1–0.2 watch, > 0.2 shifted).
    - ``js_distance`` 0.1: the usual monitoring threshold for category shares.
    - ``new_category_share`` 0.01: values never seen in the reference cover ≥ 1% of the current
      values (a rare one-off is noise; a new value on 1% of the rows is a new source or a bug).
    - ``missing_rate_change`` 0.05: the missing rate moved by 5 percentage points or more.
    - ``volume_ratio_min`` / ``volume_ratio_max`` 0.5 / 2: the batch halved or doubled. Set both
      to None when the batch is naturally smaller than the reference (a day against a version).
    - ``alpha`` 0.01: the significance gate for each of the above (KS for numeric and text,
      chi-square for categorical, the z-test for missing rates). At 5,000 rows an effect at any
      threshold above has p far below it, so it only silences tiny samples.
    """

    alpha: float = 0.01
    ks_statistic: float = 0.1
    wasserstein: float = 0.1
    psi: float = 0.2
    js_distance: float = 0.1
    new_category_share: float = 0.01
    missing_rate_change: float = 0.05
    volume_ratio_min: float | None = 0.5
    volume_ratio_max: float | None = 2.0

    def __post_init__(self) -> None:
        for name in ("alpha", "ks_statistic", "js_distance", "new_category_share"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value <= 1):
                raise ValueError(f"thresholds.{name} must be a number in (0, 1]")
        for name in ("wasserstein", "psi", "missing_rate_change"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"thresholds.{name} must be a positive number")
        low, high = self.volume_ratio_min, self.volume_ratio_max
        for name, value in (("volume_ratio_min", low), ("volume_ratio_max", high)):
            if value is not None and not (isinstance(value, int | float) and value >= 0):
                raise ValueError(f"thresholds.{name} must be a non-negative number or None")
        if low is not None and high is not None and low > high:
            raise ValueError("thresholds.volume_ratio_min must not exceed volume_ratio_max")

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _json_safe(asdict(self))
        return result


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One side of a numeric field (or of a text field's lengths): count, mean, population
    standard deviation and quantiles (linear interpolation)."""

    n: int
    mean: float
    std: float
    min: float
    p05: float
    p25: float
    median: float
    p75: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: FloatArray) -> Summary:
        """The summary of ascending, finite, non-empty ``values``."""
        p05, p25, median, p75, p95 = _sorted_quantiles(values, [0.05, 0.25, 0.5, 0.75, 0.95])
        return cls(
            n=int(values.size),
            mean=float(values.mean()),
            std=float(values.std()),
            min=float(values[0]),
            p05=p05,
            p25=p25,
            median=median,
            p75=p75,
            p95=p95,
            max=float(values[-1]),
        )

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _json_safe(asdict(self))
        return result


@dataclass(frozen=True, eq=False)
class NumericDrift:
    """The comparison of two samples of numbers (a numeric field, or a text field's lengths).

    ``wasserstein_normalised`` is ``wasserstein`` divided by the reference's standard deviation
    (0 when both are 0, infinite when only the deviation is). ``psi_bins`` has one row per PSI
    bin: ``low``, ``high`` (the bin is ``(low, high]``, outer edges ±infinity), ``reference`` and
    ``current`` counts. ``histogram`` has one row per chart bin on edges shared by both sides:
    ``low``, ``high`` (``[low, high)``, the last bin closed), ``reference`` and ``current``
    counts and shares of all values; ``outside`` counts the values beyond the chart's range
    (``{"reference": [below, above], "current": [below, above]}``).
    """

    ks_statistic: float
    ks_p_value: float
    ks_method: KsMethod
    wasserstein: float
    wasserstein_normalised: float
    psi: float
    reference: Summary
    current: Summary
    psi_bins: pd.DataFrame
    histogram: pd.DataFrame
    outside: dict[str, tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ks_statistic": _json_safe(self.ks_statistic),
            "ks_p_value": _json_safe(self.ks_p_value),
            "ks_method": self.ks_method,
            "wasserstein": _json_safe(self.wasserstein),
            "wasserstein_normalised": _json_safe(self.wasserstein_normalised),
            "psi": _json_safe(self.psi),
            "reference": self.reference.to_dict(),
            "current": self.current.to_dict(),
            "psi_bins": frame_records(self.psi_bins),
            "histogram": frame_records(self.histogram),
            "outside": {side: list(counts) for side, counts in self.outside.items()},
        }


@dataclass(frozen=True, eq=False)
class CategoricalDrift:
    """The comparison of two samples of categories (missing values left out).

    ``frequencies`` is the table every statistic here is computed on, one row per category in
    descending order of reference share + current share, the rest summed into a last
    ``"(other)"`` row: ``category``, ``reference`` and ``current`` counts and shares.
    ``new_categories`` (``category``, ``current``, ``current_share``) are the categories absent
    from the reference, ``vanished_categories`` (``category``, ``reference``,
    ``reference_share``) those absent from the current batch, most frequent first;
    ``new_share`` is the share of current values in a new category.
    """

    chi2: float
    chi2_p_value: float
    chi2_dof: int
    js_distance: float
    psi: float
    new_share: float
    n_categories_reference: int
    n_categories_current: int
    frequencies: pd.DataFrame
    new_categories: pd.DataFrame
    vanished_categories: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "chi2": _json_safe(self.chi2),
            "chi2_p_value": _json_safe(self.chi2_p_value),
            "chi2_dof": int(self.chi2_dof),
            "js_distance": _json_safe(self.js_distance),
            "psi": _json_safe(self.psi),
            "new_share": _json_safe(self.new_share),
            "n_categories_reference": int(self.n_categories_reference),
            "n_categories_current": int(self.n_categories_current),
            "frequencies": frame_records(self.frequencies),
            "new_categories": frame_records(self.new_categories),
            "vanished_categories": frame_records(self.vanished_categories),
        }


@dataclass(frozen=True)
class MissingRate:
    """The share of rows without a value on each side (None when a side has no rows), its
    change and the two-sided p-value of the pooled two-proportion z-test. ``invalid_*`` count the
    values of a numeric field that are not finite numbers; they are among the missing."""

    reference: float | None
    current: float | None
    change: float | None
    p_value: float | None
    invalid_reference: int = 0
    invalid_current: int = 0

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _json_safe(asdict(self))
        return result


@dataclass(frozen=True, eq=False)
class FieldDrift:
    """The verdict on one field (or on the labels or predictions) with its evidence.

    ``numeric`` holds the comparison of a numeric field's values or of a text field's lengths;
    ``categorical`` that of a categorical field. Either is None when a side has no values
    (``note`` says why). ``reasons`` explain in words why the field drifted (empty if not).
    """

    field: str
    kind: FieldKind
    presence: Presence
    n_reference: int
    n_current: int
    missing: MissingRate
    numeric: NumericDrift | None
    categorical: CategoricalDrift | None
    drifted: bool
    reasons: tuple[str, ...]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "presence": self.presence,
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "missing": self.missing.to_dict(),
            "numeric": None if self.numeric is None else self.numeric.to_dict(),
            "categorical": None if self.categorical is None else self.categorical.to_dict(),
            "drifted": bool(self.drifted),
            "reasons": list(self.reasons),
            "note": self.note,
        }


@dataclass(frozen=True)
class VolumeDrift:
    """Row counts of the two sides; ``ratio`` = current / reference (None without reference
    rows) and whether it left the allowed range."""

    n_reference: int
    n_current: int
    ratio: float | None
    drifted: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "ratio": _json_safe(self.ratio),
            "drifted": bool(self.drifted),
            "reasons": list(self.reasons),
        }


TABLE_COLUMNS = [
    "field",
    "role",
    "kind",
    "drifted",
    "n_reference",
    "n_current",
    "missing_reference",
    "missing_current",
    "ks_statistic",
    "ks_p_value",
    "wasserstein_normalised",
    "psi",
    "js_distance",
    "chi2_p_value",
    "new_share",
    "reasons",
]


@dataclass(frozen=True, eq=False)
class DriftReport:
    """Everything :func:`drift_report` computes. ``fields`` follow the reference's column order,
    then the current batch's new columns; ``labels`` and ``predictions`` are None when not
    given."""

    verdict: Verdict
    fields: tuple[FieldDrift, ...]
    volume: VolumeDrift
    labels: FieldDrift | None
    predictions: FieldDrift | None
    thresholds: Thresholds

    @property
    def drifted_fields(self) -> list[str]:
        """The names of the data fields that drifted, in report order."""
        return [f.field for f in self.fields if f.drifted]

    @property
    def reasons(self) -> list[str]:
        """Every reason for the verdict as ``"<field>: <reason>"``."""
        lines = [f"volume: {r}" for r in self.volume.reasons]
        for result in (*self.fields, self.labels, self.predictions):
            if result is not None:
                lines += [f"{result.field}: {r}" for r in result.reasons]
        return lines

    def field(self, name: str) -> FieldDrift:
        """The result of one data field."""
        for result in self.fields:
            if result.field == name:
                return result
        raise KeyError(f"no field {name!r} in the drift report")

    def table(self) -> pd.DataFrame:
        """One row per field (then the labels and predictions) with the headline figures."""
        rows = []
        checks: list[tuple[Role, FieldDrift | None]] = [("field", f) for f in self.fields]
        checks += [("labels", self.labels), ("predictions", self.predictions)]
        for role, result in checks:
            if result is None:
                continue
            numeric, categorical = result.numeric, result.categorical
            compared = numeric if numeric is not None else categorical
            rows.append(
                {
                    "field": result.field,
                    "role": role,
                    "kind": result.kind,
                    "drifted": result.drifted,
                    "n_reference": result.n_reference,
                    "n_current": result.n_current,
                    "missing_reference": result.missing.reference,
                    "missing_current": result.missing.current,
                    "ks_statistic": None if numeric is None else numeric.ks_statistic,
                    "ks_p_value": None if numeric is None else numeric.ks_p_value,
                    "wasserstein_normalised": None
                    if numeric is None
                    else numeric.wasserstein_normalised,
                    "psi": None if compared is None else compared.psi,
                    "js_distance": None if categorical is None else categorical.js_distance,
                    "chi2_p_value": None if categorical is None else categorical.chi2_p_value,
                    "new_share": None if categorical is None else categorical.new_share,
                    "reasons": "; ".join(result.reasons),
                }
            )
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        drifted = self.drifted_fields
        return {
            "verdict": self.verdict,
            "summary": {
                "n_fields": len(self.fields),
                "n_drifted": len(drifted),
                "drifted_fields": drifted,
                "volume_drifted": self.volume.drifted,
                "labels_drifted": None if self.labels is None else self.labels.drifted,
                "predictions_drifted": None
                if self.predictions is None
                else self.predictions.drifted,
            },
            "reasons": self.reasons,
            "volume": self.volume.to_dict(),
            "fields": [f.to_dict() for f in self.fields],
            "labels": None if self.labels is None else self.labels.to_dict(),
            "predictions": None if self.predictions is None else self.predictions.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "table": frame_records(self.table()),
        }


# --- Reading a column ---------------------------------------------------------------------------


def _is_temporal(dtype: Any) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") in "mM"


def _blank(series: pd.Series) -> BoolArray:
    """None, NaN and the empty string."""
    blank = np.array(series.isna().to_numpy(), dtype=np.bool_)
    if not (ptypes.is_numeric_dtype(series.dtype) or ptypes.is_bool_dtype(series.dtype)):
        blank |= np.asarray(series.isin([""]).to_numpy(), dtype=np.bool_)
    return blank


def _spread_sample(series: pd.Series, size: int) -> pd.Series:
    return series.iloc[:: max(1, len(series) // size)]


def _numbers_only(values: pd.Series) -> bool:
    """Whether every value is a number or a number written as text (booleans are not)."""
    if values.dtype == object and values.map(lambda v: isinstance(v, bool | np.bool_)).any():
        return False
    return not bool(np.isnan(_parse_numbers(values)).any())


def field_kind(series: pd.Series) -> FieldKind:
    """How a column is compared: "numeric", "categorical" or "text".

    Numbers (also numbers written as text) and datetimes are numeric; booleans and pandas
    categoricals are categorical; strings are text when at least half of the sampled values are
    distinct and there are 50 or more of them or their median length is 20 characters or more,
    categorical otherwise. A column without values is categorical.
    """
    return _detect_kind(series) or "categorical"


def _detect_kind(series: pd.Series) -> FieldKind | None:
    """:func:`field_kind`, or None for a column of strings (or objects) without a value."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or ptypes.is_bool_dtype(dtype):
        return "categorical"
    if ptypes.is_numeric_dtype(dtype) or _is_temporal(dtype):
        return "numeric"
    present = series[~_blank(series)]
    if present.empty:
        return None
    sample = _spread_sample(present, KIND_SAMPLE)
    if _numbers_only(sample):
        return "numeric"
    texts = sample.map(str)
    distinct = int(texts.nunique())
    median_length = float(texts.str.len().median())
    if distinct >= TEXT_MIN_DISTINCT_SHARE * len(texts) and (
        distinct >= TEXT_MIN_DISTINCT or median_length >= TEXT_MIN_MEDIAN_LENGTH
    ):
        return "text"
    return "categorical"


def _numbers(series: pd.Series) -> tuple[FloatArray, int]:
    """The finite numbers of the column in ascending order, and how many present values are not
    finite numbers. Datetimes become seconds since the epoch, durations seconds."""
    dtype = series.dtype
    invalid = 0
    if _is_temporal(dtype):
        present = series.dropna()
        if dtype.kind == "m":
            values = (present / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
        else:
            epoch = pd.Timestamp("1970-01-01", tz=getattr(dtype, "tz", None))
            values = ((present - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    elif ptypes.is_numeric_dtype(dtype) or ptypes.is_bool_dtype(dtype):
        raw = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        values = raw[~np.isnan(raw)]
    else:
        values = _parse_numbers(series[~_blank(series)])
        invalid = int(np.isnan(values).sum())
        values = values[~np.isnan(values)]
    finite = np.isfinite(values)
    invalid += int(values.size - np.count_nonzero(finite))
    return np.sort(values[finite]), invalid


def _parse_numbers(present: pd.Series) -> FloatArray:
    """Values written as text (or objects) as floats, NaN where one is not a number."""
    if ptypes.is_string_dtype(present.dtype) and not ptypes.is_object_dtype(present.dtype):
        # Arrow-backed text: Arrow's own parser, ten times faster than pandas' astype.
        with contextlib.suppress(pa.ArrowInvalid):
            parsed = pc.cast(pa.array(present), pa.float64())
            return np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)
    try:  # fast when every value parses; pd.to_numeric is three times slower
        converted = present.astype(np.float64)
    except (TypeError, ValueError):
        try:
            converted = pd.to_numeric(present, errors="coerce")
        except (TypeError, ValueError):
            converted = present.map(_number_or_nan)
    return np.asarray(converted.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _number_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text_lengths(series: pd.Series) -> FloatArray:
    """The character lengths of the present values (non-strings as their ``str``), ascending."""
    missing = np.asarray(series.isna().to_numpy(), dtype=np.bool_)
    lengths = np.full(len(series), np.nan)
    if series.dtype == object or ptypes.is_string_dtype(series.dtype):
        # An object column without a single string has no .str accessor.
        with contextlib.suppress(AttributeError):
            lengths = np.array(series.str.len().to_numpy(dtype=np.float64, na_value=np.nan))
    odd = np.isnan(lengths) & ~missing
    if odd.any():
        lengths[odd] = series[odd].map(lambda v: len(str(v))).to_numpy(dtype=np.float64)
    present = lengths[~missing]
    return np.sort(present[present > 0])


def _category_text(value: Any) -> str | None:
    """A category as text, the same for 1, 1.0 and "1"; None for a missing value."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) or None


def _categories(series: pd.Series) -> tuple[pd.Series, int]:
    """Counts per category (text → count, most frequent first) and the number of missing."""
    try:
        raw = series.value_counts(dropna=False, sort=False)
    except TypeError:  # lists or dicts from JSON
        hashable = series.map(lambda v: v if isinstance(v, Hashable) else str(v))
        raw = hashable.value_counts(dropna=False, sort=False)
    keys = [_category_text(v) for v in raw.index]
    counts = np.asarray(raw.to_numpy(), dtype=np.int64)
    present = np.array([k is not None for k in keys], dtype=np.bool_)
    n_missing = int(counts[~present].sum())
    index = [k for k in keys if k is not None]
    grouped = pd.Series(counts[present], index=index, dtype=np.int64)
    grouped = grouped[grouped > 0].groupby(level=0, sort=False).sum()
    return grouped.sort_values(ascending=False, kind="stable"), n_missing


# --- Statistics ---------------------------------------------------------------------------------


def _sorted_quantiles(values: FloatArray, quantiles: Sequence[float] | FloatArray) -> list[float]:
    """``np.quantile(values, quantiles)`` (linear interpolation) of ascending ``values``, without
    the partition numpy would redo on every call."""
    position = np.asarray(quantiles, dtype=np.float64) * (values.size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, values.size - 1)
    weight = position - below
    low, high = values[below], values[above]
    # numpy's lerp: from the nearer end, so that a weight of 0 or 1 gives the value exactly.
    result = np.where(
        weight >= 0.5, high - (high - low) * (1 - weight), low + (high - low) * weight
    )
    result = np.where(low == high, low, result)
    return [float(v) for v in result]


def _psi(reference: npt.ArrayLike, current: npt.ArrayLike, epsilon: float) -> float:
    """PSI of two count (or share) vectors over the same bins."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref = np.maximum(ref / ref.sum(), epsilon)
    cur = np.maximum(cur / cur.sum(), epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _quantile_edges(reference: FloatArray, bins: int) -> FloatArray:
    """The reference's inner quantile edges for ``bins`` bins, without repeats."""
    edges = _sorted_quantiles(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(np.asarray(edges, dtype=np.float64))


def _counts_at_most(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts of ascending ``values`` in the bins ``(-inf, e0], (e0, e1], …, (e_last, inf)``."""
    at_most = np.searchsorted(values, edges, side="right")
    return np.diff(np.concatenate([[0], at_most, [values.size]])).astype(np.int64)


def population_stability_index(
    reference: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    bins: int = DEFAULT_PSI_BINS,
    epsilon: float = PSI_EPSILON,
) -> float:
    """The PSI of two samples of numbers over the reference's quantile bins (NaN dropped)."""
    _check_positive("bins", bins)
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    cur = np.asarray(current, dtype=np.float64).reshape(-1)
    ref, cur = np.sort(ref[~np.isnan(ref)]), np.sort(cur[~np.isnan(cur)])
    if ref.size == 0 or cur.size == 0:
        raise ValueError("both samples need at least one number")
    edges = _quantile_edges(ref, bins)
    return _psi(_counts_at_most(ref, edges), _counts_at_most(cur, edges), epsilon)


def _ks_and_wasserstein(
    reference: FloatArray, current: FloatArray
) -> tuple[float, float, KsMethod, float]:
    """KS statistic, p-value and method as ``scipy.stats.ks_2samp(reference, current)``, and
    ``scipy.stats.wasserstein_distance(reference, current)``, of two ascending samples.

    scipy evaluates both CDFs by binary search at every pooled value (1.2 s and 0.6 s per pair of
    a million values); the CDFs come here from one merge of the sorted samples, the same numbers
    in a tenth of the time. Up to :data:`KS_EXACT_MAX_N` values scipy itself gives the exact
    p-value; above, the p-value is scipy's asymptotic one, computed the way scipy does.
    """
    n_ref, n_cur = reference.size, current.size
    pooled = np.concatenate([reference, current])
    # A stable sort of two ascending runs is a merge; it keeps each side's order within ties.
    order = np.argsort(pooled, kind="stable")
    values = pooled[order]
    cum_current = np.cumsum(order >= n_ref)
    cum_reference = np.arange(1, pooled.size + 1) - cum_current
    gap = cum_reference / n_ref - cum_current / n_cur
    # Within a run of equal values the partial counts are not CDF values, but their interval
    # width is 0, so the sum is scipy's.
    wasserstein = float(np.vecdot(np.abs(gap[:-1]), np.diff(values)))
    if max(n_ref, n_cur) <= KS_EXACT_MAX_N:
        with _EXACT_KS, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = stats.ks_2samp(reference, current)
        # scipy falls back to the asymptotic p-value (and says so) when the exact one fails.
        method: KsMethod = "exact"
        for warning in caught:
            if "Switching to method=asymp" in str(warning.message):
                method = "asymp"
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return float(result.statistic), float(result.pvalue), method, wasserstein
    run_end = np.append(values[1:] != values[:-1], True)
    at_ends = gap[run_end]
    statistic = max(float(np.clip(-at_ends.min(), 0, 1)), float(at_ends.max()))
    larger, smaller = sorted([float(n_ref), float(n_cur)], reverse=True)
    effective_n = float(np.round(larger * smaller / (larger + smaller)))
    return statistic, _ks_asymptotic_p(statistic, effective_n), "asymp", wasserstein


def _ks_asymptotic_p(statistic: float, effective_n: float) -> float:
    """scipy's asymptotic two-sided KS p-value, ``kstwo.sf(D, n)`` clipped to [0, 1]."""
    low, high = SMIRNOV_SERIES_BAND
    if (
        SMIRNOV_SERIES_MIN_N < effective_n <= SMIRNOV_SERIES_MAX_N
        and low <= effective_n * statistic**2 < high
    ):
        p_value = 2 * smirnov_sf(int(effective_n), statistic)
    else:
        p_value = float(stats.kstwo.sf(statistic, effective_n))
    return float(np.clip(p_value, 0, 1))


def smirnov_sf(n: int, d: float) -> float:
    """P(D⁺ₙ ≥ d) of the one-sided Smirnov statistic, as ``scipy.special.smirnov(n, d)``, by the
    Birnbaum–Tingey series summed in log space (to about 1e-9 relative for n up to 1e6)::

        d · Σ_{j=0}^{⌊n(1−d)⌋} C(n, j) · (d + j/n)^(j−1) · (1 − d − j/n)^(n−j)
    """
    if not 0 < d < 1:
        return float(d <= 0)
    j = np.arange(0, math.floor(n * (1 - d)) + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):  # the last term is 0 when n·(1 - d) is whole
        log_terms = (
            math.log(d)
            - math.log1p(n)
            - special.betaln(n - j + 1, j + 1)  # log C(n, j) + log(n + 1), accurate for big n
            + (j - 1) * np.log(d + j / n)
            + (n - j) * np.log1p(-d - j / n)
        )
    top = float(log_terms.max())
    return float(math.exp(top) * np.exp(log_terms - top).sum())


def _histogram_edges(reference: FloatArray, current: FloatArray, bins: int) -> FloatArray:
    low_q, high_q = HISTOGRAM_RANGE
    (ref_low, ref_high), (cur_low, cur_high) = (
        _sorted_quantiles(values, [low_q, high_q]) for values in (reference, current)
    )
    low, high = min(ref_low, cur_low), max(ref_high, cur_high)
    whole = all(not np.any(v != np.floor(v)) for v in (reference, current))
    if whole and math.floor(high) - math.ceil(low) + 1 <= bins:
        # Whole numbers get one bar each, centred on the number.
        return np.arange(math.ceil(low) - 0.5, math.floor(high) + 1.0, 1.0)
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    return np.linspace(low, high, bins + 1)


def _histogram_counts(values: FloatArray, edges: FloatArray) -> tuple[IntArray, int, int]:
    """Counts of ascending ``values`` in ``[e_i, e_{i+1})`` (the last bin closed), and the
    numbers of values below and above the edges."""
    starts = np.searchsorted(values, edges[:-1], side="left")
    stops = np.searchsorted(values, edges[1:], side="left")
    stops[-1] = np.searchsorted(values, edges[-1], side="right")
    return (stops - starts).astype(np.int64), int(starts[0]), int(values.size - stops[-1])


def _compare_numbers(
    reference: FloatArray, current: FloatArray, psi_bins: int, histogram_bins: int
) -> NumericDrift:
    """Every numeric statistic of two ascending, finite, non-empty samples."""
    statistic, p_value, method, wasserstein = _ks_and_wasserstein(reference, current)
    ref_summary, cur_summary = Summary.of(reference), Summary.of(current)
    if ref_summary.std > 0:
        normalised = wasserstein / ref_summary.std
    else:
        normalised = 0.0 if wasserstein == 0 else math.inf

    edges = _quantile_edges(reference, psi_bins)
    ref_bins, cur_bins = _counts_at_most(reference, edges), _counts_at_most(current, edges)
    psi_frame = pd.DataFrame(
        {
            "low": np.concatenate([[-np.inf], edges]),
            "high": np.concatenate([edges, [np.inf]]),
            "reference": ref_bins,
            "current": cur_bins,
        }
    )

    chart_edges = _histogram_edges(reference, current, histogram_bins)
    ref_counts, ref_below, ref_above = _histogram_counts(reference, chart_edges)
    cur_counts, cur_below, cur_above = _histogram_counts(current, chart_edges)
    histogram = pd.DataFrame(
        {
            "low": chart_edges[:-1],
            "high": chart_edges[1:],
            "reference": ref_counts,
            "current": cur_counts,
            "reference_share": ref_counts / reference.size,
            "current_share": cur_counts / current.size,
        }
    )
    return NumericDrift(
        ks_statistic=statistic,
        ks_p_value=p_value,
        ks_method=method,
        wasserstein=wasserstein,
        wasserstein_normalised=normalised,
        psi=_psi(ref_bins, cur_bins, PSI_EPSILON),
        reference=ref_summary,
        current=cur_summary,
        psi_bins=psi_frame,
        histogram=histogram,
        outside={"reference": (ref_below, ref_above), "current": (cur_below, cur_above)},
    )


def _compare_categories(
    reference: pd.Series, current: pd.Series, max_categories: int
) -> CategoricalDrift:
    """Every categorical statistic of two non-empty category counts."""
    table = pd.concat([reference.rename("reference"), current.rename("current")], axis=1)
    table = table.fillna(0).astype(np.int64)
    n_ref, n_cur = int(reference.sum()), int(current.sum())
    ref_share = table["reference"] / n_ref
    cur_share = table["current"] / n_cur
    table = table.assign(
        category=table.index.astype(str),
        reference_share=ref_share,
        current_share=cur_share,
        weight=ref_share + cur_share,
    ).sort_values(["weight", "category"], ascending=[False, True], kind="stable")

    new = table[table["reference"] == 0].sort_values("current", ascending=False, kind="stable")
    vanished = table[table["current"] == 0].sort_values("reference", ascending=False, kind="stable")

    shown = table.iloc[:max_categories]
    rest = table.iloc[max_categories:]
    frequencies = shown[["category", "reference", "current"]].reset_index(drop=True)
    if len(rest):
        other = {
            "category": OTHER,
            "reference": int(rest["reference"].sum()),
            "current": int(rest["current"].sum()),
        }
        frequencies = pd.concat([frequencies, pd.DataFrame([other])], ignore_index=True)
    frequencies = frequencies.assign(
        reference_share=frequencies["reference"] / n_ref,
        current_share=frequencies["current"] / n_cur,
    )

    counts = np.vstack(
        [frequencies["reference"].to_numpy(np.int64), frequencies["current"].to_numpy(np.int64)]
    )
    chi2 = stats.chi2_contingency(counts)
    js = float(
        jensenshannon(
            frequencies["reference_share"].to_numpy(np.float64),
            frequencies["current_share"].to_numpy(np.float64),
            base=2,
        )
    )
    return CategoricalDrift(
        chi2=float(chi2.statistic),
        chi2_p_value=float(chi2.pvalue),
        chi2_dof=int(chi2.dof),
        # Equal shares can round to a tiny negative divergence, whose root is NaN.
        js_distance=0.0 if math.isnan(js) else js,
        psi=_psi(counts[0], counts[1], PSI_EPSILON),
        new_share=float(new["current"].sum()) / n_cur,
        n_categories_reference=int((table["reference"] > 0).sum()),
        n_categories_current=int((table["current"] > 0).sum()),
        frequencies=frequencies,
        new_categories=new[["category", "current", "current_share"]].reset_index(drop=True),
        vanished_categories=vanished[["category", "reference", "reference_share"]].reset_index(
            drop=True
        ),
    )


def _two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None without rows."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / spread
    return float(2 * stats.norm.sf(abs(z)))


# --- Wording ------------------------------------------------------------------------------------


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _p(value: float) -> str:
    return "p < 1e-9" if value < 1e-9 else f"p = {value:.2g}"


def _quote(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


# --- Fields -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    thresholds: Thresholds
    max_categories: int
    psi_bins: int
    histogram_bins: int


def _numeric_reasons(kind: FieldKind, result: NumericDrift, t: Thresholds) -> list[str]:
    effects = []
    if result.ks_statistic >= t.ks_statistic:
        effects.append(f"KS {result.ks_statistic:.2f}")
    if result.wasserstein_normalised >= t.wasserstein:
        effects.append(f"Wasserstein {result.wasserstein_normalised:.2f} reference SD")
    if result.psi >= t.psi:
        effects.append(f"PSI {result.psi:.2f}")
    if not effects or result.ks_p_value >= t.alpha:
        return []
    evidence = f"{', '.join(effects)}; KS {_p(result.ks_p_value)}"
    ref, cur = result.reference, result.current
    if kind == "text":
        return [
            f"text length median {_number(ref.median)} → {_number(cur.median)} characters, "
            f"mean {_number(ref.mean)} → {_number(cur.mean)} ({evidence})"
        ]
    return [
        f"mean {_number(ref.mean)} → {_number(cur.mean)}, std {_number(ref.std)} → "
        f"{_number(cur.std)}, median {_number(ref.median)} → {_number(cur.median)} ({evidence})"
    ]


def _categorical_reasons(result: CategoricalDrift, t: Thresholds) -> list[str]:
    if result.chi2_p_value >= t.alpha:
        return []
    reasons = []
    if result.new_share >= t.new_category_share:
        new = result.new_categories.iloc[:_SHOWN_CATEGORIES]
        total = f"{result.new_share:.1%}"
        shown = ", ".join(
            f"{c!r} ({s:.1%})" for c, s in zip(new["category"], new["current_share"], strict=True)
        )
        more = len(result.new_categories) - len(new)
        if len(result.new_categories) == 1:
            reasons.append(
                f"new category: {new['category'].iloc[0]!r} on {total} of current values"
            )
        else:
            reasons.append(
                f"new categories: {shown}{f' and {more} more' if more else ''} on {total} of "
                "current values"
            )
    effects = []
    if result.js_distance >= t.js_distance:
        effects.append(f"JS distance {result.js_distance:.2f}")
    if result.psi >= t.psi:
        effects.append(f"PSI {result.psi:.2f}")
    if effects:
        frequencies = result.frequencies
        change = (frequencies["current_share"] - frequencies["reference_share"]).abs()
        top = frequencies.loc[change.idxmax()]
        reasons.append(
            f"category shares changed ({', '.join(effects)}; χ² {_p(result.chi2_p_value)}); "
            f"largest change {top['category']!r} {top['reference_share']:.1%} → "
            f"{top['current_share']:.1%}"
        )
    return reasons


def _missing_reason(missing: MissingRate, t: Thresholds) -> list[str]:
    if (
        missing.change is None
        or missing.p_value is None
        or abs(missing.change) < t.missing_rate_change
        or missing.p_value >= t.alpha
    ):
        return []
    reason = f"missing {missing.reference:.1%} → {missing.current:.1%}"
    if missing.invalid_current > missing.invalid_reference:
        reason += f" ({missing.invalid_current:,} current values are not numbers)"
    return [reason]


def _absent_field(
    name: str, kind: FieldKind, series: pd.Series, side: Literal["reference", "current"]
) -> FieldDrift:
    present_in: Presence = "reference only" if side == "reference" else "current only"
    absent_from = "current batch" if side == "reference" else "reference"
    return FieldDrift(
        field=name,
        kind=kind,
        presence=present_in,
        n_reference=len(series) if side == "reference" else 0,
        n_current=len(series) if side == "current" else 0,
        missing=MissingRate(None, None, None, None),
        numeric=None,
        categorical=None,
        drifted=True,
        reasons=(f"field absent from the {absent_from}",),
    )


def _compare_field(
    name: str,
    kind: FieldKind,
    reference: pd.Series,
    current: pd.Series,
    settings: _Settings,
    *,
    judge_missing: bool = True,
) -> FieldDrift:
    """The drift of one field present on both sides (either may have no rows)."""
    t = settings.thresholds
    n_ref, n_cur = len(reference), len(current)
    numeric: NumericDrift | None = None
    categorical: CategoricalDrift | None = None
    invalid_ref = invalid_cur = 0
    if kind == "categorical":
        ref_counts, missing_ref = _categories(reference)
        cur_counts, missing_cur = _categories(current)
        have_values = ref_counts.size > 0 and cur_counts.size > 0
        if have_values:
            categorical = _compare_categories(ref_counts, cur_counts, settings.max_categories)
    else:
        if kind == "numeric":
            ref_values, invalid_ref = _numbers(reference)
            cur_values, invalid_cur = _numbers(current)
        else:
            ref_values, cur_values = _text_lengths(reference), _text_lengths(current)
        missing_ref, missing_cur = n_ref - ref_values.size, n_cur - cur_values.size
        have_values = ref_values.size > 0 and cur_values.size > 0
        if have_values:
            numeric = _compare_numbers(
                ref_values, cur_values, settings.psi_bins, settings.histogram_bins
            )

    ref_rate = missing_ref / n_ref if n_ref else None
    cur_rate = missing_cur / n_cur if n_cur else None
    missing = MissingRate(
        reference=ref_rate,
        current=cur_rate,
        change=None if ref_rate is None or cur_rate is None else cur_rate - ref_rate,
        p_value=_two_proportion_p(missing_ref, n_ref, missing_cur, n_cur),
        invalid_reference=invalid_ref,
        invalid_current=invalid_cur,
    )

    reasons = _missing_reason(missing, t) if judge_missing else []
    if numeric is not None:
        reasons += _numeric_reasons(kind, numeric, t)
    if categorical is not None:
        reasons += _categorical_reasons(categorical, t)

    note = None
    if not have_values:
        sides = [s for s, n in (("reference", n_ref), ("current batch", n_cur)) if n == 0]
        if sides:
            note = f"no rows in the {' and the '.join(sides)}; distributions not compared"
        else:
            empty = [
                side
                for side, size in (
                    ("reference", n_ref - missing_ref),
                    ("current batch", n_cur - missing_cur),
                )
                if size == 0
            ]
            note = f"no values in the {' and the '.join(empty)}; distributions not compared"
    return FieldDrift(
        field=name,
        kind=kind,
        presence="both",
        n_reference=n_ref,
        n_current=n_cur,
        missing=missing,
        numeric=numeric,
        categorical=categorical,
        drifted=bool(reasons),
        reasons=tuple(reasons),
        note=note,
    )


def _volume(n_ref: int, n_cur: int, t: Thresholds) -> VolumeDrift:
    ratio = n_cur / n_ref if n_ref else (1.0 if n_cur == 0 else math.inf)
    low = t.volume_ratio_min is not None and ratio < t.volume_ratio_min
    high = t.volume_ratio_max is not None and ratio > t.volume_ratio_max
    reasons = (f"rows {n_ref:,} → {n_cur:,} (× {ratio:.2f})",) if low or high else ()
    return VolumeDrift(n_ref, n_cur, ratio if n_ref else None, low or high, reasons)


def _as_series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"{name} must be one column of labels, not a table")
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    array = np.asarray(values, dtype=object) if isinstance(values, list | tuple) else values
    array = np.asarray(array)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one label per item)")
    return pd.Series(array)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1")


def _label_drift(name: str, reference: Any, current: Any, settings: _Settings) -> FieldDrift | None:
    if reference is None and current is None:
        return None
    if reference is None or current is None:
        raise ValueError(f"pass both reference_{name} and current_{name}, or neither")
    # Unlabelled items are not a change of the label distribution: a fresh batch has none yet.
    return _compare_field(
        name,
        "categorical",
        _as_series(reference, f"reference_{name}"),
        _as_series(current, f"current_{name}"),
        settings,
        judge_missing=False,
    )


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    fields: Sequence[str] | None = None,
    kinds: Mapping[str, FieldKind] | None = None,
    thresholds: Thresholds | None = None,
    reference_labels: Sequence[Any] | npt.ArrayLike | pd.Series | None = None,
    current_labels: Sequence[Any] | npt.ArrayLike | pd.Series | None = None,
    reference_predictions: Sequence[Any] | npt.ArrayLike | pd.Series | None = None,
    current_predictions: Sequence[Any] | npt.ArrayLike | pd.Series | None = None,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    psi_bins: int = DEFAULT_PSI_BINS,
    histogram_bins: int = DEFAULT_HISTOGRAM_BINS,
) -> DriftReport:
    """Compare ``current`` with ``reference`` field by field and give the overall verdict.

    ``fields`` picks the columns to compare (default: every column of either side; a listed
    field absent from both raises ``ValueError``); ``kinds`` overrides :func:`field_kind` per
    field. Labels and predictions (one class per item, None for none) are compared as
    categorical fields whose missing rate is reported but does not count as drift.
    """
    if not isinstance(reference, pd.DataFrame) or not isinstance(current, pd.DataFrame):
        raise ValueError("reference and current must be pandas DataFrames")
    for name, value in (
        ("max_categories", max_categories),
        ("psi_bins", psi_bins),
        ("histogram_bins", histogram_bins),
    ):
        _check_positive(name, value)
    if thresholds is None:
        thresholds = Thresholds()
    settings = _Settings(thresholds, int(max_categories), int(psi_bins), int(histogram_bins))

    # A side without rows has every field, empty: an empty batch is a volume problem only.
    ref_columns = [str(c) for c in reference.columns]
    cur_columns = [str(c) for c in current.columns]
    reference = reference.set_axis(ref_columns, axis=1)
    current = current.set_axis(cur_columns, axis=1)
    everything = list(dict.fromkeys([*ref_columns, *cur_columns]))
    if fields is None:
        names = everything
    else:
        names = list(dict.fromkeys(str(f) for f in fields))
        unknown = [f for f in names if f not in everything]
        if unknown:
            raise ValueError(f"no such field on either side: {_quote(unknown)}")
    kinds = dict(kinds or {})
    for name, kind in kinds.items():
        if name not in names:
            raise ValueError(f"kinds names a field that is not compared: {name!r}")
        if kind not in FIELD_KINDS:
            raise ValueError(f"kind of {name!r} must be one of {', '.join(FIELD_KINDS)}")
    if len(set(ref_columns)) != len(ref_columns) or len(set(cur_columns)) != len(cur_columns):
        raise ValueError("a field name appears twice in the reference or the current batch")

    def compare(name: str) -> FieldDrift:
        in_ref = name in reference.columns
        in_cur = name in current.columns
        ref_series = reference[name] if in_ref else pd.Series([], dtype=object)
        cur_series = current[name] if in_cur else pd.Series([], dtype=object)
        kind = kinds.get(name) or _detect_kind(ref_series) or field_kind(cur_series)
        if not in_cur and len(current):
            return _absent_field(name, kind, ref_series, "reference")
        if not in_ref and len(reference):
            return _absent_field(name, kind, cur_series, "current")
        return _compare_field(name, kind, ref_series, cur_series, settings)

    # Fields are independent and their work on large sides is mostly numpy's and Arrow's,
    # which let go of the GIL: one thread a core.
    large = min(len(reference), len(current)) >= PARALLEL_MIN_ROWS
    threads = (os.cpu_count() or 1) if large else 1
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(names)))) as pool:
        results = list(pool.map(compare, names))

    volume = _volume(len(reference), len(current), thresholds)
    labels = _label_drift(LABELS, reference_labels, current_labels, settings)
    predictions = _label_drift(PREDICTIONS, reference_predictions, current_predictions, settings)
    drifted = (
        volume.drifted
        or any(r.drifted for r in results)
        or any(r is not None and r.drifted for r in (labels, predictions))
    )
    return DriftReport(
        verdict="drift" if drifted else "no drift",
        fields=tuple(results),
        volume=volume,
        labels=labels,
        predictions=predictions,
        thresholds=thresholds,
    )
