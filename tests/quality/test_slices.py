"""Slice error analysis: the lecture's table, hand-computed HLP, rules, metadata slices and
the discovery of weak slices."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from quality.analysis import slices as slices_module
from quality.analysis.consensus import majority_vote
from quality.analysis.slices import (
    ALL_DATA,
    SliceDef,
    describe_rule,
    discover_slices,
    rule_mask,
    rule_slice,
    slice_masks,
    slice_table,
)

# The lecture's table: slice → (items of 5000, model correct, wrong labels of 3 per item).
LECTURE = {
    "Clean speech": (3000, 2820, 450),
    "Car noise": (200, 178, 42),
    "People noise": (1500, 1305, 495),
    "Low bandwidth": (300, 210, 270),
}


@pytest.fixture(autouse=True)
def _warnings_are_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def annotations_frame(rows: Sequence[tuple[int, int, int]]) -> pd.DataFrame:
    """(item, labeller, label) rows as an annotations frame."""
    return pd.DataFrame(list(rows), columns=["item", "labeller", "label"], dtype=np.int64)


def by_name(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["slice"]: row for row in frame.to_dict("records")}


@pytest.fixture(scope="module")
def lecture() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """5000 items with three labels each, a reviewer's decision where the labellers disagree,
    and a model whose accuracy and HLP per noise type are the lecture's."""
    k = 3
    rng = np.random.default_rng(7)
    noise: list[str] = []
    truth: list[int] = []
    correct: list[bool] = []
    wrong_label: list[bool] = []
    for name, (size, right, wrong) in LECTURE.items():
        noise += [name] * size
        truth += rng.integers(0, k, size).tolist()
        correct += [True] * right + [False] * (size - right)
        wrong_label += [True] * wrong + [False] * (size - wrong)
    order = rng.permutation(len(noise))
    ids = np.arange(100, 100 + len(noise), dtype=np.int64)
    rows: list[tuple[int, int, int]] = []
    for position, source in enumerate(order.tolist()):
        labellers = [(position + j) % 10 for j in range(3)]
        labels = [truth[source]] * 3
        if wrong_label[source]:
            labels[position % 3] = (truth[source] + 1) % k
        rows += [
            (int(ids[position]), lab, label) for lab, label in zip(labellers, labels, strict=True)
        ]
    annotations = annotations_frame(rows)
    consensus = majority_vote(annotations["item"], annotations["label"])
    reference = pd.Series(consensus.labels, index=consensus.item_ids).reindex(ids).to_numpy()
    decided = np.array([wrong_label[s] for s in order.tolist()])
    model_right = np.array([correct[s] for s in order.tolist()])
    # A reviewer settled every disagreement with the true class; elsewhere all three agree.
    true_label = np.array([truth[s] for s in order.tolist()])
    reference = np.where(decided, true_label, reference)
    items = pd.DataFrame(
        {
            "item": ids,
            "reference": reference,
            "decided": decided,
            "prediction": np.where(model_right, reference, (reference + 1) % k),
        }
    )
    metadata = pd.DataFrame({"noise": [noise[s] for s in order.tolist()]})
    return items, annotations, metadata


