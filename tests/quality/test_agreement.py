"""Agreement statistics: published reference values, hand-computed cases and edge cases."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from quality.analysis.agreement import (
    agreement_report,
    class_agreement,
    cohen_kappa,
    confusions,
    fleiss_kappa,
    frame_records,
    krippendorff_alpha,
    labeller_agreement,
    pairwise_cohen,
    percent_agreement,
    slice_agreement,
)
from tests.shared_data import SHARED_DATA, need

REFERENCE = SHARED_DATA / "agreement_reference" / "agreement_reference.json"
Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    need(REFERENCE, "published agreement values")
    with REFERENCE.open() as file:
        data: dict[str, Any] = json.load(file)
    return data


@pytest.fixture(autouse=True)
def _warnings_are_errors() -> Iterator[None]:
    # An undefined statistic must come back as None, not as a RuntimeWarning and a NaN.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def frame(rows: Sequence[tuple[int, int, int]]) -> pd.DataFrame:
    """(item, labeller, label) rows as an annotations frame."""
    return pd.DataFrame(list(rows), columns=["item", "labeller", "label"], dtype=np.int64)


def from_units(data: Sequence[Sequence[int | None]], *, observers_in_rows: bool) -> pd.DataFrame:
    """A reliability matrix (None = missing) as annotations, with the raw value in ``value``."""
    grid = np.array(data, dtype=object)
    if not observers_in_rows:
        grid = grid.T
    rows = [
        (unit, observer, value)
        for observer, row in enumerate(grid.tolist())
        for unit, value in enumerate(row)
        if value is not None
    ]
    result = pd.DataFrame(rows, columns=["item", "labeller", "value"])
    return result.astype(np.int64)


def coded(annotations: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Class codes 0..k-1 for the distinct raw values (in ascending order), and those values."""
    values = np.unique(annotations["value"].to_numpy())
    result = annotations.assign(label=np.searchsorted(values, annotations["value"].to_numpy()))
    return result, values


def from_category_counts(table: Sequence[Sequence[int]]) -> pd.DataFrame:
    """Subjects × categories counts as annotations: rater j gives the j-th label of the row."""
    rows = []
    for item, counts in enumerate(table):
        labels = np.repeat(np.arange(len(counts)), counts)
        rows += [(item, rater, int(label)) for rater, label in enumerate(labels)]
    return frame(rows)


def from_contingency(table: Sequence[Sequence[int]]) -> pd.DataFrame:
    """A two-rater table (rater 1 in rows) as annotations of labellers 1 and 2."""
    rows = []
    item = 0
    for a, row in enumerate(table):
        for b, count in enumerate(row):
            for _ in range(count):
                rows += [(item, 1, a), (item, 2, b)]
                item += 1
    return frame(rows)


def kappa_between(result: Any, first: int, second: int) -> float | None:
    ids = result.labellers.tolist()
    value = result.kappa[ids.index(first), ids.index(second)]
    return None if math.isnan(value) else float(value)


# Published reference values


@pytest.mark.parametrize(
    ("example", "level"),
    [
        ("krippendorff2011_C", "nominal"),
        ("krippendorff2011_C", "ordinal"),
        ("krippendorff2011_C", "interval"),
        ("krippendorff2011_C", "ratio"),
        ("wikipedia_krippendorff_3x15", "nominal"),
        ("wikipedia_krippendorff_3x15", "interval"),
    ],
)
def test_krippendorff_alpha_reproduces_published_values(
    reference: dict[str, Any], example: str, level: str
) -> None:
    case = reference[example]
    annotations, values = coded(from_units(case["data"], observers_in_rows=True))
    result = krippendorff_alpha(annotations, len(values), level=level, values=values)  # type: ignore[arg-type]
    assert result.value == pytest.approx(case["expected"][level], abs=5e-4)
    assert result.reason is None


@pytest.mark.parametrize("level", ["ordinal", "interval", "ratio"])
def test_krippendorff_alpha_follows_the_values_not_the_code_order(
    reference: dict[str, Any], level: str
) -> None:
    # The same data with class codes shuffled: value 1 is code 3, value 2 code 0, and so on.
    case = reference["krippendorff2011_C"]
    annotations, values = coded(from_units(case["data"], observers_in_rows=True))
    shuffle = np.array([3, 0, 4, 1, 2])
    annotations["label"] = shuffle[annotations["label"].to_numpy()]
    shuffled_values = np.empty_like(values)
    shuffled_values[shuffle] = values
    result = krippendorff_alpha(annotations, 5, level=level, values=shuffled_values)  # type: ignore[arg-type]
    assert result.value == pytest.approx(case["expected"][level], abs=5e-4)


