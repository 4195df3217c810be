"""Drift reports: generated batches with known drift, statistics against scipy, PSI by hand,
edge cases and JSON-safe results."""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from quality.analysis.drift import (
    OTHER,
    PSI_EPSILON,
    DriftReport,
    Thresholds,
    drift_report,
    field_kind,
    population_stability_index,
    smirnov_sf,
)

WORDS = np.array(
    [
        "the",
        "a",
        "label",
        "model",
        "data",
        "drift",
        "review",
        "batch",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "sensor",
        "phone",
        "noise",
        "speech",
        "clean",
        "car",
        "people",
        "bandwidth",
        "accuracy",
        "error",
        "slice",
    ]
)
COUNTRIES = ["DE", "FR", "ES", "IT", "PL", "NL", "SE", "PT"]
COUNTRY_P = [0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04]
KINDS = {
    "score": "numeric",
    "amount": "numeric",
    "rating": "numeric",
    "price_text": "numeric",
    "country": "categorical",
    "device": "categorical",
    "verified": "categorical",
    "optional": "numeric",
    "comment": "text",
    "title": "text",
}
SHIFTED = {"score", "country", "optional", "comment"}


@pytest.fixture(autouse=True)
def _warnings_are_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# One phrase per word count, the same for every batch; a random ticket number makes texts distinct.
PHRASES = np.array(
    [" ".join(np.random.default_rng(0).choice(WORDS, k)) for k in range(60)], dtype=object
)


def sentences(rng: np.random.Generator, low: int, high: int, n: int) -> pd.Series:
    """``n`` texts of ``low`` to ``high - 1`` words and a ticket number."""
    phrases = pd.Series(PHRASES[rng.integers(low, high, n)], dtype=object)
    return phrases + " #" + pd.Series(rng.integers(0, 1_000_000, n)).astype(str)


def batch(seed: int, n: int = 20_000, *, shifted: bool = False) -> pd.DataFrame:
    """A batch of items; ``shifted`` moves the score's mean by half a standard deviation, gives
    5% of the rows a new country, raises the optional field's missing rate from 3% to 20% and
    makes comments about three times longer. Every other field keeps its distribution."""
    rng = np.random.default_rng(seed)
    optional = rng.normal(0, 1, n)
    optional[rng.random(n) < (0.20 if shifted else 0.03)] = np.nan
    country = rng.choice(COUNTRIES, n, p=COUNTRY_P).astype(object)
    if shifted:
        country[rng.random(n) < 0.05] = "XX"
    return pd.DataFrame(
        {
            "score": rng.normal(55 if shifted else 50, 10, n),
            "amount": rng.lognormal(3, 0.8, n),
            "rating": rng.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.1, 0.2, 0.35, 0.3]),
            "price_text": [f"{v:.2f}" for v in rng.gamma(2.0, 15.0, n)],
            "country": country,
            "device": rng.choice(["ios", "android", "web"], n, p=[0.4, 0.4, 0.2]),
            "verified": rng.random(n) < 0.3,
            "optional": optional,
            "comment": sentences(rng, 15, 50, n) if shifted else sentences(rng, 3, 18, n),
            "title": sentences(rng, 2, 7, n),
        }
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return batch(1)


@pytest.fixture(scope="module")
def shifted() -> pd.DataFrame:
    return batch(2, shifted=True)


@pytest.fixture(scope="module")
def shifted_report(reference: pd.DataFrame, shifted: pd.DataFrame) -> DriftReport:
    return drift_report(reference, shifted)


def walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)
    else:
        yield value


def assert_json_safe(report: DriftReport) -> dict[str, Any]:
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in walk(data))
    assert not any(isinstance(v, np.generic) for v in walk(data))
    return data


# --- Known drift --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed_a", "seed_b", "n"),
    [(1, 3, 20_000), (4, 5, 20_000), (6, 7, 20_000), (8, 9, 5_000), (10, 11, 5_000)],
)
def test_batches_from_one_distribution_show_no_drift(seed_a: int, seed_b: int, n: int) -> None:
    report = drift_report(batch(seed_a, n), batch(seed_b, n))

    assert report.verdict == "no drift", report.reasons
    assert report.drifted_fields == []
    assert all(not f.reasons for f in report.fields)
    assert {f.field: f.kind for f in report.fields} == KINDS
    assert not report.volume.drifted