def test_the_lecture_table(lecture: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    items, annotations, metadata = lecture
    table = slice_table(items, annotations, slice_masks(metadata))
    rows = by_name(table.rows)
    expected = {
        # slice: (accuracy, HLP, gap, share, potential improvement)
        "Clean speech": (0.94, 0.95, 0.01, 0.60, 0.0060),
        "Car noise": (0.89, 0.93, 0.04, 0.04, 0.0016),
        "People noise": (0.87, 0.89, 0.02, 0.30, 0.0060),
        "Low bandwidth": (0.70, 0.70, 0.00, 0.06, 0.0),
    }
    for name, (accuracy, hlp, gap, share, potential) in expected.items():
        row = rows[f"noise = {name}"]
        assert row["accuracy"] == pytest.approx(accuracy, abs=1e-12), name
        assert row["hlp"] == pytest.approx(hlp, abs=1e-12), name
        assert row["gap"] == pytest.approx(gap, abs=1e-12), name
        assert row["share"] == pytest.approx(share, abs=1e-12), name
        assert row["potential_improvement"] == pytest.approx(potential, abs=1e-12), name
        size = LECTURE[name][0]
        assert (row["n_items"], row["accuracy_n"], row["hlp_n"]) == (size, size, 3 * size)
        assert not row["too_small"]
    # Largest potential first; the two 0.60% rows tie and the larger share comes first.
    assert table.rows["slice"].tolist() == [
        "noise = Clean speech",
        "noise = People noise",
        "noise = Car noise",
        "noise = Low bandwidth",
    ]
    overall = table.overall.iloc[0]
    assert overall["slice"] == ALL_DATA
    assert overall["n_items"] == 5000
    assert overall["accuracy"] == pytest.approx(4513 / 5000)
    assert overall["hlp"] == pytest.approx(13743 / 15000)
    assert overall["share"] == pytest.approx(1.0)
    payload = table.to_dict()
    assert payload["overall"]["slice"] == ALL_DATA
    assert [r["slice"] for r in payload["rows"]] == table.rows["slice"].tolist()


def test_rates_carry_the_wilson_interval_of_their_counts(
    lecture: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    items, annotations, metadata = lecture
    table = slice_table(items, annotations, slice_masks(metadata))
    for row in table.rows.to_dict("records"):
        low, high = proportion_confint(row["correct"], row["accuracy_n"], method="wilson")
        assert (row["accuracy_low"], row["accuracy_high"]) == pytest.approx((low, high))
        low, high = proportion_confint(row["hlp_agree"], row["hlp_n"], method="wilson")
        assert (row["hlp_low"], row["hlp_high"]) == pytest.approx((low, high))
        assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]


@pytest.fixture
def small() -> tuple[pd.DataFrame, pd.DataFrame, list[SliceDef]]:
    """Eight items whose HLP is worked out by hand in the comments."""
    rows = [
        # item 1, undecided, labels 0 0 1: each 0 sees {0, 1}, a tie it is part of (1/2); the 1
        # sees {0, 0} (0). 3 labels, credit 1.
        (1, 10, 0),
        (1, 11, 0),
        (1, 12, 1),
        # item 2, undecided, labels 0 1: each sees the other (0). 2 labels, credit 0.
        (2, 10, 0),
        (2, 11, 1),
        # item 3, undecided, one label: no reference, not counted.
        (3, 10, 2),
        # item 4, decided 1, one label 1: the decision is its reference. 1 label, credit 1.
        (4, 12, 1),
        # item 5, decided 1, labels 0 0 1: compared with the decision, not with each other.
        # 3 labels, credit 1.
        (5, 10, 0),
        (5, 11, 0),
        (5, 12, 1),
        # item 6, undecided, labels 0 1 2: each sees a tie it is not part of. 3 labels, credit 0.
        (6, 10, 0),
        (6, 11, 1),
        (6, 12, 2),
        # item 7, undecided, labels 0 0 1 1: each sees a majority of the other class. 4, 0.
        (7, 10, 0),
        (7, 11, 0),
        (7, 12, 1),
        (7, 13, 1),
        # item 8, undecided, labels 0 0: each sees the other. 2 labels, credit 2.
        (8, 10, 0),
        (8, 11, 0),
    ]
    items = pd.DataFrame(
        {
            "item": [1, 2, 3, 4, 5, 6, 7, 8],
            "reference": [0, 0, 2, 1, 1, 0, 0, 0],
            "decided": [False, False, False, True, True, False, False, False],
            # item 2 has no prediction
            "prediction": [0, -1, 1, 1, 1, 0, 1, 0],
        }
    )
    slices = [
        SliceDef("items 1-3", "rule", np.array([0, 1, 2])),
        SliceDef("decided", "rule", np.array([3, 4])),
        SliceDef("items 6-8", "tag", np.array([5, 6, 7])),
    ]
    return items, annotations_frame(rows), slices


def test_hlp_counts_leave_one_out_ties_and_decisions_by_hand(
    small: tuple[pd.DataFrame, pd.DataFrame, list[SliceDef]],
) -> None:
    items, annotations, slices = small
    table = slice_table(items, annotations, slices, min_items=1, min_labels=1)
    rows = by_name(table.rows)
    assert (rows["items 1-3"]["hlp_n"], rows["items 1-3"]["hlp_agree"]) == (5, 1.0)
    assert rows["items 1-3"]["hlp"] == pytest.approx(0.2)
    assert (rows["decided"]["hlp_n"], rows["decided"]["hlp_agree"]) == (4, 2.0)
    assert (rows["items 6-8"]["hlp_n"], rows["items 6-8"]["hlp_agree"]) == (9, 2.0)
    overall = table.overall.iloc[0]
    assert (overall["hlp_n"], overall["hlp_agree"]) == (18, 5.0)


def test_accuracy_counts_only_items_with_a_prediction_and_a_reference(
    small: tuple[pd.DataFrame, pd.DataFrame, list[SliceDef]],
) -> None:
    items, annotations, slices = small
    table = slice_table(items, annotations, slices, min_items=1, min_labels=1)
    rows = by_name(table.rows)
    # items 1-3: item 2 has no prediction; 1 right, 3 wrong.
    assert (rows["items 1-3"]["accuracy_n"], rows["items 1-3"]["correct"]) == (2, 1)
    assert rows["items 1-3"]["n_items"] == 3
    assert rows["items 1-3"]["share"] == pytest.approx(3 / 8)


def test_a_negative_gap_has_no_potential_improvement(
    small: tuple[pd.DataFrame, pd.DataFrame, list[SliceDef]],
) -> None:
    items, annotations, slices = small
    row = by_name(slice_table(items, annotations, slices).rows)["decided"]
    assert row["accuracy"] == 1.0
    assert row["hlp"] == pytest.approx(0.5)
    assert row["gap"] == pytest.approx(-0.5)
    assert row["potential_improvement"] == 0.0


def test_small_slices_are_marked_not_hidden(
    small: tuple[pd.DataFrame, pd.DataFrame, list[SliceDef]],
) -> None:
    items, annotations, slices = small
    table = slice_table(items, annotations, slices)
    assert len(table.rows) == 3
    assert table.rows["too_small"].all()
    relaxed = slice_table(items, annotations, slices, min_items=2, min_labels=5)
    assert not by_name(relaxed.rows)["items 1-3"]["too_small"]
    assert by_name(relaxed.rows)["decided"]["too_small"]  # 4 labels < 5


def test_a_slice_with_nothing_to_count_has_no_rates() -> None:
    items = pd.DataFrame({"item": [1, 2], "reference": [-1, 0], "prediction": [0, -1]})
    table = slice_table(
        items, annotations_frame([]), [SliceDef("first", "rule", np.array([0]))], min_items=1
    )
    row = table.rows.iloc[0]
    assert row["accuracy"] is None and row["hlp"] is None
    assert row["gap"] is None and row["potential_improvement"] is None
    assert row["accuracy_low"] is None
    assert table.to_dict()["rows"][0]["hlp"] is None


def test_bad_items_are_refused_with_a_reason() -> None:
    annotations = annotations_frame([(1, 1, 0)])
    with pytest.raises(ValueError, match="lacks the column"):
        slice_table(pd.DataFrame({"item": [1]}), annotations, [])
    twice = pd.DataFrame({"item": [1, 1], "reference": [0, 0], "prediction": [0, 0]})
    with pytest.raises(ValueError, match="twice"):
        slice_table(twice, annotations, [])
    items = pd.DataFrame({"item": [1], "reference": [0], "prediction": [0]})
    with pytest.raises(ValueError, match="refers to row 3"):
        slice_table(items, annotations, [SliceDef("x", "rule", np.array([3]))])
    with pytest.raises(ValueError, match="ascending"):
        SliceDef("x", "rule", np.array([2, 1]))


# --- Metadata slices and rules ------------------------------------------------------------------


@pytest.fixture
def metadata() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country": ["DE", "DE", "FR", "BR", None, "DE", "", "FR"],
            "score": [0.1, 0.5, 0.9, np.nan, 0.3, 0.7, 0.2, 0.8],
            "pages": ["3", "10", "7", "1", "12", "5", "8", "2"],  # numbers written as text
            "collected_at": [
                "2024-01-05",
                "2024-02-01",
                "2023-12-31",
                "2024-03-10",
                "2024-01-01",
                None,
                "2024-02-29",
                "2024-01-15",
            ],
            "text": ["hi", "hello there", "a much longer sentence", "", "hey", "ok", None, "yo!"],
        }
    )