def test_every_published_krippendorff_level_is_covered(reference: dict[str, Any]) -> None:
    covered = {
        "krippendorff2011_C": {"nominal", "ordinal", "interval", "ratio"},
        "wikipedia_krippendorff_3x15": {"nominal", "interval"},
    }
    for example, levels in covered.items():
        assert set(reference[example]["expected"]) == levels


def test_krippendorff_alpha_counts_only_items_with_two_labels(reference: dict[str, Any]) -> None:
    # Krippendorff (2011) C: unit 12 has one value (3) and is not pairable: 11 of 12 units.
    annotations, values = coded(
        from_units(reference["krippendorff2011_C"]["data"], observers_in_rows=True)
    )
    assert krippendorff_alpha(annotations, len(values)).n_items == 11


def test_fleiss_kappa_reproduces_the_wikipedia_example(reference: dict[str, Any]) -> None:
    case = reference["wikipedia_fleiss_10x5"]
    result = fleiss_kappa(from_category_counts(case["data"]), 5)
    assert result.value == pytest.approx(case["expected"]["fleiss_kappa"], abs=5e-4)
    assert result.observed == pytest.approx(case["expected"]["P_bar"], abs=5e-4)
    assert result.expected == pytest.approx(case["expected"]["P_e_bar"], abs=5e-4)
    assert (result.n_items, result.raters_per_item, result.n_items_excluded) == (10, 14, 0)


def test_percent_agreement_is_fleiss_p_bar_and_per_item_p_i(reference: dict[str, Any]) -> None:
    case = reference["wikipedia_fleiss_10x5"]
    annotations = from_category_counts(case["data"])
    assert percent_agreement(annotations).value == pytest.approx(
        case["expected"]["P_bar"], abs=5e-4
    )
    for item, expected in enumerate(case["expected"]["P_i"]):
        one_item = annotations[annotations["item"] == item]
        assert percent_agreement(one_item).value == pytest.approx(expected, abs=5e-4), item


def test_fleiss_kappa_reproduces_fleiss_1971_diagnoses(reference: dict[str, Any]) -> None:
    case = reference["fleiss1971_diagnoses"]
    annotations = from_units(case["data"], observers_in_rows=False)
    annotations["label"] = annotations["value"] - 1  # diagnoses 1..5 → codes 0..4
    result = fleiss_kappa(annotations, 5)
    assert result.value == pytest.approx(case["expected"]["fleiss_kappa"], abs=5e-4)
    assert (result.n_items, result.raters_per_item) == (30, 6)


def test_cohen_kappa_reproduces_the_sas_printout(reference: dict[str, Any]) -> None:
    case = reference["sas_cohen_3x3"]
    expected = case["expected"]
    simple = cohen_kappa(case["data"])
    assert simple.value == pytest.approx(expected["kappa"], abs=5e-4)
    assert simple.ase == pytest.approx(expected["ase"], abs=5e-4)
    assert simple.ci95 == pytest.approx(expected["ci95"], abs=5e-4)
    assert simple.n == 19
    linear = cohen_kappa(case["data"], "linear")
    assert linear.value == pytest.approx(
        expected["weighted_kappa_linear(SAS Cicchetti-Allison)"], abs=5e-4
    )
    assert linear.ase == pytest.approx(expected["weighted_ase"], abs=5e-4)


def test_pairwise_cohen_of_the_sas_table_expanded_into_annotations(
    reference: dict[str, Any],
) -> None:
    case = reference["sas_cohen_3x3"]
    result = pairwise_cohen(from_contingency(case["data"]), 3)
    assert kappa_between(result, 1, 2) == pytest.approx(case["expected"]["kappa"], abs=5e-4)
    assert result.shared.tolist() == [[19, 19], [19, 19]]