def test_a_shifted_batch_is_flagged_on_exactly_the_shifted_fields(
    shifted_report: DriftReport,
) -> None:
    report = shifted_report

    assert report.verdict == "drift"
    assert set(report.drifted_fields) == SHIFTED
    assert not report.volume.drifted

    score = report.field("score")
    assert score.numeric is not None
    assert score.numeric.wasserstein_normalised == pytest.approx(0.5, abs=0.05)
    assert score.reasons[0].startswith("mean 50")
    assert "→ 55" in score.reasons[0]

    country = report.field("country")
    assert country.categorical is not None
    new = country.categorical.new_categories
    assert new["category"].tolist() == ["XX"]
    assert new["current_share"].iloc[0] == pytest.approx(0.05, abs=0.005)
    assert country.reasons[0] == "new category: 'XX' on 4.9% of current values"

    optional = report.field("optional")
    assert optional.missing.reference == pytest.approx(0.03, abs=0.005)
    assert optional.missing.current == pytest.approx(0.20, abs=0.01)
    assert len(optional.reasons) == 1  # the values that remain did not move
    assert optional.reasons[0] == (
        f"missing {optional.missing.reference:.1%} → {optional.missing.current:.1%}"
    )

    comment = report.field("comment")
    assert comment.numeric is not None
    assert comment.numeric.current.median > 2.5 * comment.numeric.reference.median
    assert comment.reasons[0].startswith("text length median")
    assert (
        comment.reasons[0].split(" characters")[0].endswith(f"{comment.numeric.current.median:.3g}")
    )


def test_the_verdict_lists_every_reason(shifted_report: DriftReport) -> None:
    data = assert_json_safe(shifted_report)

    assert data["verdict"] == "drift"
    assert data["summary"]["n_fields"] == len(KINDS)
    assert data["summary"]["n_drifted"] == len(SHIFTED)
    assert set(data["summary"]["drifted_fields"]) == SHIFTED
    assert {line.split(":")[0] for line in data["reasons"]} == SHIFTED
    table = {row["field"]: row for row in data["table"]}
    assert {name for name, row in table.items() if row["drifted"]} == SHIFTED


def stored_text(frame: pd.DataFrame, dtype: Any) -> pd.DataFrame:
    """The batch as the workbench stores field values (text; true/false; blanks missing), in
    Python strings (``object``) or Arrow-backed text."""

    def text(value: Any) -> str | None:
        if isinstance(value, bool | np.bool_):
            return "true" if value else "false"
        if isinstance(value, float) and math.isnan(value):
            return None
        return str(value)

    return pd.DataFrame(
        {name: pd.Series([text(v) for v in frame[name]], dtype=dtype) for name in frame.columns}
    )


def test_arrow_backed_text_gives_the_same_report_as_python_strings(
    reference: pd.DataFrame, shifted: pd.DataFrame
) -> None:
    # The job reads both sides as Arrow-backed text (quality.services.drift_side); a posted
    # CSV arrives as Python strings. Every statistic is the same whichever the storage.
    arrow, objects = pd.ArrowDtype(pa.string()), object
    expected = drift_report(stored_text(reference, objects), stored_text(shifted, objects))
    for ref_dtype, cur_dtype in ((arrow, arrow), (arrow, objects), ("str", arrow)):
        report = drift_report(stored_text(reference, ref_dtype), stored_text(shifted, cur_dtype))
        assert report.to_dict() == expected.to_dict()
    assert set(expected.drifted_fields) == SHIFTED
    assert {f.field: f.kind for f in expected.fields} == KINDS


# --- Statistics against scipy -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["score", "rating", "price_text", "amount"])
def test_numeric_statistics_equal_scipy(
    reference: pd.DataFrame, shifted: pd.DataFrame, shifted_report: DriftReport, field: str
) -> None:
    ref = pd.to_numeric(reference[field]).to_numpy(dtype=np.float64)
    cur = pd.to_numeric(shifted[field]).to_numpy(dtype=np.float64)
    numeric = shifted_report.field(field).numeric
    assert numeric is not None

    ks = stats.ks_2samp(ref, cur)
    assert numeric.ks_method == "asymp"
    assert numeric.ks_statistic == ks.statistic
    assert numeric.ks_p_value == ks.pvalue
    assert numeric.ks_p_value == stats.ks_2samp(ref, cur, method="asymp").pvalue
    wasserstein = stats.wasserstein_distance(ref, cur)
    assert numeric.wasserstein == pytest.approx(wasserstein, rel=1e-12, abs=1e-15)
    assert numeric.wasserstein_normalised == pytest.approx(wasserstein / ref.std(), rel=1e-12)
    assert numeric.reference.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert numeric.current.median == np.median(cur)
    assert numeric.psi_bins["reference"].sum() == ref.size
    assert numeric.psi_bins["current"].sum() == cur.size


