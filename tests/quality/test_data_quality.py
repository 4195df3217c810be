"""Data-quality report: hand-made frames with known missing values, kinds, summaries,
duplicates, near duplicates, label conflicts, class balance, rules and warnings."""

from __future__ import annotations

import itertools
import json
import math
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from quality.analysis.data_quality import (
    MAX_EXAMPLES,
    RuleError,
    quality_report,
    validate_rules,
)

WORDS = [
    *("amber", "basil", "cedar", "delta", "ember", "fable", "garnet", "harbor", "indigo"),
    *("juniper", "kestrel", "lumen", "meadow", "nectar", "opal", "pepper", "quartz", "raven"),
    *("saffron", "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr", "anchor"),
    *("beacon", "cobalt", "dune", "falcon", "glacier", "hollow", "island", "jasper", "lagoon"),
]


def sentence(seed: int, words: int = 14) -> str:
    """A sentence of dictionary words that shares no long run with another seed's."""
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, size=words)).capitalize() + "."


@pytest.fixture(autouse=True)
def _no_runtime_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# --- A reference for near duplicates, written plainly -------------------------------------------


def fold(text: str) -> bytes:
    lowered = text.lower()
    spaced = "".join(
        c if (c.isascii() and c.isalnum()) or not c.isascii() else " " for c in lowered
    )
    return " ".join(spaced.split()).encode("utf-8")


def shingles(folded: bytes) -> set[bytes]:
    if len(folded) < 8:
        return {folded.ljust(8, b"\x00")}
    return {folded[i : i + 8] for i in range(len(folded) - 7)}


def cosine(a: str, b: str) -> float:
    sa, sb = shingles(fold(a)), shingles(fold(b))
    return len(sa & sb) / math.sqrt(len(sa) * len(sb))


def reference_groups(texts: list[str], threshold: float) -> list[list[int]]:
    """Rows linked by folding alike or a shingle cosine ≥ threshold, groups of two or more
    different texts, each as sorted rows."""
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(texts)), 2):
        if fold(texts[i]) == fold(texts[j]) or cosine(texts[i], texts[j]) >= threshold:
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return sorted(g for g in groups.values() if len({texts[i] for i in g}) > 1)


# --- Missing values and kinds -------------------------------------------------------------------


@pytest.fixture
def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["A fine day", None, "", "   ", "Rain again", "Sun", "Snow", "Fog"],
            "country": ["DE", "FR", None, "DE", "DE", np.nan, "IT", "FR"],
            "score": [0.5, "0.25", 1, None, "2e-1", 0.75, "1.5", 0.0],
            "flag": [True, False, None, True, "true", False, True, True],
            "nothing": [None, "", np.nan, None, " ", None, None, None],
        }
    )


def test_missing_values_count_none_nan_and_blank_text(mixed: pd.DataFrame) -> None:
    report = quality_report(mixed, text_fields=["text"])
    missing = {f.name: f.missing for f in report.fields}
    assert missing == {"text": 3, "country": 2, "score": 1, "flag": 1, "nothing": 8}
    assert report.field("text").missing_share == pytest.approx(3 / 8)
    assert report.complete_rows == 0  # no row has "nothing"
    without = quality_report(mixed.drop(columns="nothing"), text_fields=["text"])
    assert without.complete_rows == 4  # rows 0, 4, 6 and 7


def test_kinds_are_inferred_and_can_be_given(mixed: pd.DataFrame) -> None:
    report = quality_report(mixed)
    kinds = {f.name: f.kind for f in report.fields}
    assert kinds == {
        "text": "categorical",  # short, few words
        "country": "categorical",
        "score": "numeric",  # numbers written as text count
        "flag": "boolean",  # booleans and the text "true"
        "nothing": "empty",
    }
    assert not any(f.kind_given for f in report.fields)
    given = quality_report(mixed, text_fields=["text"], kinds={"score": "categorical"})
    assert given.field("text").kind == "text" and given.field("text").kind_given
    assert given.field("score").kind == "categorical"
    long = pd.DataFrame({"review": [sentence(i) for i in range(30)]})
    assert quality_report(long).field("review").kind == "text"


