"""Cross-validated baseline probabilities: text, text pairs, tables and images, on synthetic data
whose labels the features do (or, for the out-of-sample checks, do not) determine."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from PIL import Image
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from quality.analysis.baseline import (
    BaselineProblem,
    BaselineResult,
    cross_validated_probabilities,
)

TOPICS = [
    [f"sport{i}" for i in range(30)],
    [f"cook{i}" for i in range(30)],
    [f"code{i}" for i in range(30)],
]
NOISE = [f"word{i}" for i in range(200)]


def topic_text(rng: np.random.Generator, topic: int, words: int = 8) -> str:
    tokens = [
        str(rng.choice(TOPICS[topic])) if rng.random() < 0.5 else str(rng.choice(NOISE))
        for _ in range(words)
    ]
    return " ".join(tokens)


def topic_corpus(n: int = 600, seed: int = 0) -> tuple[list[str], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    return [topic_text(rng, int(label)) for label in labels], labels


def assert_probabilities(result: BaselineResult, n_items: int, n_classes: int) -> None:
    assert result.probabilities.shape == (n_items, n_classes)
    assert result.probabilities.dtype == np.float64
    assert np.all(result.probabilities >= 0)
    assert np.allclose(result.probabilities.sum(axis=1), 1.0)


def stripe_png(horizontal: bool, rng: np.random.Generator, size: int = 24) -> bytes:
    period = int(rng.integers(3, 6))
    phase = int(rng.integers(0, 2 * period))
    line = ((np.arange(size) + phase) // period) % 2 * 180 + 40
    pixels = np.tile(line[:, None], (1, size)) if horizontal else np.tile(line[None, :], (size, 1))
    noisy = np.clip(pixels + rng.normal(0, 25, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="PNG")
    return buffer.getvalue()


def stripes(n: int = 300, seed: int = 0) -> tuple[list[bytes], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    return [stripe_png(bool(label), rng) for label in labels], labels


def mixed_table(n: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """colour (object, some missing), size (float, some missing), noise; the label needs both.

    Label 2 where size is missing; otherwise 1 when "red" and a positive size disagree (an
    interaction no single column shows), else 0.
    """
    rng = np.random.default_rng(seed)
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    size = rng.normal(size=n)
    size[rng.random(n) < 0.15] = np.nan
    labels = np.where((colour == "red") != (size > 0), 1, 0)
    labels[np.isnan(size)] = 2
    colour[rng.random(n) < 0.03] = None  # missing colours blur their labels a little
    frame = pd.DataFrame({"colour": colour, "size": size, "noise": rng.normal(size=n)})
    return frame, labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Text


def test_text_topics_are_predicted_out_of_sample() -> None:
    texts, labels = topic_corpus()
    calls: list[tuple[int, int, str]] = []
    result = cross_validated_probabilities(
        "text", texts, labels, 3, progress=lambda *call: calls.append(call)
    )
    assert_probabilities(result, 600, 3)
    assert result.accuracy > 0.9
    assert result.log_loss < 0.5
    assert [(done, total) for done, total, _ in calls] == [(i, 5) for i in range(6)]
    assert [fold.fold for fold in result.fold_metrics] == [1, 2, 3, 4, 5]
    assert sum(fold.n_test for fold in result.fold_metrics) == 600
    assert all(fold.n_train + fold.n_test == 600 for fold in result.fold_metrics)
    assert result.features is not None and result.features.shape == (600, 64)
    assert np.allclose(np.linalg.norm(result.features, axis=1), 1, atol=1e-5)
    summary = result.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["params"]["model"] == "LogisticRegression"
    assert summary["params"]["vectorizer"]["word_ngram_range"] == [1, 2]
    assert summary["feature_shape"] == [600, 64]
    assert "probabilities" not in summary


def test_text_options_char_ngrams_and_no_embedding() -> None:
    texts, labels = topic_corpus(300)
    result = cross_validated_probabilities(
        "text", texts, labels, 3, char_ngrams=True, svd_components=0, max_features=5000
    )
    assert result.accuracy > 0.9
    assert result.features is None
    assert result.params["vectorizer"]["char_ngram_range"] == [3, 5]
    assert result.params["vectorizer"]["vocabulary"]["char_wb"] <= 5000


def test_text_pairs_keep_their_sides_apart() -> None:
    # The label is the topic of the second text; the first is of a random topic. Joined into one
    # text, both topics' words would look alike; as two blocks the second side decides.
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 600)
    pairs = [(topic_text(rng, int(rng.integers(0, 3))), topic_text(rng, int(y))) for y in labels]
    result = cross_validated_probabilities("text", pairs, labels, 3)
    assert_probabilities(result, 600, 3)
    assert result.accuracy > 0.9
    assert "pairs" in result.params["vectorizer"]


def test_mislabelled_texts_get_low_probability_for_their_given_label() -> None:
    texts, labels = topic_corpus()
    rng = np.random.default_rng(5)
    flipped = rng.choice(600, 30, replace=False)
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, 3, 30)) % 3
    result = cross_validated_probabilities("text", texts, noisy, 3)
    self_confidence = result.probabilities[np.arange(600), noisy]
    lowest = set(np.argsort(self_confidence)[:40].tolist())
    assert len(lowest & set(flipped.tolist())) >= 27


# ---------------------------------------------------------------------------------------------
# Tables


def test_tabular_with_categories_numbers_and_missing_values() -> None:
    frame, labels = mixed_table()
    result = cross_validated_probabilities("tabular", frame, labels, 3)
    assert_probabilities(result, 1000, 3)
    assert result.accuracy > 0.8
    assert result.params["model"] == "HistGradientBoostingClassifier"
    assert result.params["columns"] == {"numeric": ["size", "noise"], "categorical": ["colour"]}
    features = result.features
    assert features is not None and features.shape[0] == 1000
    assert np.isfinite(features).all()


def test_tabular_column_types() -> None:
    rng = np.random.default_rng(2)
    n = 400
    labels = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(labels * 30 + rng.random(n), "D"),
            "flag": labels.astype(bool),
            "kind": pd.Categorical(np.where(labels == 1, "a", "b")),
            "name": pd.array([f"n{i % 50}" for i in range(n)], dtype="string"),
            "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        }
    )
    frame.loc[::7, "count"] = pd.NA
    frame.loc[::11, "when"] = pd.NaT
    result = cross_validated_probabilities("tabular", frame, labels, 2)
    assert result.accuracy > 0.95
    assert result.params["columns"]["categorical"] == ["kind", "name"]
    assert result.features is not None and np.isfinite(result.features).all()
    assert not any("categories" in note for note in result.notes)
    many = pd.DataFrame({"name": [f"n{i}" for i in range(n)]})
    crowded = cross_validated_probabilities("tabular", many, labels, 2)
    assert any("'name': 400 categories" in note for note in crowded.notes)


# ---------------------------------------------------------------------------------------------
# Images


def test_image_stripes_from_png_bytes() -> None:
    images, labels = stripes()
    result = cross_validated_probabilities("image", images, labels, 2)
    assert_probabilities(result, 300, 2)
    assert result.accuracy > 0.9
    features = result.features
    assert features is not None and features.shape == (300, 312)
    assert features.dtype == np.float32
    assert features.min() >= 0 and features.max() <= 1


def test_image_paths_arrays_and_pil_images(tmp_path: Path) -> None:
    # Bright versus dark, in every accepted form: a file path, a uint8 array, a float array in
    # 0..1, an RGBA PIL image.
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    items: list[Any] = []
    for index, label in enumerate(labels):
        level = 190 if label else 60
        pixels = np.clip(level + rng.normal(0, 40, (20, 30, 3)), 0, 255).astype(np.uint8)
        form = index % 4
        if form == 0:
            path = tmp_path / f"{index}.jpg"
            Image.fromarray(pixels).save(path)
            items.append(str(path) if index % 8 else path)
        elif form == 1:
            items.append(pixels)
        elif form == 2:
            items.append(pixels[:, :, 0].astype(np.float64) / 255)
        else:
            items.append(Image.fromarray(pixels).convert("RGBA"))
    result = cross_validated_probabilities("image", items, labels, 2)
    assert result.accuracy > 0.9


# ---------------------------------------------------------------------------------------------
# Folds, classes and determinism


def test_same_seed_same_probabilities_other_seed_other_folds() -> None:
    texts, labels = topic_corpus(300)
    first = cross_validated_probabilities("text", texts, labels, 3, seed=7)
    again = cross_validated_probabilities("text", texts, labels, 3, seed=7)
    other = cross_validated_probabilities("text", texts, labels, 3, seed=8)
    assert np.array_equal(first.probabilities, again.probabilities)
    assert first.features is not None and again.features is not None
    assert np.array_equal(first.features, again.features)
    assert not np.array_equal(first.probabilities, other.probabilities)
    frame, table_labels = mixed_table(400)
    assert np.array_equal(
        cross_validated_probabilities("tabular", frame, table_labels, 3, seed=1).probabilities,
        cross_validated_probabilities("tabular", frame, table_labels, 3, seed=1).probabilities,
    )
    images, image_labels = stripes(100)
    assert np.array_equal(
        cross_validated_probabilities("image", images, image_labels, 2, seed=1).probabilities,
        cross_validated_probabilities("image", images, image_labels, 2, seed=1).probabilities,
    )


def test_small_class_reduces_the_folds_and_absent_class_gets_zero() -> None:
    texts, labels = topic_corpus(300)
    labels = labels.copy()
    labels[np.flatnonzero(labels == 2)[3:]] = 0  # class 2 keeps 3 examples
    result = cross_validated_probabilities("text", texts, labels, 4, folds=5)
    assert result.folds == 3
    assert result.params["folds"] == 3 and result.params["folds_asked"] == 5
    assert any("5 folds asked, 3 used" in note for note in result.notes)
    assert any("class 3" in note for note in result.notes)
    assert_probabilities(result, 300, 4)
    assert np.all(result.probabilities[:, 3] == 0)


# ---------------------------------------------------------------------------------------------
# The out-of-sample property


def test_random_labels_stay_at_chance_although_a_model_can_memorise_them() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(600, 5)), columns=[f"x{i}" for i in range(5)])
    labels = rng.integers(0, 2, 600)
    with threadpool_limits(1):  # as the baseline fits; many threads crawl on a busy machine
        memorised = HistGradientBoostingClassifier(max_iter=200, random_state=0).fit(frame, labels)
    assert memorised.score(frame, labels) > 0.9  # in-sample predictions would look excellent
    result = cross_validated_probabilities("tabular", frame, labels, 2)
    assert 0.4 < result.accuracy < 0.6
    assert all(0.3 < fold.accuracy < 0.7 for fold in result.fold_metrics)


def test_random_images_stay_at_chance() -> None:
    rng = np.random.default_rng(6)
    images = [rng.integers(0, 256, (16, 16), dtype=np.uint8) for _ in range(400)]
    labels = rng.integers(0, 2, 400)
    result = cross_validated_probabilities("image", images, labels, 2)
    assert 0.4 < result.accuracy < 0.6


# ---------------------------------------------------------------------------------------------
# Input the method cannot use


def test_one_class_is_refused() -> None:
    with pytest.raises(BaselineProblem, match="only class 1 is present"):
        cross_validated_probabilities("text", ["a b", "c d", "e f"], [1, 1, 1], 3)


def test_a_class_with_a_single_example_is_refused_with_advice() -> None:
    texts, labels = topic_corpus(60)
    labels = labels.copy()
    labels[0] = 3
    with pytest.raises(BaselineProblem, match="class 3 has a single example") as caught:
        cross_validated_probabilities("text", texts, labels, 4)
    assert "Label more items of the class" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "inputs", "labels", "n_classes", "message"),
    [
        ("text", ["a", "b", "c"], [0, 1], 2, "3 items but 2 labels"),
        ("audio", ["a", "b"], [0, 1], 2, "unknown item kind 'audio'"),
        ("text", ["a", "b", "c", "d"], [0, 1, 0, 2], 2, "item 3: label 2 is not a class code"),
        ("text", ["a", "b", "c", "d"], [0, 1, 0, -1], 2, "leave unlabelled items out"),
        ("text", ["a", "b", "c", "d"], [0.5, 1, 0, 1], 2, "class codes"),
        ("text", ["a", "b", "c", "d"], [0, 1, 0, 1], 1, "at least 2 classes"),
        ("text", ["a b", "b c", 7, "d e"], [0, 1, 0, 1], 2, "item 2: expected a string"),
        ("text", [("a", "b"), "b c", ("c", "d"), ("d", "e")], [0, 1, 0, 1], 2, "item 1"),
        ("text", ["", " ", "!", "?"], [0, 1, 0, 1], 2, "no words"),
        ("tabular", [[1], [2], [3], [4]], [0, 1, 0, 1], 2, "pandas DataFrame"),
        ("tabular", pd.DataFrame(index=range(4)), [0, 1, 0, 1], 2, "no columns"),
        ("image", 5, [0, 1], 2, "inputs must be a list"),
    ],
)
def test_bad_input_is_refused(
    kind: str, inputs: Any, labels: Any, n_classes: int, message: str
) -> None:
    with pytest.raises(BaselineProblem, match=message):
        cross_validated_probabilities(kind, inputs, labels, n_classes, folds=2)


def test_folds_below_two_and_negative_seeds_are_refused() -> None:
    texts, labels = ["a", "b", "c", "d"], [0, 1, 0, 1]
    with pytest.raises(BaselineProblem, match="folds must be an integer of at least 2"):
        cross_validated_probabilities("text", texts, labels, 2, folds=1)
    with pytest.raises(BaselineProblem, match="seed must be an integer"):
        cross_validated_probabilities("text", texts, labels, 2, folds=2, seed=-1)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"not an image at all", "not an image format"),
        (None, "expected a file path"),
        (np.zeros((4, 4, 2)), "must be"),
        ("/nonexistent/picture.png", "No such file"),
    ],
)
def test_an_unreadable_image_is_named_by_its_index(bad: Any, reason: str) -> None:
    images, labels = stripes(8)
    items: list[Any] = list(images)
    items[3] = bad
    with pytest.raises(BaselineProblem, match=f"item 3: cannot read the image: .*{reason}"):
        cross_validated_probabilities("image", items, labels, 2, folds=2)


def test_a_truncated_image_is_named_by_its_index() -> None:
    images, labels = stripes(8)
    items = list(images)
    items[5] = items[5][: len(items[5]) // 2]
    with pytest.raises(BaselineProblem, match="item 5: cannot read the image"):
        cross_validated_probabilities("image", items, labels, 2, folds=2)