def test_text_lengths_are_compared_like_numbers(
    reference: pd.DataFrame, shifted: pd.DataFrame, shifted_report: DriftReport
) -> None:
    ref = reference["comment"].str.len().to_numpy(dtype=np.float64)
    cur = shifted["comment"].str.len().to_numpy(dtype=np.float64)
    numeric = shifted_report.field("comment").numeric
    assert numeric is not None

    ks = stats.ks_2samp(ref, cur)
    assert (numeric.ks_statistic, numeric.ks_p_value) == (ks.statistic, ks.pvalue)
    assert numeric.wasserstein == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-12)
    assert numeric.reference.median == np.median(ref)


def test_small_samples_use_scipys_exact_ks_test() -> None:
    rng = np.random.default_rng(3)
    ref = np.round(rng.normal(0, 1, 3000), 1)  # ties
    cur = np.round(rng.normal(0.1, 1, 2500), 1)

    numeric = drift_report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur})).field("x").numeric
    assert numeric is not None

    ks = stats.ks_2samp(ref, cur, method="exact")
    assert numeric.ks_method == "exact"
    assert (numeric.ks_statistic, numeric.ks_p_value) == (ks.statistic, ks.pvalue)
    assert numeric.wasserstein == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-12)


def test_large_samples_with_a_small_shift_match_scipys_asymptotic_p_value() -> None:
    # 130,000 a side with a shift of 0.02 SD: n·D² falls where scipy sums the Smirnov series.
    rng = np.random.default_rng(4)
    ref = rng.normal(0, 1, 130_000)
    cur = rng.normal(0.02, 1, 130_000)

    numeric = drift_report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur})).field("x").numeric
    assert numeric is not None

    ks = stats.ks_2samp(ref, cur, method="asymp")
    assert 2.2 <= 65_000 * ks.statistic**2 < 370
    assert numeric.ks_statistic == ks.statistic
    assert numeric.ks_p_value == pytest.approx(ks.pvalue, rel=1e-8)


@pytest.mark.parametrize("n_d2", [2.2, 5.0, 40.0, 300.0])
def test_smirnov_series_equals_scipy(n_d2: float) -> None:
    n = 60_000
    d = math.sqrt(n_d2 / n)
    assert smirnov_sf(n, d) == pytest.approx(special.smirnov(n, d), rel=1e-9)


@pytest.mark.parametrize(("n", "d"), [(1, 0.3), (2, 0.6), (10, 0.05), (10, 0.5), (25, 0.99)])
def test_smirnov_series_is_exact_for_small_n(n: int, d: float) -> None:
    assert smirnov_sf(n, d) == pytest.approx(special.smirnov(n, d), rel=1e-12)


def test_categorical_statistics_equal_scipy(
    reference: pd.DataFrame, shifted: pd.DataFrame, shifted_report: DriftReport
) -> None:
    categorical = shifted_report.field("country").categorical
    assert categorical is not None
    # Built apart from the report: counts per country on each side, in one order.
    ref_counts, cur_counts = Counter(reference["country"]), Counter(shifted["country"])
    names = sorted(set(ref_counts) | set(cur_counts))
    table = np.array([[ref_counts[c] for c in names], [cur_counts[c] for c in names]])

    chi2 = stats.chi2_contingency(table)
    assert categorical.chi2 == pytest.approx(chi2.statistic, rel=1e-12)
    assert categorical.chi2_p_value == pytest.approx(chi2.pvalue, rel=1e-9, abs=1e-300)
    assert categorical.chi2_dof == chi2.dof == len(COUNTRIES)
    shares = table / table.sum(axis=1, keepdims=True)
    assert categorical.js_distance == pytest.approx(
        jensenshannon(shares[0], shares[1], base=2), rel=1e-12
    )
    frequencies = categorical.frequencies.set_index("category")
    assert frequencies["reference"].to_dict() == {c: ref_counts[c] for c in names}
    assert frequencies["current"].to_dict() == {c: cur_counts[c] for c in names}
    assert frequencies.index.tolist()[0] == "DE"  # most frequent first