def test_cohen_kappa_reproduces_irr_kappa2_on_anxiety_raters_2_and_3(
    reference: dict[str, Any],
) -> None:
    case = reference["irr_anxiety_kappa2"]
    expected = case["expected"]
    two_raters = np.array(case["data"])[:, 1:3]
    # irr::kappa2 weights by the position among the levels that occur (1, 2, 3, 4, 6 here: nobody
    # gave 5), so the codes are ranks among the observed values, not value - 1.
    levels = np.unique(two_raters)
    codes = np.searchsorted(levels, two_raters)
    table = np.zeros((levels.size, levels.size), dtype=np.int64)
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1)
    assert cohen_kappa(table).value == pytest.approx(
        expected["kappa2(anxiety[,2:3]) unweighted"], abs=5e-4
    )
    assert cohen_kappa(table, "linear").value == pytest.approx(
        expected["kappa2(anxiety[,2:3],'equal') linear"], abs=5e-4
    )
    assert cohen_kappa(table, "quadratic").value == pytest.approx(
        expected["kappa2(anxiety[,2:3],'squared') quadratic"], abs=5e-4
    )
    annotations = from_units(case["data"], observers_in_rows=False)
    annotations["label"] = annotations["value"] - 1
    result = pairwise_cohen(annotations, 6, min_shared=20)
    assert kappa_between(result, 1, 2) == pytest.approx(
        expected["kappa2(anxiety[,2:3]) unweighted"], abs=5e-4
    )


# Hand-computed cases


def test_percent_agreement_averages_agreeing_pairs_over_items_with_two_labels() -> None:
    # item 1: 0 0 1 → 2 of 6 ordered pairs agree = 1/3; item 2: 1 1 → 1; item 3 alone: skipped.
    annotations = frame([(1, 1, 0), (1, 2, 0), (1, 3, 1), (2, 1, 1), (2, 2, 1), (3, 1, 0)])
    result = percent_agreement(annotations)
    assert result.value == pytest.approx((1 / 3 + 1) / 2)
    assert result.n_items == 2


def test_krippendorff_alpha_nominal_by_hand() -> None:
    # Items (0,0), (1,1), (0,1): coincidences o00 = 2, o11 = 2, o01 = o10 = 1; n0 = n1 = 3, n = 6.
    # Do = 2/6; De = 2·3·3 / (6·5) = 0.6; alpha = 1 - (1/3)/0.6 = 4/9.
    annotations = frame([(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1)])
    result = krippendorff_alpha(annotations, 2)
    assert result.value == pytest.approx(4 / 9)
    assert result.n_items == 3


def test_krippendorff_alpha_ignores_classes_nobody_used() -> None:
    annotations = frame([(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1)])
    assert krippendorff_alpha(annotations, 5).value == pytest.approx(4 / 9)


def test_krippendorff_alpha_interval_uses_the_class_values() -> None:
    # Items (a,a), (b,b), (a,b) with values a = 0, b = 10: Do = 2·100/6, De = 2·3·3·100/30,
    # alpha = 1 - (200/6)/60 = 4/9 as in the nominal case, since two values have one distance.
    # With a third class c = 1 given once against a: interval alpha now differs from nominal.
    rows = [(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1)]
    assert krippendorff_alpha(frame(rows), 2, level="interval", values=[0, 10]).value == (
        pytest.approx(4 / 9)
    )
    with_near_miss = frame([*rows, (4, 1, 0), (4, 2, 2)])
    nominal = krippendorff_alpha(with_near_miss, 3).value
    interval = krippendorff_alpha(with_near_miss, 3, level="interval", values=[0, 10, 1]).value
    assert nominal is not None and interval is not None
    assert interval > nominal  # a 0-vs-1 disagreement is small on the interval scale


def test_fleiss_kappa_by_hand_uses_the_most_common_label_count() -> None:
    # Two items with 3 labels: (0,0,0) P = 1; (0,0,1) P = (4+1-3)/6 = 1/3; P̄ = 2/3.
    # Shares 5/6, 1/6 → P̄e = 26/36; kappa = (2/3 - 26/36) / (1 - 26/36) = -0.2.
    # The item with 2 labels is left out; the item with 1 label never counts.
    annotations = frame(
        [
            *[(1, r, 0) for r in (1, 2, 3)],
            (2, 1, 0),
            (2, 2, 0),
            (2, 3, 1),
            (3, 1, 1),
            (3, 2, 1),
            (4, 1, 0),
        ]
    )
    result = fleiss_kappa(annotations, 2)
    assert result.value == pytest.approx(-0.2)
    assert (result.n_items, result.raters_per_item, result.n_items_excluded) == (2, 3, 1)
    assert result.observed == pytest.approx(2 / 3)
    assert result.expected == pytest.approx(26 / 36)


