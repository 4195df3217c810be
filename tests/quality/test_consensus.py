"""Majority vote, on hand-computed cases."""

from __future__ import annotations

import numpy as np

from quality.analysis.consensus import majority_vote


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