def test_rare_categories_are_grouped_as_other() -> None:
    rng = np.random.default_rng(5)
    names = np.array([f"v{i:03d}" for i in range(200)])
    ref = pd.DataFrame({"code": rng.choice(names, 20_000)})
    cur = pd.DataFrame({"code": rng.choice(names, 20_000)})

    result = drift_report(ref, cur, max_categories=20).field("code")
    categorical = result.categorical
    assert categorical is not None

    frequencies = categorical.frequencies
    assert len(frequencies) == 21
    assert frequencies["category"].iloc[-1] == OTHER
    assert frequencies["reference"].sum() == 20_000
    counts = frequencies[["reference", "current"]].to_numpy().T
    assert categorical.chi2_p_value == stats.chi2_contingency(counts).pvalue
    assert categorical.n_categories_reference == 200
    assert not result.drifted


# --- PSI by hand --------------------------------------------------------------------------------


def test_numeric_psi_by_hand() -> None:
    # Reference deciles cut 1..10 into one value per bin; the current batch piles five rows
    # into the first bin and leaves the last four bins empty (raised to epsilon).
    reference = np.arange(1.0, 11.0)
    current = np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 6], dtype=np.float64)
    eps = PSI_EPSILON
    expected = (0.5 - 0.1) * math.log(0.5 / 0.1) + 4 * (eps - 0.1) * math.log(eps / 0.1)

    assert population_stability_index(reference, current) == pytest.approx(expected, rel=1e-12)
    report = drift_report(pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}))
    numeric = report.field("x").numeric
    assert numeric is not None
    assert numeric.psi == pytest.approx(expected, rel=1e-12)
    assert numeric.psi_bins["reference"].tolist() == [1] * 10
    assert numeric.psi_bins["current"].tolist() == [5, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert population_stability_index(reference, reference) == 0.0


def test_categorical_psi_and_js_by_hand() -> None:
    ref = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50})
    cur = pd.DataFrame({"c": ["a"] * 80 + ["b"] * 20})
    psi = 0.3 * math.log(0.8 / 0.5) - 0.3 * math.log(0.2 / 0.5)
    mix = (0.65, 0.35)
    divergence = 0.5 * sum(p * math.log2(p / m) for p, m in zip((0.5, 0.5), mix, strict=True))
    divergence += 0.5 * sum(q * math.log2(q / m) for q, m in zip((0.8, 0.2), mix, strict=True))

    result = drift_report(ref, cur).field("c")
    assert result.categorical is not None
    assert result.categorical.psi == pytest.approx(psi, rel=1e-12)
    assert result.categorical.js_distance == pytest.approx(math.sqrt(divergence), rel=1e-12)
    assert result.drifted
    assert "'a' 50.0% → 80.0%" in result.reasons[0]


# --- Labels and predictions ---------------------------------------------------------------------


def test_label_distribution_drift_makes_the_verdict() -> None:
    frame = batch(12, 2000)
    same = batch(13, 2000)
    rng = np.random.default_rng(6)
    ref_labels = rng.choice(["cat", "dog"], 2000, p=[0.5, 0.5])
    cur_labels = rng.choice(["cat", "dog"], 1500, p=[0.8, 0.2])

    report = drift_report(frame, same, reference_labels=ref_labels, current_labels=cur_labels)

    assert report.drifted_fields == []
    assert report.labels is not None and report.labels.drifted
    assert report.verdict == "drift"
    assert report.labels.reasons[0].startswith("category shares changed")
    assert report.predictions is None
    assert report.reasons[0].startswith("labels: ")
    data = assert_json_safe(report)
    assert data["summary"]["labels_drifted"] is True
    assert [row["role"] for row in data["table"]][-1] == "labels"