def sizes(slices: list[SliceDef]) -> dict[str, int]:
    return {s.name: s.size for s in slices}


def test_a_categorical_field_gets_a_slice_per_value_and_one_for_blanks(
    metadata: pd.DataFrame,
) -> None:
    slices = slice_masks(metadata, fields=["country"])
    assert sizes(slices) == {
        "country = DE": 3,
        "country = FR": 2,
        "country = BR": 1,
        "country is missing": 2,
    }
    assert {s.source for s in slices} == {"metadata"}
    assert {s.field for s in slices} == {"country"}
    de = next(s for s in slices if s.name == "country = DE")
    assert de.index.tolist() == [0, 1, 5]


def test_values_beyond_max_values_share_an_other_slice(metadata: pd.DataFrame) -> None:
    slices = slice_masks(metadata, fields=["country"], max_values=1)
    assert sizes(slices) == {
        "country = DE": 3,
        "country = other (2 values)": 3,
        "country is missing": 2,
    }
    other = next(s for s in slices if s.name.startswith("country = other"))
    assert other.conditions is not None
    assert rule_mask(metadata, other.conditions).tolist() == other.mask(len(metadata)).tolist()


def test_a_numeric_field_is_cut_at_its_quantiles(metadata: pd.DataFrame) -> None:
    slices = slice_masks(metadata, fields=["score"], numeric_bins=2)
    # median of the seven present scores is 0.5: [0.1, 0.5) holds 3, [0.5, 0.9] holds 4.
    assert sizes(slices) == {
        "score in [0.1, 0.5)": 3,
        "score in [0.5, 0.9]": 4,
        "score is missing": 1,
    }
    for piece in slices:
        assert piece.conditions is not None
        assert rule_mask(metadata, piece.conditions).tolist() == piece.mask(8).tolist()