def test_a_few_non_numbers_leave_a_field_numeric_and_are_counted() -> None:
    values: list[Any] = [str(i) for i in range(19)] + ["n/a", None]
    report = quality_report(pd.DataFrame({"age": values}))
    profile = report.field("age")
    assert profile.kind == "numeric"
    assert profile.numeric is not None
    assert profile.numeric.count == 19
    assert profile.numeric.non_numeric == 1
    assert profile.distinct == 20  # 19 numbers and "n/a"
    assert "age: 1 value not a number" in report.warnings
    # Below 90% numbers the field is categorical.
    mostly_text = quality_report(pd.DataFrame({"code": ["1", "2", "x", "y", "z"]}))
    assert mostly_text.field("code").kind == "categorical"


# --- Summaries ----------------------------------------------------------------------------------


def test_numeric_summary_equals_numpy() -> None:
    rng = np.random.default_rng(5)
    values = rng.lognormal(2.0, 1.0, size=1000)
    stored: list[Any] = [repr(float(v)) if i % 3 else float(v) for i, v in enumerate(values)]
    stored[10] = None
    expected = np.delete(values, 10)
    summary = quality_report(pd.DataFrame({"price": stored})).field("price").numeric
    assert summary is not None
    assert summary.count == 999 and summary.non_numeric == 0
    assert summary.min == expected.min() and summary.max == expected.max()
    assert summary.mean == pytest.approx(expected.mean(), rel=1e-12)
    assert summary.std == pytest.approx(expected.std(ddof=1), rel=1e-12)
    quantiles = np.quantile(expected, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    assert list(summary.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    assert np.allclose(list(summary.quantiles.values()), quantiles, rtol=1e-12)
    histogram = summary.histogram
    assert histogram is not None
    assert sum(histogram.counts) == 999
    assert len(histogram.edges) == len(histogram.counts) + 1 == 21
    assert histogram.edges[0] == expected.min() and histogram.edges[-1] == expected.max()
    assert np.all(np.diff(histogram.edges) > 0)
    # Inner edges are equal steps between the 1st and 99th percentiles.
    assert np.allclose(np.diff(histogram.edges[1:-1]), (quantiles[-1] - quantiles[0]) / 20)


def test_whole_numbers_get_one_histogram_bin_each() -> None:
    ratings = [1, 2, 2, 3, 3, 3, 5, 5]
    summary = quality_report(pd.DataFrame({"stars": ratings})).field("stars").numeric
    assert summary is not None and summary.histogram is not None
    assert summary.histogram.edges == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert summary.histogram.counts == (1, 2, 3, 0, 2)
    single = quality_report(pd.DataFrame({"x": [0.5]})).field("x").numeric
    assert single is not None and single.std is None and single.histogram is not None
    assert single.histogram.counts == (1,)


def test_category_counts_top_values_and_other() -> None:
    values = ["b"] * 5 + ["a"] * 3 + ["c"] * 3 + ["d"] * 2 + ["e"] + [None, ""]
    report = quality_report(pd.DataFrame({"tag": values}), max_categories=3)
    categories = report.field("tag").categories
    assert categories is not None
    # Ties (a and c, 3 each) in text order.
    assert [(c.value, c.count) for c in categories.top] == [("b", 5), ("a", 3), ("c", 3)]
    assert categories.top[0].share == pytest.approx(5 / 14)
    assert categories.other_count == 3 and categories.other_values == 2
    assert categories.other_share == pytest.approx(3 / 14)
    assert report.field("tag").distinct == 5


def test_numbers_booleans_and_json_values_count_as_one_text() -> None:
    values = [1, 1.0, "1", True, "true", [1, 2], {"b": 1, "a": 2}, {"a": 2, "b": 1}]
    report = quality_report(pd.DataFrame({"v": values}), kinds={"v": "categorical"})
    categories = report.field("v").categories
    assert categories is not None
    assert {c.value: c.count for c in categories.top} == {
        "1": 3,
        "true": 2,
        '{"a": 2, "b": 1}': 2,
        "[1, 2]": 1,
    }


def test_text_length_distribution() -> None:
    texts = ["one", "two words", "three short words", "é é é é", None, sentence(1, 30)]
    summary = quality_report(pd.DataFrame({"t": texts}), text_fields=["t"]).field("t").text
    assert summary is not None
    lengths = np.array([len(t) for t in texts if t is not None], dtype=float)
    assert summary.count == 5
    assert summary.length_min == 3 and summary.length_max == lengths.max()
    assert summary.length_median == np.median(lengths)
    assert summary.length_mean == pytest.approx(lengths.mean())
    assert summary.length_p95 == pytest.approx(np.quantile(lengths, 0.95))
    assert summary.words_median == 3.0  # 1, 2, 3, 4, 30
    assert summary.histogram is not None and sum(summary.histogram.counts) == 5


def test_class_balance() -> None:
    labels = ["pos"] * 60 + ["neg"] * 2 + ["neutral"] * 18 + [None] * 20
    frame = pd.DataFrame({"text": [sentence(i) for i in range(100)]})
    balance = quality_report(frame, labels=labels, label_classes=["pos", "neg", "neutral", "spam"])
    result = balance.class_balance
    assert result is not None
    assert (result.labelled, result.unlabelled, result.n_classes) == (80, 20, 4)
    assert [(c.value, c.count) for c in result.classes] == [
        ("pos", 60),
        ("neutral", 18),
        ("neg", 2),
        ("spam", 0),
    ]
    assert result.classes[0].share == pytest.approx(0.75)
    assert result.imbalance_ratio == pytest.approx(30.0)
    assert result.balance == pytest.approx(entropy([60, 18, 2, 0]) / math.log(4))
    assert result.empty_classes == ("spam",)
    assert "label: 'neg' has 30× fewer items than 'pos'" in balance.warnings
    assert "label: no items for 'spam'" in balance.warnings
    assert "label: 20% of rows unlabelled" in balance.warnings
    one_class = quality_report(frame, labels=["pos"] * 100).class_balance
    assert one_class is not None
    assert one_class.imbalance_ratio is None and one_class.balance is None
    unexpected = quality_report(frame, labels=["a", "b"] * 50, label_classes=["a"]).class_balance
    assert unexpected is not None and unexpected.unexpected == ("b",)


# --- Duplicates ---------------------------------------------------------------------------------


def test_exact_duplicates_and_label_conflicts() -> None:
    texts = ["Buy now", "Hello there", "Buy now", "Other", "Buy now", "Hello there", None, None]
    labels = ["spam", "ham", "ham", "ham", "spam", "ham", "ham", "spam"]
    report = quality_report(
        pd.DataFrame({"text": texts, "source": list("abcdefgh")}),
        text_fields=["text"],
        labels=labels,
    )
    duplicates = report.duplicates
    assert duplicates.fields == ("text",)  # the text, not the source
    assert (duplicates.groups, duplicates.rows, duplicates.redundant) == (2, 5, 3)
    assert [g.rows for g in duplicates.examples] == [(0, 2, 4), (1, 5)]
    assert duplicates.examples[0].texts == ("Buy now",)
    conflicts = report.label_conflicts
    assert conflicts is not None
    assert (conflicts.groups, conflicts.rows) == (1, 3)
    assert conflicts.examples[0].rows == (0, 2, 4)
    assert [(c.value, c.count) for c in conflicts.examples[0].labels] == [("spam", 2), ("ham", 1)]
    assert "1 exact duplicate text with different labels (3 rows)" in report.warnings


def test_without_text_fields_whole_rows_are_compared() -> None:
    frame = pd.DataFrame({"a": [1, "1", 1.0, 2, None, None], "b": ["x", "x", "x", "x", None, None]})
    report = quality_report(frame)
    assert report.duplicates.fields == ("a", "b")
    # 1, "1" and 1.0 are one value; rows missing every field are not duplicates.
    assert [g.rows for g in report.duplicates.examples] == [(0, 1, 2)]
    assert report.near_duplicates is None
    assert report.notes == ("near duplicates not searched: no text field",)


def test_near_duplicates_fold_case_punctuation_and_spacing() -> None:
    texts = ["Great product!", "great product", "Great  product!!", "Awful.", "Awful.", "Meh"]
    report = quality_report(pd.DataFrame({"review": texts}), text_fields=["review"])
    near = report.near_duplicates
    assert near is not None
    # Copies of one text ("Awful.") are exact duplicates, not near ones.
    assert (near.groups, near.rows) == (1, 3)
    assert near.examples[0].rows == (0, 1, 2)
    assert near.examples[0].texts == ("Great product!", "great product", "Great  product!!")
    assert near.texts == 3 and not near.sampled
    assert "1 group of near-duplicate texts (3 rows)" in report.warnings


def test_near_duplicates_match_a_plain_reference() -> None:
    texts: list[str] = []
    for seed in range(8):
        base = sentence(seed, words=16)
        texts.append(base)
        if seed % 2 == 0:
            texts.append(base.upper())  # folds alike
        if seed % 3 == 0:
            texts.append(base[:-1] + " indeed.")  # a few shingles more
        if seed % 4 == 0:
            words = base.split()
            words[len(words) // 2] = "zzzzzz"
            texts.append(" ".join(words))  # an edit in the middle
        if seed == 5:
            texts.append(base[: len(base) // 2])  # half of it: not a near duplicate
    expected = reference_groups(texts, 0.9)
    assert 2 <= len(expected) <= MAX_EXAMPLES
    # The plain reference must see both sides of the threshold for the test to mean something.
    cosines = [cosine(a, b) for a, b in itertools.combinations(texts, 2) if fold(a) != fold(b)]
    assert any(0.9 <= c < 1 for c in cosines) and any(0.5 < c < 0.9 for c in cosines)
    near = quality_report(pd.DataFrame({"t": texts}), text_fields=["t"]).near_duplicates
    assert near is not None
    assert sorted(list(g.rows) for g in near.examples) == expected
    assert near.groups == len(expected)
    assert near.rows == sum(len(g) for g in expected)


def test_near_duplicates_in_several_text_fields_are_searched_together() -> None:
    title = ["Broken lid", "broken lid", "Other"]
    body = [sentence(1, 20), sentence(1, 20) + "!", sentence(2, 20)]
    report = quality_report(
        pd.DataFrame({"title": title, "body": body}), text_fields=["title", "body"]
    )
    near = report.near_duplicates
    assert near is not None and near.fields == ("title", "body")
    assert [g.rows for g in near.examples] == [(0, 1)]
    assert near.examples[0].texts[0] == f"Broken lid\n{body[0]}"


def test_near_duplicate_search_samples_above_the_limit() -> None:
    texts = [sentence(i, 10) for i in range(300)] + ["Same text!", "same text"]
    report = quality_report(pd.DataFrame({"t": texts}), near_duplicate_limit=50)
    near = report.near_duplicates
    assert near is not None
    assert near.sampled and near.texts == 301 and near.texts_searched == 50
    assert "random sample of 50 of the 301" in near.note
    assert any("random sample" in note for note in report.notes)
    # Texts that fold alike are found among all rows, sample or not.
    assert [g.rows for g in near.examples] == [(300, 301)]
    assert any(w.endswith("in a sample") for w in report.warnings)


# --- Rules --------------------------------------------------------------------------------------


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a2", "a5", "a6"],
            "country": ["DE", "FR", "XX", None, "de", "DE"],
            "score": [0.1, "0.9", 1.5, None, "high", -0.2],
            "text": ["fine", "ok", "", "a long enough text", "x", "good"],
            "email": ["a@b.de", "nope", "c@d.fr", None, "e@f", "g@h.com"],
            "code": [1, "1", 2, 3, 1.0, None],
        }
    )


RULE_CASES: list[tuple[dict[str, Any], list[int], list[Any]]] = [
    ({"field": "country", "check": "required"}, [3], [None]),
    ({"field": "country", "check": "allowed", "values": ["DE", "FR"]}, [2, 4], ["XX", "de"]),
    ({"field": "code", "check": "allowed", "values": [1, "2"]}, [3], [3]),
    ({"field": "score", "check": "range", "min": 0, "max": 1}, [2, 4, 5], [1.5, "high", -0.2]),
    ({"field": "score", "check": "range", "min": 0}, [4, 5], ["high", -0.2]),
    (
        {"field": "text", "check": "length", "min": 2, "max": 10},
        [3, 4],
        ["a long enough text", "x"],
    ),
    ({"field": "id", "check": "unique"}, [1, 3], ["a2", "a2"]),
    ({"field": "code", "check": "unique"}, [0, 1, 4], [1, "1", 1.0]),
    (
        {"field": "email", "check": "pattern", "regex": r"[^@\s]+@[^@\s]+\.[a-z]+"},
        [1, 4],
        ["nope", "e@f"],
    ),
    # Python syntax RE2 lacks (look-ahead) still works.
    (
        {"field": "email", "check": "pattern", "regex": r"(?=.*\.com$).*"},
        [0, 1, 2, 4],
        ["a@b.de", "nope", "c@d.fr", "e@f"],
    ),
]


@pytest.mark.parametrize(("rule", "rows", "values"), RULE_CASES)
def test_rule_violations_are_counted_with_examples(
    people: pd.DataFrame, rule: dict[str, Any], rows: list[int], values: list[Any]
) -> None:
    [result] = quality_report(people, rules=[rule], near_duplicates=False).rules
    assert not result.passed
    assert result.violations == len(rows)
    assert result.share == pytest.approx(len(rows) / len(people))
    assert [v.row for v in result.examples] == rows
    assert [v.value for v in result.examples] == values
    assert result.to_dict()["rule"]["check"] == rule["check"]


PASSING_RULES: list[dict[str, Any]] = [
    {"field": "id", "check": "required"},
    {"field": "country", "check": "allowed", "values": ["DE", "FR", "XX", "de"]},
    {"field": "score", "check": "range", "max": 2},
    {"field": "text", "check": "length", "max": 100},
    {"field": "email", "check": "unique"},
    {"field": "id", "check": "pattern", "regex": "a[0-9]"},
]


def test_rules_that_hold_pass(people: pd.DataFrame) -> None:
    people = people.assign(score=[0.1, "0.9", 1.5, None, 1, -0.2])
    results = quality_report(people, rules=PASSING_RULES).rules
    assert [(r.passed, r.violations, r.examples) for r in results] == [(True, 0, ())] * 6
    assert [r.name for r in results] == [
        "id required",
        "country in (DE, FR, XX, de)",
        "score ≤ 2",
        "len(text) ≤ 100",
        "email unique",
        "id matches a[0-9]",
    ]


def test_examples_stop_at_ten() -> None:
    frame = pd.DataFrame({"n": list(range(25))})
    [result] = quality_report(frame, rules=[{"field": "n", "check": "range", "max": 2}]).rules
    assert result.violations == 22
    assert [v.row for v in result.examples] == list(range(3, 13))


BAD_RULES: list[tuple[Any, str]] = [
    (
        [{"field": "contry", "check": "required"}],
        "rule 1 (required on 'contry'): unknown field 'contry'; "
        "the fields are: code, country, email, id, score, text",
    ),
    (
        [{"field": "country", "check": "requird"}],
        "rule 1: unknown check 'requird'; "
        "use one of: required, allowed, range, length, unique, pattern",
    ),
    (
        [{"field": "country", "check": "allowed"}],
        "rule 1 (allowed on 'country'): "
        "'values' must be a non-empty list of text, numbers or booleans",
    ),
    ([{"field": "country", "check": "allowed", "values": []}], "'values' must be a non-empty list"),
    (
        [{"field": "score", "check": "range"}],
        "rule 1 (range on 'score'): give 'min', 'max' or both",
    ),
    (
        [{"field": "score", "check": "range", "min": 5, "max": 1}],
        "rule 1 (range on 'score'): 'min' (5) is greater than 'max' (1)",
    ),
    ([{"field": "score", "check": "range", "min": "low"}], "'min' must be a number, not 'low'"),
    (
        [{"field": "text", "check": "length", "min": -1}],
        "'min' must be a whole number of characters, 0 or more",
    ),
    (
        [{"field": "email", "check": "pattern"}],
        "rule 1 (pattern on 'email'): 'regex' must be a non-empty regular expression",
    ),
    (
        [{"field": "email", "check": "pattern", "regex": "(ab"}],
        "rule 1 (pattern on 'email'): "
        "bad regex '(ab': missing ), unterminated subpattern at position 0",
    ),
    (
        [{"field": "id", "check": "unique", "values": [1]}],
        "rule 1 (unique on 'id'): unknown key 'values'; a unique rule takes no parameters",
    ),
    (["required"], "rule 1 must be an object with 'field' and 'check'"),
    ({"field": "id", "check": "unique"}, "rules must be a list of rules"),
]


@pytest.mark.parametrize(("rules", "message"), BAD_RULES)
def test_bad_rules_are_rejected_with_a_message(
    people: pd.DataFrame, rules: Any, message: str
) -> None:
    with pytest.raises(RuleError, match=re.escape(message)):
        validate_rules(rules, people.columns)
    with pytest.raises(ValueError, match=re.escape(message)):
        quality_report(people, rules=rules)


def test_validate_rules_lists_every_problem_and_normalises() -> None:
    rules = [
        {"field": "a", "check": "range", "min": 1, "max": 0},
        {"field": "b", "check": "required"},
        {"field": "nope", "check": "unique"},
    ]
    with pytest.raises(RuleError) as caught:
        validate_rules(rules, ["a", "b"])
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("rule 1 ")
    assert caught.value.problems[1].startswith("rule 3 ")
    normal = validate_rules(
        [
            {"field": "a", "check": "range", "min": 1, "max": 2, "name": "a in 1..2"},
            {"field": "b", "check": "length", "max": 5.0},
            {"field": "b", "check": "allowed", "values": ("x", 1)},
        ],
        None,  # fields unknown yet: not checked
    )
    assert normal == [
        {"field": "a", "check": "range", "min": 1.0, "max": 2.0, "name": "a in 1..2"},
        {"field": "b", "check": "length", "max": 5},
        {"field": "b", "check": "allowed", "values": ["x", 1]},
    ]


# --- The report ---------------------------------------------------------------------------------


def test_to_dict_is_json_without_nan(people: pd.DataFrame) -> None:
    frame = people.assign(
        wild=[np.inf, -np.inf, np.nan, 1.0, 2.0, 3.0],
        blank=[np.nan] * 6,
        stamp=pd.to_datetime(["2024-01-01", None, "2024-02-01", "2024-02-01", None, None]),
    )
    report = quality_report(
        frame,
        text_fields=["text"],
        labels=np.array([1, 2, 1, None, 2, 1], dtype=object),
        rules=[r for r, _, _ in RULE_CASES],
    )
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert json.loads(text)["rows"] == 6
    wild = report.field("wild")
    assert wild.kind == "numeric" and wild.numeric is not None
    assert wild.numeric.non_numeric == 2  # the infinities
    assert report.field("blank").kind == "empty"
    assert report.field("stamp").kind == "categorical"


def test_an_empty_frame_gives_an_empty_report() -> None:
    frame = pd.DataFrame({"text": pd.Series([], dtype=object), "n": pd.Series([], dtype=float)})
    report = quality_report(
        frame,
        text_fields=["text"],
        labels=[],
        rules=[{"field": "n", "check": "range", "min": 0}, {"field": "text", "check": "required"}],
    )
    assert report.rows == 0 and report.complete_rows == 0
    assert [(f.name, f.kind, f.missing, f.distinct) for f in report.fields] == [
        ("text", "text", 0, 0),
        ("n", "empty", 0, 0),
    ]
    assert report.duplicates.groups == 0
    assert report.near_duplicates is None
    assert [(r.passed, r.violations, r.share) for r in report.rules] == [(True, 0, None)] * 2
    assert report.class_balance is not None and report.class_balance.labelled == 0
    assert report.warnings == ()
    json.dumps(report.to_dict(), allow_nan=False)
    nothing = quality_report(pd.DataFrame())
    assert nothing.rows == 0 and nothing.fields == ()
    json.dumps(nothing.to_dict(), allow_nan=False)


def test_warnings_say_what_needs_attention() -> None:
    n = 100
    texts: list[Any] = [sentence(i) for i in range(n)]
    texts[:12] = [None] * 12
    texts[20] = texts[21] = "Exactly the same words"
    labels = ["pos"] * 90 + ["neg"] * 3 + ["pos"] * 7
    labels[21] = "neg"
    frame = pd.DataFrame({"text": texts, "const": ["x"] * n})
    report = quality_report(
        frame,
        text_fields=["text"],
        labels=labels,
        rules=[{"field": "text", "check": "required", "name": "text present"}],
    )
    assert report.warnings[:2] == (
        "rule 'text present': 12 rows (12%) fail",
        "1 exact duplicate text with different labels (2 rows)",
    )
    assert "text: 12% missing (12 rows)" in report.warnings
    assert "const: one value in every row that has one" in report.warnings
    assert "label: 'neg' has 24× fewer items than 'pos'" in report.warnings
    assert "1 group of exact duplicates on text (2 rows, 1 beyond the first of each)" in (
        report.warnings
    )


def test_rows_are_positions_whatever_the_index() -> None:
    frame = pd.DataFrame(
        {"t": ["Same thing", "same thing!", "different"], "k": ["a", "a", "b"]},
        index=[1001, 7, 42],
    )
    report = quality_report(frame, text_fields=["t"], rules=[{"field": "k", "check": "unique"}])
    assert report.rules[0].examples[0].row == 0
    assert report.near_duplicates is not None
    assert report.near_duplicates.examples[0].rows == (0, 1)


BAD_ARGUMENTS = [
    ({"text_fields": ["nope"]}, "text_fields: unknown field 'nope'"),
    ({"kinds": {"a": "date"}}, "kinds: unknown kind 'date' for 'a'"),
    ({"kinds": {"a": "numeric"}, "text_fields": ["a"]}, "'a' is in text_fields but kinds says"),
    ({"labels": [1, 2]}, "labels must hold one label per row (3); got shape (2,)"),
    ({"duplicate_fields": ["zz"]}, "duplicate_fields: unknown field 'zz'"),
    ({"near_duplicate_threshold": 1.5}, "near_duplicate_threshold must be above 0"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        quality_report(pd.DataFrame({"a": [1, 2, 3]}), **arguments)