def test_unlabelled_current_batch_is_not_label_drift() -> None:
    frame = batch(14, 2000)
    labels = ["cat", "dog"] * 1000

    report = drift_report(
        frame,
        frame,
        reference_labels=labels,
        current_labels=[None] * 2000,
        reference_predictions=pd.Series(labels),
        current_predictions=pd.Series(labels[::-1]),
    )

    assert report.labels is not None
    assert not report.labels.drifted
    assert report.labels.missing.current == 1.0
    assert report.labels.note == "no values in the current batch; distributions not compared"
    assert report.predictions is not None and not report.predictions.drifted
    assert report.verdict == "no drift"


def test_labels_need_both_sides() -> None:
    with pytest.raises(ValueError, match="pass both reference_labels and current_labels"):
        drift_report(batch(15, 100), batch(16, 100), reference_labels=["a"] * 100)


# --- Edge cases ---------------------------------------------------------------------------------


def test_an_empty_current_batch_is_volume_drift_only() -> None:
    reference = batch(17, 2000)
    current = reference.iloc[:0]

    report = drift_report(reference, current)

    assert report.verdict == "drift"
    assert report.volume.drifted
    assert report.volume.reasons == ("rows 2,000 → 0 (× 0.00)",)
    assert report.drifted_fields == []
    for result in report.fields:
        assert result.missing.current is None
        assert result.numeric is None and result.categorical is None
        assert result.note == "no rows in the current batch; distributions not compared"
    assert_json_safe(report)
    # Without columns too: a batch without rows has every field, empty.
    assert drift_report(reference, pd.DataFrame()).drifted_fields == []
    lenient = Thresholds(volume_ratio_min=None, volume_ratio_max=None)
    assert drift_report(reference, current, thresholds=lenient).verdict == "no drift"


def test_a_field_missing_everywhere_is_not_drift() -> None:
    frame = pd.DataFrame({"x": [None] * 50, "y": [""] * 50})

    report = drift_report(frame, frame.copy())

    assert report.verdict == "no drift"
    for name in ("x", "y"):
        result = report.field(name)
        assert result.kind == "categorical"
        assert (result.missing.reference, result.missing.current) == (1.0, 1.0)
        assert result.note == (
            "no values in the reference and the current batch; distributions not compared"
        )
    assert_json_safe(report)


def test_a_field_that_empties_is_missing_value_drift() -> None:
    reference = pd.DataFrame({"x": np.arange(500, dtype=np.float64)})
    current = pd.DataFrame({"x": np.full(400, np.nan)})

    result = drift_report(reference, current).field("x")

    assert result.drifted
    assert result.reasons == ("missing 0.0% → 100.0%",)
    assert result.note == "no values in the current batch; distributions not compared"


def test_numbers_that_stop_being_numbers_count_as_missing() -> None:
    reference = pd.DataFrame({"x": [str(v) for v in range(1000)]})
    current = pd.DataFrame({"x": [str(v) for v in range(900)] + ["n/a"] * 100})

    result = drift_report(reference, current).field("x")

    assert result.kind == "numeric"
    assert result.missing.invalid_current == 100
    assert result.reasons[0] == "missing 0.0% → 10.0% (100 current values are not numbers)"


def test_constant_fields() -> None:
    same = drift_report(pd.DataFrame({"x": [3.0] * 200}), pd.DataFrame({"x": [3.0] * 300}))
    moved = drift_report(pd.DataFrame({"x": [3.0] * 200}), pd.DataFrame({"x": [4.0] * 300}))

    numeric = same.field("x").numeric
    assert numeric is not None
    assert (numeric.ks_statistic, numeric.ks_p_value) == (0.0, 1.0)
    assert (numeric.wasserstein, numeric.wasserstein_normalised, numeric.psi) == (0.0, 0.0, 0.0)
    assert numeric.histogram["reference"].tolist() == [200]
    assert same.verdict == "no drift"

    result = moved.field("x")
    assert result.numeric is not None
    assert result.numeric.ks_statistic == 1.0
    assert result.numeric.wasserstein_normalised == math.inf
    assert result.drifted
    data = assert_json_safe(moved)
    assert data["fields"][0]["numeric"]["wasserstein_normalised"] is None


def test_a_field_on_one_side_only_is_a_schema_change() -> None:
    reference = batch(18, 500)
    current = batch(19, 500).drop(columns=["score"]).assign(extra=1)

    report = drift_report(reference, current)

    assert set(report.drifted_fields) == {"score", "extra"}
    assert report.field("score").presence == "reference only"
    assert report.field("score").reasons == ("field absent from the current batch",)
    assert report.field("extra").presence == "current only"
    assert report.field("extra").reasons == ("field absent from the reference",)
    assert [f.field for f in report.fields][-1] == "extra"
    assert_json_safe(report)