def test_fleiss_kappa_takes_the_larger_count_on_a_tie() -> None:
    # Two items with 2 labels and two with 3: the 3-label items are used.
    annotations = frame(
        [
            *[(1, 1, 0), (1, 2, 1), (2, 1, 0), (2, 2, 0)],
            *[(3, 1, 0), (3, 2, 0), (3, 3, 1), (4, 1, 1), (4, 2, 1), (4, 3, 1)],
        ]
    )
    result = fleiss_kappa(annotations, 2)
    assert (result.raters_per_item, result.n_items, result.n_items_excluded) == (3, 2, 2)


def test_cohen_kappa_by_hand() -> None:
    # n = 50, observed 35/50 = 0.7; margins rows .5/.5, cols .6/.4 → expected .5; kappa = 0.4.
    result = cohen_kappa([[20, 5], [10, 15]])
    assert result.value == pytest.approx(0.4)
    assert result.n == 50
    assert result.ci95 is not None and result.ci95[0] < 0.4 < result.ci95[1]
    assert result.ase is not None
    assert result.ci95 == pytest.approx((0.4 - Z95 * result.ase, 0.4 + Z95 * result.ase))


def test_pairwise_cohen_matches_sklearn_on_random_data() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for item in range(400):
        labellers = rng.choice(12, size=rng.integers(1, 6), replace=False)
        truth = rng.integers(0, 4)
        for labeller in labellers:
            label = truth if rng.random() < 0.6 else rng.integers(0, 4)
            rows.append((item, int(labeller) + 100, int(label)))
    annotations = frame(rows)
    result = pairwise_cohen(annotations, 4, min_shared=5)
    assert result.labellers.tolist() == list(range(100, 112))
    by_labeller = {
        labeller: group.set_index("item")["label"]
        for labeller, group in annotations.groupby("labeller")
    }
    checked = 0
    for i, a in enumerate(result.labellers.tolist()):
        assert result.shared[i, i] == len(by_labeller[a])
        assert math.isnan(result.kappa[i, i])
        for j, b in enumerate(result.labellers.tolist()):
            if a == b:
                continue
            both = by_labeller[a].index.intersection(by_labeller[b].index)
            assert result.shared[i, j] == len(both)
            if len(both) < 5:
                assert math.isnan(result.kappa[i, j])
                continue
            expected = cohen_kappa_score(by_labeller[a][both], by_labeller[b][both])
            assert result.kappa[i, j] == pytest.approx(expected)
            checked += 1
    assert checked > 100


def test_pairwise_cohen_marks_pairs_below_min_shared_and_undefined_pairs_none() -> None:
    # Labellers 1 and 2 share 3 items with mixed labels; 1 and 3 share one item; 4 and 5 share
    # two items where both always say 0 (chance agreement 1: undefined).
    annotations = frame(
        [
            *[(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1), (3, 3, 0)],
            *[(4, 4, 0), (4, 5, 0), (5, 4, 0), (5, 5, 0)],
        ]
    )
    loose = pairwise_cohen(annotations, 2, min_shared=1)
    # Labellers 1, 2: table [[1, 1], [0, 1]]: po = 2/3, pe = (2/3)(1/3) + (1/3)(2/3) = 4/9,
    # kappa = (2/3 - 4/9) / (5/9) = 0.4.
    assert kappa_between(loose, 1, 2) == pytest.approx(0.4)
    assert kappa_between(loose, 1, 3) is None  # one shared item: chance agreement is 1
    assert kappa_between(loose, 4, 5) is None
    strict = pairwise_cohen(annotations, 2, min_shared=4)
    assert kappa_between(strict, 1, 2) is None
    as_dict = strict.to_dict()
    assert as_dict["labellers"] == [1, 2, 3, 4, 5]
    assert as_dict["shared"][0] == [3, 3, 1, 0, 0]
    assert all(v is None for row in as_dict["kappa"] for v in row)