def test_numbers_written_as_text_are_numbers_unless_declared_categorical(
    metadata: pd.DataFrame,
) -> None:
    binned = slice_masks(metadata, fields=["pages"], numeric_bins=2)
    assert [s.name for s in binned] == ["pages in [1, 6)", "pages in [6, 12]"]
    assert sum(s.size for s in binned) == 8
    values = slice_masks(metadata, fields=["pages"], categorical=["pages"])
    assert len(values) == 8 and all(s.size == 1 for s in values)
    few = slice_masks(pd.DataFrame({"stars": [1, 2, 2, 3, 3, 3]}), numeric_bins=4)
    assert sizes(few) == {"stars = 1": 1, "stars = 2": 2, "stars = 3": 3}


def test_a_value_that_fills_a_bin_on_its_own_gets_its_own_slice() -> None:
    retries = pd.DataFrame({"retries": [0, 0, 0, 0, 0, 0, 1, 2, 3, 9]})
    slices = slice_masks(retries, numeric_bins=4)
    # quantiles 0, 0, 0, 1.75, 9: zero fills two bins and more.
    assert sizes(slices) == {
        "retries = 0": 6,
        "retries in (0, 1.75)": 1,
        "retries in [1.75, 9]": 3,
    }
    for piece in slices:
        assert piece.conditions is not None
        assert rule_mask(retries, piece.conditions).tolist() == piece.mask(10).tolist()


def test_text_fields_are_sliced_by_length(metadata: pd.DataFrame) -> None:
    slices = slice_masks(metadata, fields=[], text_fields=["text"], text_bins=2)
    # lengths of the six present texts: 2, 11, 22, 3, 2, 3 → median 3.
    assert sizes(slices) == {
        "len(text) in [2, 3)": 2,
        "len(text) in [3, 22]": 4,
        "len(text) is missing": 2,
    }
    assert {s.source for s in slices} == {"text_length"}
    assert all(s.conditions is None for s in slices)


def test_every_field_partitions_the_items(metadata: pd.DataFrame) -> None:
    slices = slice_masks(metadata, text_fields=["text"])
    for field in ["country", "score", "pages", "collected_at"]:
        members = np.concatenate([s.index for s in slices if s.field == field])
        assert sorted(members.tolist()) == list(range(8)), field