def test_fields_and_kinds_can_be_chosen() -> None:
    reference, current = batch(20, 1000), batch(21, 1000)

    report = drift_report(
        reference, current, fields=["rating", "title"], kinds={"rating": "categorical"}
    )

    assert [(f.field, f.kind) for f in report.fields] == [
        ("rating", "categorical"),
        ("title", "text"),
    ]
    result = report.field("rating")
    assert result.categorical is not None
    assert result.categorical.frequencies["category"].tolist()[:2] == ["4", "5"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fields": ["nope"]}, "no such field on either side: 'nope'"),
        ({"kinds": {"score": "ordinal"}}, "kind of 'score' must be one of"),
        ({"kinds": {"nope": "text"}}, "kinds names a field that is not compared"),
        ({"psi_bins": 0}, "psi_bins must be a whole number of at least 1"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        drift_report(batch(22, 50), batch(23, 50), **arguments)


def test_thresholds_can_be_stricter() -> None:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 20_000)})
    current = pd.DataFrame({"x": rng.normal(0.05, 1, 20_000)})

    assert drift_report(reference, current).verdict == "no drift"
    strict = drift_report(reference, current, thresholds=Thresholds(wasserstein=0.03))
    assert strict.drifted_fields == ["x"]
    assert "Wasserstein 0.0" in strict.field("x").reasons[0]
    assert strict.to_dict()["thresholds"]["wasserstein"] == 0.03


@pytest.mark.parametrize(
    "arguments",
    [{"alpha": 0}, {"psi": -1}, {"js_distance": 2}, {"volume_ratio_min": 3.0}],
)
def test_bad_thresholds_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="thresholds"):
        Thresholds(**arguments)


def test_tiny_samples_do_not_cry_wolf() -> None:
    # Five rows a side differ a lot by every effect size, but prove nothing.
    report = drift_report(
        pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "c": list("aabbc")}),
        pd.DataFrame({"x": [2.0, 3.0, 4.0, 5.0, 6.0], "c": list("abbcd")}),
    )
    assert report.verdict == "no drift"


# --- Kinds and charts ---------------------------------------------------------------------------


def test_field_kind() -> None:
    rng = np.random.default_rng(8)
    assert field_kind(pd.Series(["1.5", "2", None, ""])) == "numeric"
    assert field_kind(pd.Series([True, False])) == "categorical"
    assert field_kind(pd.Series(["yes", "no"] * 100)) == "categorical"
    assert field_kind(pd.Series(pd.Categorical(["1", "2"]))) == "categorical"
    assert field_kind(sentences(rng, 5, 10, 30)) == "text"
    assert field_kind(pd.Series([f"id-{i}" for i in range(500)])) == "text"
    assert field_kind(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"]))) == "numeric"
    assert field_kind(pd.Series([None, ""], dtype=object)) == "categorical"


def test_datetimes_compare_as_seconds() -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    reference = pd.DataFrame({"at": start + pd.to_timedelta(np.arange(1000), unit="h")})
    current = pd.DataFrame({"at": start + pd.to_timedelta(np.arange(1000) + 2000, unit="h")})

    result = drift_report(reference, current).field("at")

    assert result.kind == "numeric" and result.drifted
    assert result.numeric is not None
    assert result.numeric.reference.min == start.timestamp()


def test_histograms_share_their_edges(shifted_report: DriftReport) -> None:
    for name in ("score", "amount", "comment"):
        numeric = shifted_report.field(name).numeric
        assert numeric is not None
        histogram = numeric.histogram
        assert (histogram["low"].iloc[1:].to_numpy() == histogram["high"].iloc[:-1]).all()
        for side, summary in (("reference", numeric.reference), ("current", numeric.current)):
            below, above = numeric.outside[side]
            assert histogram[side].sum() + below + above == summary.n
            assert histogram[f"{side}_share"].sum() <= 1.0

    rating = shifted_report.field("rating").numeric
    assert rating is not None
    # Whole numbers get one bar each.
    assert rating.histogram["low"].tolist() == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert rating.outside == {"reference": (0, 0), "current": (0, 0)}