def test_pairwise_cohen_leaves_out_unpaired_labellers_when_there_are_many() -> None:
    # Labellers 1 and 2 share 10 items; labeller 3 shares only one with each.
    rows = [(item, labeller, item % 2) for item in range(10) for labeller in (1, 2)]
    rows += [(0, 3, 1)]
    result = pairwise_cohen(frame(rows), 2, min_shared=10, max_labellers=2)
    assert result.labellers.tolist() == [1, 2]
    assert result.n_labellers_omitted == 1
    assert kappa_between(result, 1, 2) == pytest.approx(1.0)


def test_labeller_agreement_against_the_majority_of_the_other_labels() -> None:
    # Item 1: A=0, B=0, C=1. A's others are 0 and 1, a tie of two: A earns 1/2; so does B.
    #         C's others are 0, 0: majority 0, C earns 0.
    # Item 2: A=1, B=1: each other's reference is 1: 1 each.
    # Item 3: A=2 alone: no reference, not counted.
    annotations = frame([(1, 10, 0), (1, 11, 0), (1, 12, 1), (2, 10, 1), (2, 11, 1), (3, 10, 2)])
    result = labeller_agreement(annotations, 3).set_index("labeller")
    assert result.loc[10, "n"] == 2 and result.loc[10, "agree"] == pytest.approx(1.5)
    assert result.loc[11, "n"] == 2 and result.loc[11, "agree"] == pytest.approx(1.5)
    assert result.loc[12, "n"] == 1 and result.loc[12, "agree"] == 0
    assert result.loc[10, "rate"] == pytest.approx(0.75)
    # Wilson interval for 1.5 of 2: centre (p + z²/2n) / (1 + z²/n),
    # half-width z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
    p, n, z2 = 0.75, 2, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    assert result.loc[10, "low"] == pytest.approx(centre - half)
    assert result.loc[10, "high"] == pytest.approx(centre + half)
    assert "median_time_ms" not in result.columns


def test_a_reviewer_decision_is_the_reference_for_every_label_on_the_item() -> None:
    annotations = frame([(1, 10, 0), (1, 11, 0), (1, 12, 1), (2, 10, 1), (2, 11, 1), (3, 10, 2)])
    # Item 1 decided as class 1: A and B disagree with it, C agrees. Item 3 decided as 2: A's
    # lone label now has a reference and agrees. Item 99 is not annotated and changes nothing.
    decided = pd.Series({1: 1, 3: 2, 99: 0})
    result = labeller_agreement(annotations, 3, decided=decided).set_index("labeller")
    assert (result.loc[10, "n"], result.loc[10, "agree"]) == (3, 2.0)  # item 2, item 3
    assert (result.loc[11, "n"], result.loc[11, "agree"]) == (2, 1.0)  # item 2
    assert (result.loc[12, "n"], result.loc[12, "agree"]) == (1, 1.0)  # item 1


def test_labeller_agreement_matches_a_direct_leave_one_out_count() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for item in range(300):
        for labeller in rng.choice(8, size=rng.integers(1, 7), replace=False):
            rows.append((item, int(labeller), int(rng.integers(0, 3))))
    annotations = frame(rows)
    expected: dict[int, list[float]] = {}
    for _, group in annotations.groupby("item"):
        for position, (labeller, label) in enumerate(
            zip(group["labeller"], group["label"], strict=True)
        ):
            others = np.delete(group["label"].to_numpy(), position)
            if others.size == 0:
                continue
            votes = np.bincount(others, minlength=3)
            tied = np.flatnonzero(votes == votes.max())
            credit = 1 / tied.size if label in tied else 0.0
            expected.setdefault(int(labeller), []).append(credit)
    result = labeller_agreement(annotations, 3).set_index("labeller")
    for labeller, credits in expected.items():
        assert result.loc[labeller, "n"] == len(credits)
        assert result.loc[labeller, "agree"] == pytest.approx(sum(credits))


def test_labeller_agreement_reports_median_time_when_times_are_given() -> None:
    annotations = frame([(1, 10, 0), (1, 11, 0), (2, 10, 1), (2, 11, 0), (3, 10, 1)])
    annotations["time_ms"] = [100, 400, 300, 500, 900]
    result = labeller_agreement(annotations, 2).set_index("labeller")
    assert result.loc[10, "median_time_ms"] == pytest.approx(300.0)
    assert result.loc[11, "median_time_ms"] == pytest.approx(450.0)


