"""Majority vote and Dawid–Skene, on hand-computed cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quality.analysis.consensus import dawid_skene, dawid_skene_apply, majority_vote


def test_majority_and_confidence() -> None:
    # item 1: a a b → a (2/3); item 2: c → c (1/1); item 5: b b b a → b (3/4)
    result = majority_vote([1, 1, 1, 2, 5, 5, 5, 5], [0, 0, 1, 2, 1, 1, 1, 0])
    assert result.item_ids.tolist() == [1, 2, 5]
    assert result.labels.tolist() == [0, 2, 1]
    assert np.allclose(result.confidence, [2 / 3, 1, 3 / 4])
    assert result.counts.tolist() == [3, 1, 4]


def test_ties_are_broken_by_a_reproducible_seeded_draw() -> None:
    items = np.repeat(np.arange(2000), 2)
    labels = np.tile([0, 1], 2000)
    first = majority_vote(items, labels, seed=3)
    assert first.labels.tolist() == majority_vote(items, labels, seed=3).labels.tolist()
    assert np.allclose(first.confidence, 0.5)
    share = first.labels.mean()
    assert 0.45 < share < 0.55  # neither label is favoured
    other = majority_vote(items, labels, seed=4)
    assert (other.labels != first.labels).any()


def test_stable_keys_make_copies_agree() -> None:
    # Same content under other ids: keyed by content, the tie goes the same way.
    a = majority_vote([10, 10], [1, 2], item_keys=[77, 77], label_keys=[5, 6])
    b = majority_vote([99, 99], [7, 8], item_keys=[77, 77], label_keys=[5, 6])
    assert (a.labels[0] == 1) == (b.labels[0] == 7)


def test_empty() -> None:
    result = majority_vote([], [])
    assert result.item_ids.size == 0 and result.labels.size == 0


# ---------------------------------------------------------------------------------------------
# Majority vote: ties broken by labeller reliability


def test_a_tie_goes_to_the_more_reliable_labeller_whatever_the_seed() -> None:
    # Item 1: labeller 7 (0.9) says 0, labeller 8 (0.2) says 1 → 0.
    # Item 2: two against two; 0 has 0.3 + 0.3, 1 has 0.9 + 0.1 → 1.
    items = [1, 1, 2, 2, 2, 2]
    labels = [0, 1, 0, 0, 1, 1]
    labellers = [7, 8, 3, 4, 5, 6]
    reliability = {7: 0.9, 8: 0.2, 3: 0.3, 4: 0.3, 5: 0.9, 6: 0.1}
    for seed in range(20):
        result = majority_vote(
            items, labels, seed=seed, labeller_ids=labellers, reliability=reliability
        )
        assert result.labels.tolist() == [0, 1]
        assert np.allclose(result.confidence, [0.5, 0.5])


def test_labeller_ids_without_reliability_change_nothing() -> None:
    items, labels = np.repeat(np.arange(500), 2), np.tile([0, 1], 500)
    plain = majority_vote(items, labels, seed=2)
    with_ids = majority_vote(items, labels, seed=2, labeller_ids=np.arange(1000))
    assert with_ids.labels.tolist() == plain.labels.tolist()


def test_reliability_never_outvotes_a_majority() -> None:
    # Two weak votes for 0 beat one perfect vote for 1: reliability only breaks ties.
    result = majority_vote(
        [1, 1, 1], [0, 0, 1], labeller_ids=[1, 2, 3], reliability={1: 0.0, 2: 0.0, 3: 1.0}
    )
    assert result.labels.tolist() == [0]


def test_an_unknown_labeller_counts_one_half() -> None:
    # Labeller 9 is not in the table, so counts 0.5: it beats 0.4 and loses to 0.6.
    against_weaker = majority_vote([1, 1], [0, 1], labeller_ids=[9, 2], reliability={2: 0.4})
    against_stronger = majority_vote([1, 1], [0, 1], labeller_ids=[9, 2], reliability={2: 0.6})
    assert against_weaker.labels.tolist() == [0]
    assert against_stronger.labels.tolist() == [1]


def test_reliability_as_a_pair_of_arrays_equals_the_mapping() -> None:
    rng = np.random.default_rng(5)
    items = rng.integers(0, 300, 2000)
    labels = rng.integers(0, 3, 2000)
    labellers = rng.integers(0, 40, 2000)
    scores = rng.random(40)
    as_mapping = majority_vote(
        items, labels, labeller_ids=labellers, reliability=dict(enumerate(scores.tolist()))
    )
    as_arrays = majority_vote(
        items, labels, labeller_ids=labellers, reliability=(np.arange(40)[::-1], scores[::-1])
    )
    assert as_mapping.labels.tolist() == as_arrays.labels.tolist()


def test_equal_summed_reliability_falls_back_to_the_seeded_draw() -> None:
    # 0.1 + 0.2 and 0.3 + 0.0 differ in the last bit of a float; they must still count as equal,
    # or label 0 would win every such tie. Then the draw decides, exactly as without reliability.
    n = 2000
    items = np.repeat(np.arange(n), 4)
    labels = np.tile([0, 0, 1, 1], n)
    labellers = np.tile([1, 2, 3, 4], n)
    reliability = {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.0}
    with_reliability = majority_vote(
        items, labels, seed=11, labeller_ids=labellers, reliability=reliability
    )
    plain = majority_vote(items, labels, seed=11)
    assert with_reliability.labels.tolist() == plain.labels.tolist()
    assert 0.45 < with_reliability.labels.mean() < 0.55


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reliability": {1: 0.5}}, "needs labeller_ids"),
        ({"labeller_ids": [1, 2], "reliability": {1: 1.5}}, "between 0 and 1"),
        ({"labeller_ids": [1], "reliability": {1: 0.5}}, "one per annotation"),
        ({"labeller_ids": [1, 2], "reliability": ([1, 1], [0.2, 0.3])}, "twice"),
    ],
)
def test_bad_reliability_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        majority_vote([1, 1], [0, 1], **kwargs)


# ---------------------------------------------------------------------------------------------
# Dawid-Skene


def _adversary_case() -> tuple[list[int], list[int], list[int]]:
    # Items 0 to 9 (true class alternating 0/1): reliable labellers 1, 2, 3 give the true class,
    # adversaries 8 and 9 always the other one. Majority vote is right there (3 against 2), so
    # EM learns that 8 and 9 invert the class. Item 10 (true class 1): labeller 1 says 1, both
    # adversaries say 0. Majority vote says 0 (2 against 1); Dawid-Skene reads the two 0s as
    # evidence for 1 and agrees with labeller 1.
    rows: list[tuple[int, int, int]] = []  # (item, labeller, label)
    for item in range(10):
        truth = item % 2
        rows += [(item, labeller, truth) for labeller in (1, 2, 3)]
        rows += [(item, labeller, 1 - truth) for labeller in (8, 9)]
    rows += [(10, 1, 1), (10, 8, 0), (10, 9, 0)]
    items, labellers, labels = (list(column) for column in zip(*rows, strict=True))
    return items, labellers, labels


def test_dawid_skene_overrules_a_majority_of_adversaries() -> None:
    items, labellers, labels = _adversary_case()
    assert majority_vote(items, labels).labels[10] == 0
    fit = dawid_skene(items, labellers, labels, 2)
    assert fit.converged
    assert fit.consensus.labels.tolist() == [0, 1] * 5 + [1]
    assert fit.consensus.confidence[10] > 0.99
    assert fit.labeller_ids.tolist() == [1, 2, 3, 8, 9]
    accuracy = fit.labeller_accuracy()
    assert np.all(accuracy[:3] > 0.95) and np.all(accuracy[3:] < 0.05)
    # An adversary's confusion matrix is (nearly) the swap: true 0 → says 1, true 1 → says 0.
    assert np.allclose(fit.confusion[3], [[0, 1], [1, 0]], atol=0.01)


def test_dawid_skene_shapes_and_normalisation() -> None:
    items, labellers, labels = _adversary_case()
    fit = dawid_skene(items, labellers, labels, 2)
    assert fit.posteriors.shape == (11, 2)
    assert fit.confusion.shape == (5, 2, 2)
    assert np.allclose(fit.posteriors.sum(axis=1), 1)
    assert np.allclose(fit.confusion.sum(axis=2), 1)
    assert np.isclose(fit.priors.sum(), 1)
    assert fit.consensus.counts.tolist() == [5] * 10 + [3]
    assert np.allclose(fit.consensus.confidence, fit.posteriors.max(axis=1))


def test_dawid_skene_recovers_labeller_accuracy_on_simulated_data() -> None:
    # 3000 items, 30 labellers of accuracy 0.55..0.95 (errors spread evenly over the other two
    # classes), 5 labels per item. The DS accuracy estimate should land near each labeller's
    # realised accuracy (measured: within 0.035), and the consensus should beat majority vote,
    # which trusts a 0.55 labeller as much as a 0.95 one (measured: 0.948 against 0.931).
    rng = np.random.default_rng(0)
    n_items, n_labellers, per_item = 3000, 30, 5
    truth = rng.integers(0, 3, n_items)
    skill = np.linspace(0.55, 0.95, n_labellers)
    items = np.repeat(np.arange(n_items), per_item)
    labellers = np.concatenate(
        [rng.choice(n_labellers, per_item, replace=False) for _ in range(n_items)]
    )
    right = rng.random(items.size) < skill[labellers]
    labels = np.where(right, truth[items], (truth[items] + rng.integers(1, 3, items.size)) % 3)
    fit = dawid_skene(items, labellers, labels, 3)
    realised = np.bincount(labellers, weights=right) / np.bincount(labellers)
    assert np.abs(fit.labeller_accuracy() - realised).max() < 0.05
    ds_accuracy = (fit.consensus.labels == truth).mean()
    mv_accuracy = (majority_vote(items, labels).labels == truth).mean()
    assert ds_accuracy > mv_accuracy + 0.01


def test_dawid_skene_is_deterministic_and_breaks_exact_ties_like_majority_vote() -> None:
    # Each item has two labellers of its own who disagree and label nothing else: the model is
    # symmetric, so every posterior is exactly (0.5, 0.5) and the tie goes to the same seeded
    # draw as majority vote's.
    n = 1000
    items = np.repeat(np.arange(n), 2)
    labellers = np.arange(2 * n)
    labels = np.tile([0, 1], n)
    first = dawid_skene(items, labellers, labels, 2, seed=3)
    again = dawid_skene(items, labellers, labels, 2, seed=3)
    assert np.array_equal(first.posteriors, again.posteriors)
    assert np.all(first.posteriors == 0.5)
    assert first.consensus.labels.tolist() == again.consensus.labels.tolist()
    assert first.consensus.labels.tolist() == majority_vote(items, labels, seed=3).labels.tolist()
    assert 0.45 < first.consensus.labels.mean() < 0.55
    other = dawid_skene(items, labellers, labels, 2, seed=4)
    assert (other.consensus.labels != first.consensus.labels).any()


def test_dawid_skene_edge_cases_stay_finite() -> None:
    # Unsorted item ids, an item with a single label (30), a labeller with a single item (5),
    # and class 2 that nobody gave: smoothing keeps every probability finite and positive.
    items = [30, 10, 10, 10, 20, 20, 20]
    labellers = [1, 1, 2, 3, 1, 2, 5]
    labels = [1, 0, 0, 1, 1, 1, 0]
    fit = dawid_skene(items, labellers, labels, 3)
    assert fit.consensus.item_ids.tolist() == [10, 20, 30]
    assert fit.consensus.counts.tolist() == [3, 3, 1]
    assert fit.consensus.labels.tolist() == [0, 1, 1]
    for array in (fit.posteriors, fit.confusion, fit.priors):
        assert np.all(np.isfinite(array)) and np.all(array > 0)
    assert fit.priors[2] < 0.01
    assert np.all(fit.consensus.labels != 2)


def test_dawid_skene_on_no_annotations() -> None:
    fit = dawid_skene([], [], [], 3)
    assert fit.consensus.item_ids.size == 0 and fit.consensus.labels.size == 0
    assert fit.posteriors.shape == (0, 3) and fit.confusion.shape == (0, 3, 3)
    assert fit.labeller_accuracy().size == 0
    assert fit.converged


def test_dawid_skene_stops_at_max_iter() -> None:
    items, labellers, labels = _adversary_case()
    fit = dawid_skene(items, labellers, labels, 2, max_iter=1, tol=0)
    assert fit.iterations == 1 and not fit.converged


def test_a_fitted_model_applied_to_its_own_data_gives_its_consensus() -> None:
    items, labellers, labels = _adversary_case()
    fit = dawid_skene(items, labellers, labels, 2)
    rows = np.searchsorted(fit.labeller_ids, labellers)
    again = dawid_skene_apply(items, rows, labels, priors=fit.priors, confusion=fit.confusion)
    assert again.labels.tolist() == fit.consensus.labels.tolist()
    assert np.allclose(again.confidence, fit.consensus.confidence)
    # A new item labelled 0 by adversary 8 alone: the model reads it as class 1.
    new = dawid_skene_apply([99], [3], [0], priors=fit.priors, confusion=fit.confusion)
    assert new.labels.tolist() == [1] and new.counts.tolist() == [1]


def test_applying_a_model_refuses_a_labeller_it_has_no_row_for() -> None:
    with pytest.raises(ValueError, match="outside the confusion array"):
        dawid_skene_apply([1], [2], [0], priors=[0.5, 0.5], confusion=np.full((2, 2, 2), 0.5))


@pytest.mark.parametrize(
    ("labels", "n_classes", "message"),
    [([0, 2], 2, "class indices"), ([0, -1], 2, "class indices"), ([0, 0], 0, "at least 1")],
)
def test_dawid_skene_refuses_bad_labels(labels: list[int], n_classes: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dawid_skene([1, 2], [1, 1], labels, n_classes)