def test_rule_operators(metadata: pd.DataFrame) -> None:
    def rows(*conditions: Any) -> list[int]:
        return np.flatnonzero(rule_mask(metadata, list(conditions))).tolist()

    assert rows(("country", "=", "DE")) == [0, 1, 5]
    assert rows(("country", "!=", "DE")) == [2, 3, 7]  # blanks match only "is missing"
    assert rows(("country", "in", ["FR", "BR"])) == [2, 3, 7]
    assert rows(("country", "not in", ["FR", "BR"])) == [0, 1, 5]
    assert rows(("country", "is missing")) == [4, 6]
    assert rows(("country", "is not missing", None)) == [0, 1, 2, 3, 5, 7]
    assert rows(("score", "<", 0.3)) == [0, 6]
    assert rows(("score", "<=", 0.3)) == [0, 4, 6]
    assert rows(("score", ">", "0.7")) == [2, 7]  # a number written as text
    assert rows(("score", ">=", 0.7)) == [2, 5, 7]
    assert rows(("pages", ">", 9)) == [1, 4]  # numeric, not alphabetical
    assert rows(("pages", "=", 10)) == [1]
    assert rows(("collected_at", ">=", "2024-02-01")) == [1, 3, 6]
    assert rows(("text", "contains", "HE")) == [1, 4]
    assert rows(("country", "=", "DE"), ("score", ">", 0.2)) == [1, 5]
    assert rows(["country", "NOT  IN", ["DE"]]) == [2, 3, 7]


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([("nation", "=", "DE")], "unknown field 'nation'; the items have: collected_at"),
        ([("country", "~", "DE")], "unknown operator '~'.*use one of: =, !=, <"),
        ([("score", "<", "high")], "'score' holds numbers, so '<' needs a number, not 'high'"),
        ([("score", "=", True)], "'score' holds numbers"),
        ([("country", "<", 5)], "'country' holds text"),
        ([("country", "in", "DE")], "'in' on 'country' needs a list of values"),
        ([("text", "contains", 3)], "'contains' on 'text' needs a piece of text"),
        ([("country", "is missing", "x")], "'is missing' takes no value"),
        ([("country", "=")], "needs a value; use 'is missing'"),
        ([("country", "=", ["DE"])], "needs a single value"),
        ([], "at least one condition"),
        (["country = DE"], r"a condition is \[field, operator, value\]"),
    ],
)
def test_rule_errors_explain_themselves(
    metadata: pd.DataFrame, conditions: list[Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rule_mask(metadata, conditions)


def test_a_rule_slice_is_named_after_its_conditions(metadata: pd.DataFrame) -> None:
    conditions = [("country", "in", ["DE", "FR"]), ("score", "<", 0.6)]
    piece = rule_slice(metadata, conditions)
    assert piece.name == "country in (DE, FR) and score < 0.6"
    assert piece.source == "rule"
    assert piece.index.tolist() == [0, 1]
    assert describe_rule([("country", "is missing", None)]) == "country is missing"
    assert rule_slice(metadata, conditions, name="Mine").name == "Mine"


# --- Discovery ----------------------------------------------------------------------------------


def planted(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Six fields; the model errs 60% of the time on phones in Brazil and 10% elsewhere."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        {
            "device": rng.choice(["phone", "tablet", "desktop"], n),
            "country": rng.choice(["BR", "DE", "US", "FR", "IN"], n),
            "browser": rng.choice(["chrome", "firefox", "safari", "edge"], n),
            "os": rng.choice(["android", "ios", "windows"], n),
            "score": rng.random(n),
            "hour": rng.integers(0, 24, n),
        }
    )
    weak = (features["device"] == "phone") & (features["country"] == "BR")
    errors = (rng.random(n) < np.where(weak, 0.6, 0.1)).astype(float)
    return features, errors


def test_discovery_finds_a_planted_two_field_slice() -> None:
    features, errors = planted(20_000, seed=3)
    found = discover_slices(features, errors, top_k=5)
    top = found[0]
    assert top.predicates == ("device = phone", "country = BR")
    weak = (features["device"] == "phone") & (features["country"] == "BR")
    assert top.index.tolist() == np.flatnonzero(weak).tolist()
    assert top.size == int(weak.sum())
    assert top.error_rate == pytest.approx(errors[weak].mean())
    assert top.conditions == (("device", "=", "phone"), ("country", "=", "BR"))
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert top.to_dict()["name"] == "device = phone and country = BR"
    table = slice_table(
        pd.DataFrame(
            {"item": np.arange(len(errors)), "reference": 0, "prediction": errors.astype(int)}
        ),
        annotations_frame([]),
        [top.as_slice()],
    )
    assert table.rows.iloc[0]["accuracy"] == pytest.approx(1 - top.error_rate)


def test_discovery_is_deterministic_and_ignores_row_order() -> None:
    features, errors = planted(20_000, seed=5)
    first = discover_slices(features, errors)
    again = discover_slices(features, errors)
    order = np.random.default_rng(0).permutation(len(errors))
    shuffled = discover_slices(features.iloc[order].reset_index(drop=True), errors[order])

    def summary(found: list[Any]) -> list[tuple[str, int, float]]:
        return [(s.name, s.size, round(s.score, 9)) for s in found]

    assert summary(first) == summary(again) == summary(shuffled)
    assert len(first) == 10


def brute_force(
    features: pd.DataFrame, errors: np.ndarray, *, max_level: int, min_support: int, alpha: float
) -> list[tuple[float, frozenset[tuple[str, Any]]]]:
    """Every conjunction of up to max_level (field = value) predicates, scored."""
    n, mean = len(errors), errors.mean()
    scored = []
    frame = features.assign(_e=errors)
    for level in range(1, max_level + 1):
        for fields in itertools.combinations(features.columns, level):
            groups = frame.groupby(list(fields))["_e"].agg(["size", "sum"])
            for key, (size, total) in groups.iterrows():
                values = key if isinstance(key, tuple) else (key,)
                score = alpha * ((total / size) / mean - 1) - (1 - alpha) * (n / size - 1)
                if size >= min_support and score > 0:
                    scored.append((score, frozenset(zip(fields, values, strict=True))))
    return sorted(scored, key=lambda pair: -pair[0])


@pytest.mark.parametrize("dense_cells", [slices_module.MAX_DENSE_CELLS, 1])
@pytest.mark.parametrize("graded", [False, True])
def test_discovery_pruning_keeps_the_exact_top_slices(
    monkeypatch: pytest.MonkeyPatch, dense_cells: int, graded: bool
) -> None:
    # dense_cells=1 counts every combination of fields sparsely; graded errors lie in 0..1.
    monkeypatch.setattr(slices_module, "MAX_DENSE_CELLS", dense_cells)
    rng = np.random.default_rng(11)
    n = 3000
    features = pd.DataFrame(
        {name: rng.choice(list("abc")[: 2 + i % 2], n) for i, name in enumerate("pqrs")}
    )
    rate = 0.15 + 0.25 * (features["p"] == "a") * (features["q"] == "b")
    errors = rng.random(n) * 2 * rate if graded else (rng.random(n) < rate).astype(float)
    found = discover_slices(features, errors, max_level=3, top_k=8, min_support=40, alpha=0.9)
    expected = brute_force(features, errors, max_level=3, min_support=40, alpha=0.9)[:8]
    assert [s.score for s in found] == pytest.approx([score for score, _ in expected])
    assert {frozenset(s.conditions or ()) for s in found} == {
        frozenset((field, "=", value) for field, value in predicates) for _, predicates in expected
    }


def test_discovery_bins_numbers_and_leaves_out_rows_without_an_error() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    score = rng.random(n)
    errors = (rng.random(n) < np.where(score >= 0.75, 0.5, 0.05)).astype(float)
    errors[:100] = np.nan
    found = discover_slices(pd.DataFrame({"score": score}), errors, max_level=1, top_k=1)
    assert found[0].name.startswith("score in [0.75")
    assert found[0].name.endswith("]")
    assert not set(found[0].index.tolist()) & set(range(100))
    assert discover_slices(pd.DataFrame({"score": score}), np.zeros(n)) == []
    with pytest.raises(ValueError, match="one per row"):
        discover_slices(pd.DataFrame({"score": score}), np.zeros(3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        discover_slices(pd.DataFrame({"score": score}), np.full(n, 2.0))