def test_class_agreement_is_specific_agreement_from_coincidences() -> None:
    # Items (0,0), (1,1), (0,1): o00 = 2 of n0 = 3 → 2/3; o11 = 2 of n1 = 3 → 2/3.
    # Class 2 appears only alone on item 4 (not pairable); class 3 is never used.
    annotations = frame(
        [(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1), (4, 1, 2)]
    )
    result = class_agreement(annotations, 4)
    assert result["label"].tolist() == [0, 1, 2, 3]
    assert result["pairs"].tolist() == [3, 3, 0, 0]
    assert result["agreement"].tolist()[:2] == pytest.approx([2 / 3, 2 / 3])
    assert result["agreement"].tolist()[2:] == [None, None]


def test_confusions_rank_class_pairs_by_disagreeing_coincidence_mass() -> None:
    # Item (0,1): o01 = o10 = 1 → pair (0,1) mass 2.
    # Item (0,0,2,2): each of the 2·2 cross pairs weighs 1/(4-1) → o02 = o20 = 4/3 → mass 8/3.
    # Disagreeing total 14/3: shares 4/7 and 3/7.
    annotations = frame(
        [(1, 1, 0), (1, 2, 1), (2, 1, 0), (2, 2, 0), (2, 3, 2), (2, 4, 2), (3, 1, 3)]
    )
    result = confusions(annotations, 4)
    assert result[["label_a", "label_b"]].values.tolist() == [[0, 2], [0, 1]]
    assert result["count"].tolist() == pytest.approx([8 / 3, 2])
    assert result["share"].tolist() == pytest.approx([4 / 7, 3 / 7])
    assert len(confusions(annotations, 4, top=1)) == 1


def test_slice_agreement_computes_each_slice_on_its_own_items() -> None:
    # Slice a: items (0,0), (1,1), (0,1) → alpha 4/9 (as above), percent agreement 2/3.
    # Slice b: items (0,1), (1,0): o01 = o10 = 2, Do = 1, De = 2·2·2/12 = 2/3 → alpha -0.5;
    # percent agreement 0. Slice c has one single-label item. Item 9 has no slice.
    annotations = frame(
        [
            *[(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1)],
            *[(4, 1, 0), (4, 2, 1), (5, 1, 1), (5, 2, 0), (6, 1, 0), (9, 1, 0), (9, 2, 0)],
        ]
    )
    groups = pd.Series({1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "c"})
    result = slice_agreement(annotations, 2, groups, min_items=3).set_index("slice")
    assert result.loc["a", "alpha"] == pytest.approx(4 / 9)
    assert result.loc["a", "percent_agreement"] == pytest.approx(2 / 3)
    assert result.loc["b", "alpha"] == pytest.approx(-0.5)
    assert result.loc["b", "percent_agreement"] == pytest.approx(0.0)
    assert result["n_items"].to_dict() == {"a": 3, "b": 2, "c": 0}
    assert result["too_small"].to_dict() == {"a": False, "b": True, "c": True}
    assert result.loc["c", "alpha"] is None and result.loc["c", "reason"]
    assert result.loc["c", "percent_agreement"] is None


def test_report_bundles_the_figures_as_json() -> None:
    annotations = frame(
        [(1, 1, 0), (1, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 1), (4, 3, 2)]
    )
    report = agreement_report(annotations, 3, level="ordinal", min_shared=1)
    as_dict = report.to_dict()
    json.dumps(as_dict, allow_nan=False)
    assert as_dict["counts"] == {
        "items": 4,
        "labellers": 3,
        "annotations": 7,
        "items_with_2plus": 3,
    }
    assert as_dict["alpha_nominal"]["value"] == pytest.approx(4 / 9)
    assert as_dict["level"] == "ordinal"
    assert as_dict["alpha"]["value"] is not None
    assert as_dict["percent_agreement"]["value"] == pytest.approx(2 / 3)
    assert as_dict["fleiss"]["raters_per_item"] == 2
    assert as_dict["pairwise"]["labellers"] == [1, 2, 3]
    assert [row["labeller"] for row in as_dict["labellers"]] == [1, 2, 3]
    assert as_dict["labellers"][2]["rate"] is None  # labeller 3 only labelled a lone item
    assert [row["label"] for row in as_dict["classes"]] == [0, 1, 2]
    assert as_dict["confusions"] == [{"label_a": 0, "label_b": 1, "count": 2.0, "share": 1.0}]
    assert frame_records(report.classes) == as_dict["classes"]


# Edge cases


def test_one_labeller_only_gives_none_with_reasons() -> None:
    annotations = frame([(1, 7, 0), (2, 7, 1), (3, 7, 1)])
    report = agreement_report(annotations, 2)
    for statistic in (report.alpha, report.alpha_nominal, report.percent_agreement, report.fleiss):
        assert statistic.value is None and statistic.reason
    assert report.pairwise.to_dict()["kappa"] == [[None]]
    assert report.pairwise.to_dict()["shared"] == [[3]]
    assert report.labellers.loc[0, "n"] == 0 and report.labellers.loc[0, "rate"] is None
    assert report.classes["agreement"].tolist() == [None, None]
    assert report.confusions.empty
    json.dumps(report.to_dict(), allow_nan=False)


def test_items_with_a_single_label_each_give_none() -> None:
    annotations = frame([(1, 1, 0), (2, 2, 1), (3, 3, 1)])
    alpha = krippendorff_alpha(annotations, 2)
    assert alpha.value is None and alpha.n_items == 0 and alpha.reason
    assert fleiss_kappa(annotations, 2).value is None


def test_a_labeller_with_one_item_still_gets_a_rate() -> None:
    annotations = frame(
        [(i, labeller, i % 2) for i in range(12) for labeller in (1, 2)] + [(0, 3, 0)]
    )
    result = labeller_agreement(annotations, 2).set_index("labeller")
    assert (result.loc[3, "n"], result.loc[3, "agree"], result.loc[3, "rate"]) == (1, 1.0, 1.0)
    pairs = pairwise_cohen(annotations, 2)
    assert kappa_between(pairs, 1, 3) is None  # one shared item < min_shared
    assert kappa_between(pairs, 1, 2) == pytest.approx(1.0)


def test_unanimous_labellers_leave_chance_corrected_statistics_undefined() -> None:
    annotations = frame([(i, labeller, 2) for i in range(20) for labeller in (1, 2, 3)])
    report = agreement_report(annotations, 4, level="interval", min_shared=1)
    assert report.percent_agreement.value == 1.0
    for statistic in (report.alpha, report.alpha_nominal, report.fleiss):
        assert statistic.value is None and statistic.reason
    assert report.fleiss.observed == 1.0 and report.fleiss.expected == 1.0
    assert all(v is None for row in report.pairwise.to_dict()["kappa"] for v in row)
    assert report.labellers["rate"].tolist() == [1.0, 1.0, 1.0]
    kappa = cohen_kappa([[0, 0], [0, 20]], "quadratic")
    assert kappa.value is None and kappa.reason and kappa.n == 20
    json.dumps(report.to_dict(), allow_nan=False)


def test_cohen_kappa_of_an_empty_table_is_none() -> None:
    result = cohen_kappa([[0, 0], [0, 0]])
    assert (result.value, result.ase, result.ci95, result.n) == (None, None, None, 0)
    assert result.reason


def test_empty_annotations_give_an_empty_report() -> None:
    for empty in (frame([]), pd.DataFrame()):
        report = agreement_report(empty, 3)
        assert report.counts.to_dict() == {
            "items": 0,
            "labellers": 0,
            "annotations": 0,
            "items_with_2plus": 0,
        }
        assert report.alpha.value is None and report.alpha.reason
        assert report.pairwise.labellers.size == 0
        assert report.labellers.empty and report.confusions.empty
        assert report.classes["pairs"].tolist() == [0, 0, 0]
        json.dumps(report.to_dict(), allow_nan=False)
    assert percent_agreement(frame([])).value is None
    assert slice_agreement(frame([]), 2, pd.Series({1: "a"}))["n_items"].tolist() == [0]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(1, 1, 3)], "class code"),
        ([(1, 1, -1)], "class code"),
        ([(1, 1, 0), (1, 1, 1)], "repeated"),
    ],
)
def test_bad_annotations_are_refused_with_a_message(
    rows: list[tuple[int, int, int]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        agreement_report(frame(rows), 3)


def test_missing_columns_and_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="label"):
        krippendorff_alpha(pd.DataFrame({"item": [1], "labeller": [1]}), 2)
    with pytest.raises(ValueError, match="values"):
        krippendorff_alpha(frame([(1, 1, 0)]), 2, level="interval", values=[1, 1])
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(frame([(1, 1, 0)]), 2, level="cardinal")  # type: ignore[arg-type]
