"""Augmentation recipes: validation and its messages, reproducibility across seeds and batches,
what each text, tabular and image recipe does, and SMOTE against imbalanced-learn. No database."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from PIL import Image

from quality.analysis.augment import (
    QWERTY_NEIGHBOURS,
    RECIPES,
    AugmentError,
    augment_image,
    augment_records,
    augment_table,
    augment_texts,
    build_vocabulary,
    resolve_table_recipe,
    smote,
    validate,
)

WORDS = (  # noqa: SIM905 - a word list reads best as one string
    "the battery died after two days and support never answered my emails about a refund "
    "great screen but the app crashes when I open settings slow delivery box was damaged"
).split()
NON_LETTERS = re.compile(r"[^\W\d_]")


def short_texts(n: int, seed: int = 0, words: int = 12) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, words).tolist()) for _ in range(n)]


def texts_of(variants: list[Any]) -> list[str]:
    return [v.text for v in variants]


# ---------------------------------------------------------------------------------------------
# Validation


def test_validate_fills_defaults_and_is_json_and_idempotent() -> None:
    plan = validate([{"recipe": "word_swap", "n": 2}, "typo"])
    assert plan == {
        "kind": "text",
        "steps": [
            {"recipe": "word_swap", "n": 2, "adjacent": False},
            {"recipe": "typo", "p": 0.05},
        ],
    }
    assert json.loads(json.dumps(plan)) == plan
    assert validate(plan) == plan
    assert validate("word_delete", {"p": 0.2}) == validate({"recipe": "word_delete", "p": 0.2})
    assert validate("rotate")["steps"][0] == {
        "recipe": "rotate",
        "degrees": [-15.0, 15.0],
        "fill": 0,
    }


def test_every_recipe_validates_with_its_defaults_and_describes_itself() -> None:
    for name, recipe in RECIPES.items():
        plan = validate(name)
        assert plan["kind"] == recipe.kind
        assert set(plan["steps"][0]) == {"recipe"} | {p.name for p in recipe.params}
        json.dumps(recipe.to_dict())


@pytest.mark.parametrize(
    ("recipe", "params", "message"),
    [
        ("word_delete", {"p": 1.5}, "word_delete: p must be between 0 and 1, got 1.5"),
        ("word_swap", {"n": 0}, "word_swap: n must be between 1 and 100, got 0"),
        ("word_swap", {"n": 1.5}, "word_swap: n must be a whole number, got 1.5"),
        ("word_swap", {"adjacent": "yes"}, "word_swap: adjacent must be true or false"),
        ("word_swap", {"q": 1}, "word_swap has no parameter 'q'; its parameters: n, adjacent"),
        ("word_insert", {"source": "web"}, "source must be one of 'text', 'vocabulary'"),
        ("char_noise", {"operations": ["swap"]}, "operations must be a non-empty list of"),
        ("rotate", {"degrees": 15}, "degrees must be a pair [low, high] with low <= high"),
        ("rotate", {"degrees": [10, -10]}, "degrees must be a pair [low, high]"),
        ("rotate", {"degrees": [-200, 0]}, "degrees must lie between -180 and 180"),
        ("rotate", {"fill": 300}, "fill must be a grey level 0..255 or an [r, g, b] colour"),
        ("noise", {"sd": float("nan")}, "noise: sd must be a number"),
        ("gaussian_jitter", {"sd": -1}, "sd must be a number >= 0"),
        ("smote", {"k_neighbors": 0}, "smote: k_neighbors must be between 1 and 100, got 0"),
        ("swap", None, "unknown recipe 'swap'; known: text: word_swap, word_delete"),
    ],
)
def test_bad_parameters_are_refused_with_a_message(
    recipe: str, params: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(AugmentError) as raised:
        validate(recipe, params)
    assert message in str(raised.value)


def test_bad_recipe_shapes_are_refused() -> None:
    with pytest.raises(AugmentError, match=r"step 2 \(typo\): p must be between 0 and 1"):
        validate(["word_swap", {"recipe": "typo", "p": 2}])
    with pytest.raises(AugmentError, match=r"the steps mix item kinds: word_swap \(text\)"):
        validate(["word_swap", "hflip"])
    with pytest.raises(AugmentError, match=r"smote .* cannot be combined"):
        validate(["smote", "gaussian_jitter"])
    with pytest.raises(AugmentError, match="no steps"):
        validate([])
    with pytest.raises(AugmentError, match="say which recipe"):
        validate({"p": 0.1})
    with pytest.raises(AugmentError, match="not both"):
        validate({"recipe": "typo"}, {"p": 0.1})
    with pytest.raises(
        AugmentError, match="hflip is an image recipe; augment_texts needs one for text items"
    ):
        augment_texts(["a b"], [1], "hflip", seed=0)


def test_bad_run_arguments_are_refused() -> None:
    with pytest.raises(AugmentError, match=r"seed must be a whole number from 0 to 2\*\*32 - 1"):
        augment_texts(["a b"], [1], "word_swap", seed=-1)
    with pytest.raises(AugmentError, match="variants must be a whole number from 1 to 100"):
        augment_texts(["a b"], [1], "word_swap", seed=0, variants=0)
    with pytest.raises(AugmentError, match="2 items but 1 item ids"):
        augment_texts(["a b", "c d"], [1], "word_swap", seed=0)
    with pytest.raises(AugmentError, match="item 1: expected a string, got int"):
        augment_texts(["a b", 3], [1, 2], "word_swap", seed=0)


# ---------------------------------------------------------------------------------------------
# Reproducibility


@pytest.mark.parametrize(
    "recipe",
    [
        "word_swap",
        {"recipe": "word_delete", "p": 0.3},
        {"recipe": "word_insert", "n": 2, "source": "vocabulary"},
        {"recipe": "char_noise", "p": 0.1},
        [{"recipe": "word_swap", "n": 2}, {"recipe": "typo", "p": 0.1}],
    ],
)
def test_same_seed_same_texts_whatever_the_batching(recipe: Any) -> None:
    texts = short_texts(200)
    ids = list(range(1000, 1200))
    vocabulary = build_vocabulary(texts)
    whole = augment_texts(texts, ids, recipe, seed=7, variants=3, vocabulary=vocabulary)
    assert whole == augment_texts(texts, ids, recipe, seed=7, variants=3, vocabulary=vocabulary)
    first = augment_texts(texts[:77], ids[:77], recipe, seed=7, variants=3, vocabulary=vocabulary)
    second = augment_texts(texts[77:], ids[77:], recipe, seed=7, variants=3, vocabulary=vocabulary)
    assert texts_of(whole) == texts_of(first) + texts_of(second)
    assert [(v.parent, v.variant) for v in whole[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    # Asking for fewer variants gives the same first ones.
    fewer = augment_texts(texts, ids, recipe, seed=7, variants=2, vocabulary=vocabulary)
    assert texts_of(fewer) == [v.text for v in whole if v.variant < 2]
    other = augment_texts(texts, ids, recipe, seed=8, variants=3, vocabulary=vocabulary)
    assert sum(a != b for a, b in zip(texts_of(whole), texts_of(other), strict=True)) > 200


def test_variants_of_an_item_differ_and_follow_the_item_id_not_its_position() -> None:
    texts = short_texts(2)
    out = texts_of(augment_texts(texts, [5, 9], "word_swap", seed=1, variants=5))
    assert len(set(out[:5])) > 1
    swapped = texts_of(augment_texts(texts[::-1], [9, 5], "word_swap", seed=1, variants=5))
    assert swapped == out[5:] + out[:5]


# ---------------------------------------------------------------------------------------------
# Text recipes


def test_word_delete_p0_is_identity_and_p1_keeps_one_word() -> None:
    texts = ["  spaced  out\ttext\n", "one", "", "   ", *short_texts(50)]
    ids = list(range(len(texts)))
    unchanged = augment_texts(texts, ids, validate("word_delete", {"p": 0}), seed=3)
    assert texts_of(unchanged) == texts
    one_left = augment_texts(texts, ids, validate("word_delete", {"p": 1}), seed=3)
    for original, new in zip(texts, texts_of(one_left), strict=True):
        if original.split():
            assert len(new.split()) == 1
            assert new.split()[0] in original.split()
        else:
            assert new == original


def test_word_delete_keeps_the_other_words_in_order() -> None:
    texts = short_texts(300)
    out = augment_texts(texts, range(300), validate("word_delete", {"p": 0.3}), seed=2)
    removed = 0
    for original, new in zip(texts, texts_of(out), strict=True):
        words, kept_words = original.split(), new.split()
        remaining = iter(words)
        assert kept_words and all(word in remaining for word in kept_words)  # a subsequence
        removed += len(words) - len(kept_words)
    assert 0.25 < removed / (300 * 12) < 0.35


def test_word_swap_keeps_the_words_and_the_whitespace() -> None:
    texts = ["alpha  beta\tgamma delta\nepsilon", *short_texts(100)]
    out = texts_of(augment_texts(texts, range(101), validate("word_swap", {"n": 3}), seed=4))
    for original, new in zip(texts, out, strict=True):
        assert Counter(new.split()) == Counter(original.split())
        assert re.findall(r"\s+", new) == re.findall(r"\s+", original)
    assert sum(a != b for a, b in zip(texts, out, strict=True)) > 90
    assert texts_of(augment_texts(["single"], [1], "word_swap", seed=0)) == ["single"]


def test_adjacent_word_swap_swaps_neighbours() -> None:
    texts = [" ".join(f"w{i}" for i in range(10))] * 50
    out = augment_texts(texts, range(50), validate("word_swap", {"adjacent": True}), seed=5)
    for new in texts_of(out):
        moved = [i for i, word in enumerate(new.split()) if word != f"w{i}"]
        assert len(moved) == 2 and moved[1] == moved[0] + 1


def test_word_insert_adds_words_of_the_text_or_the_vocabulary() -> None:
    texts = short_texts(100)
    out = texts_of(augment_texts(texts, range(100), validate("word_insert", {"n": 2}), seed=6))
    for original, new in zip(texts, out, strict=True):
        added = Counter(new.split()) - Counter(original.split())
        assert sum(added.values()) == 2 and set(added) <= set(original.split())
        assert not Counter(original.split()) - Counter(new.split())
    vocabulary = ["zebra", "quokka"]
    spec = validate("word_insert", {"source": "vocabulary", "n": 3})
    out = texts_of(augment_texts(texts, range(100), spec, seed=6, vocabulary=vocabulary))
    for original, new in zip(texts, out, strict=True):
        added = Counter(new.split()) - Counter(original.split())
        assert sum(added.values()) == 3 and set(added) <= set(vocabulary)


def test_build_vocabulary_ranks_words_of_letters_by_frequency() -> None:
    assert build_vocabulary(["b a a, 12 x_y", "a b c"], size=2) == ["a", "b"]


def test_char_noise_changes_only_letters() -> None:
    texts = ["Order #4521 arrived 3 days late :( -- refund?"] * 100 + short_texts(100)
    out = texts_of(augment_texts(texts, range(200), validate("char_noise", {"p": 0.3}), seed=8))
    for original, new in zip(texts, out, strict=True):
        assert NON_LETTERS.sub("", new) == NON_LETTERS.sub("", original)
    assert sum(a != b for a, b in zip(texts, out, strict=True)) > 190


def test_char_noise_substitution_replaces_every_letter_keeping_its_case() -> None:
    text = "Hello World, 2024!"
    spec = validate("char_noise", {"p": 1, "operations": ["substitute"]})
    (new,) = texts_of(augment_texts([text], [1], spec, seed=0))
    assert len(new) == len(text)
    for before, after in zip(text, new, strict=True):
        if before.isalpha():
            assert after != before and after.isupper() == before.isupper()
        else:
            assert after == before
    delete_all = validate("char_noise", {"p": 1, "operations": ["delete"]})
    assert texts_of(augment_texts([text], [1], delete_all, seed=0)) == [" , 2024!"]


def test_typo_types_only_neighbouring_keys() -> None:
    assert set(QWERTY_NEIGHBOURS["g"]) == set("fhtyvb")
    assert set(QWERTY_NEIGHBOURS["Q"]) == set("WA")
    texts = ["Quick typing: fox & dog 123 naïve"] * 50 + short_texts(50)
    out = texts_of(augment_texts(texts, range(100), validate("typo", {"p": 0.5}), seed=9))
    changed = 0
    for original, new in zip(texts, out, strict=True):
        assert len(new) == len(original)
        for before, after in zip(original, new, strict=True):
            if before != after:
                assert after in QWERTY_NEIGHBOURS[before]
                changed += 1
    letters = sum(c in QWERTY_NEIGHBOURS for text in texts for c in text)
    assert 0.45 < changed / letters < 0.55


def test_augment_records_changes_the_chosen_field_only() -> None:
    records = [{"premise": "the cat sat on the mat", "hypothesis": "a cat sat", "n": 1}] * 3
    out = augment_records(records, [1, 2, 3], "word_swap", seed=0, field="hypothesis")
    assert [v.parent for v in out] == [0, 1, 2]
    for variant in out:
        assert variant.data["premise"] == "the cat sat on the mat" and variant.data["n"] == 1
        assert sorted(variant.data["hypothesis"].split()) == ["a", "cat", "sat"]
    with pytest.raises(AugmentError, match="text fields found: hypothesis, premise"):
        augment_records(records, [1, 2, 3], "word_swap", seed=0)
    with pytest.raises(AugmentError, match="item 0: field 'label' is missing or not text"):
        augment_records(records, [1, 2, 3], "word_swap", seed=0, field="label")


# ---------------------------------------------------------------------------------------------
# Tabular: Gaussian jitter


def _table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    income = rng.normal(50_000, 12_000, n)
    income[::10] = np.nan
    return pd.DataFrame(
        {
            "income": income,
            "age": rng.integers(18, 90, n),
            "count": rng.integers(0, 3, n).astype(np.uint8),
            "city": rng.choice(["Paris", "Lima"], n),
        }
    )


def test_jitter_keeps_means_and_adds_scale_times_the_spread() -> None:
    frame = _table(20_000)
    result = augment_table(
        frame,
        range(20_000),
        validate("gaussian_jitter", {"scale": 0.5, "fields": ["income"], "round_integers": False}),
        seed=1,
    )
    new = result.rows["income"]
    assert list(result.rows.columns) == list(frame.columns)
    assert new.isna().equals(frame["income"].isna())
    difference = new - frame["income"]
    assert abs(difference.mean()) < 0.02 * frame["income"].std()
    assert difference.std() == pytest.approx(0.5 * frame["income"].std(), rel=0.03)
    assert result.recipe["steps"][0]["sd"] == {"income": pytest.approx(0.5 * frame["income"].std())}
    assert result.rows["age"].equals(frame["age"]) and result.rows["city"].equals(frame["city"])


def test_jitter_keeps_integer_columns_whole_and_within_their_type() -> None:
    frame = _table(2_000)
    spec = validate("gaussian_jitter", {"fields": ["age", "count"], "sd": {"age": 3, "count": 2}})
    rows = augment_table(frame, range(2_000), spec, seed=2, variants=2).rows
    assert rows["age"].dtype == np.int64 and rows["count"].dtype == np.uint8
    assert (rows["age"] != frame["age"].repeat(2).to_numpy()).mean() > 0.5
    assert rows["count"].max() < 20  # clipped at 0, not wrapped round to 255
    nullable = pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64")})
    out = augment_table(nullable, [1, 2, 3], validate("gaussian_jitter", {"sd": 1}), seed=0).rows
    assert out["x"].dtype == "Int64" and out["x"].isna().tolist() == [False, True, False]


def test_jitter_is_the_same_on_batches_with_the_resolved_recipe() -> None:
    frame = _table(500)
    resolved = resolve_table_recipe(frame, "gaussian_jitter")
    assert resolved["steps"][0]["fields"] == ["income", "age", "count"]
    whole = augment_table(frame, range(500), resolved, seed=3, variants=2)
    head = augment_table(frame.iloc[:200], range(200), resolved, seed=3, variants=2)
    tail = augment_table(frame.iloc[200:], range(200, 500), resolved, seed=3, variants=2)
    assert whole.rows.equals(pd.concat([head.rows, tail.rows], ignore_index=True))
    assert whole.parent.tolist()[:4] == [0, 0, 1, 1] and whole.variant.tolist()[:4] == [0, 1, 0, 1]
    other = augment_table(frame, range(500), resolved, seed=4, variants=2)
    assert not whole.rows["income"].equals(other.rows["income"])


def test_jitter_refuses_columns_it_cannot_use() -> None:
    frame = _table(10).assign(flag=True)
    with pytest.raises(AugmentError, match="no column 'salary'; the columns are income, age"):
        augment_table(frame, range(10), validate("gaussian_jitter", {"fields": ["salary"]}), seed=0)
    with pytest.raises(
        AugmentError, match=r"column 'city' holds .* values; jitter applies to numbers"
    ):
        augment_table(frame, range(10), validate("gaussian_jitter", {"fields": ["city"]}), seed=0)
    with pytest.raises(AugmentError, match="column 'flag' holds bool values"):
        augment_table(frame, range(10), validate("gaussian_jitter", {"fields": ["flag"]}), seed=0)
    with pytest.raises(AugmentError, match="fewer than two values here, so its spread is unknown"):
        augment_table(frame.iloc[:1], [0], "gaussian_jitter", seed=0)
    with pytest.raises(AugmentError, match=r"call smote\(\)"):
        augment_table(frame, range(10), "smote", seed=0)


# ---------------------------------------------------------------------------------------------
# Tabular: SMOTE


def _imbalanced(seed: int = 0) -> tuple[pd.DataFrame, npt.NDArray[Any]]:
    rng = np.random.default_rng(seed)
    sizes = {"common": 120, "rare": 30, "scarce": 9}
    centres = {"common": (0.0, 0.0), "rare": (5.0, 5.0), "scarce": (-5.0, 5.0)}
    blocks = [rng.normal(centres[c], 1.0, (n, 2)) for c, n in sizes.items()]
    labels = np.concatenate([[c] * n for c, n in sizes.items()]).astype(object)
    order = rng.permutation(labels.size)
    frame = pd.DataFrame(np.vstack(blocks)[order], columns=["x", "y"])
    return frame, labels[order]


def test_smote_balances_classes_with_points_between_same_class_neighbours() -> None:
    frame, labels = _imbalanced()
    result = smote(frame, labels, seed=11)
    assert result.added == {"rare": 90, "scarce": 111}
    after = Counter(labels.tolist()) + Counter(result.labels.tolist())
    assert set(after.values()) == {120}
    assert len(result.rows) == len(result.labels) == result.base.size == 201
    assert (labels[result.base] == result.labels).all()
    assert (labels[result.neighbour] == result.labels).all()
    assert (result.base != result.neighbour).all()
    assert ((result.step >= 0) & (result.step < 1)).all()
    base, neighbour = frame.to_numpy()[result.base], frame.to_numpy()[result.neighbour]
    expected = base + result.step[:, None] * (neighbour - base)
    assert np.allclose(result.rows.to_numpy(), expected)
    again = smote(frame, labels, seed=11)
    assert again.rows.equals(result.rows) and (again.base == result.base).all()
    assert not smote(frame, labels, seed=12).rows.equals(result.rows)


def test_smote_makes_the_same_rows_as_imbalanced_learn() -> None:
    from imblearn.over_sampling import SMOTE

    frame, labels = _imbalanced(1)
    ours = smote(frame, labels, {"recipe": "smote", "k_neighbors": 3}, seed=5)
    theirs_x, theirs_y = SMOTE(k_neighbors=3, random_state=5).fit_resample(frame.to_numpy(), labels)
    assert np.array_equal(ours.rows.to_numpy(), theirs_x[len(frame) :])
    assert ours.labels.tolist() == theirs_y[len(frame) :].tolist()


def test_smote_ratio_and_too_small_classes() -> None:
    frame, labels = _imbalanced()
    half = smote(frame, labels, {"recipe": "smote", "ratio": 0.5}, seed=0)
    assert half.added == {"rare": 30, "scarce": 51}  # up to half of 120
    with pytest.raises(AugmentError) as raised:
        smote(frame, labels, {"recipe": "smote", "k_neighbors": 9}, seed=0)
    assert str(raised.value) == (
        "smote: class 'scarce' has 9 examples and k_neighbors=9 needs at least 10: "
        "lower k_neighbors to 8 or label more examples of it"
    )
    with pytest.raises(AugmentError, match=r"column 'colour' holds .* SMOTE interpolates numbers"):
        smote(frame.assign(colour="red"), labels, seed=0)
    with pytest.raises(AugmentError, match=r"row 3 .* missing or infinite values"):
        smote(frame.assign(x=frame["x"].where(frame.index != 3)), labels, seed=0)


# ---------------------------------------------------------------------------------------------
# Images


def _png(mode: str = "RGB", size: tuple[int, int] = (40, 30), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    bands = len(mode)
    shape = (size[1], size[0], bands) if bands > 1 else (size[1], size[0])
    image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(_png())).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _pixels(data: bytes) -> npt.NDArray[np.uint8]:
    return np.asarray(Image.open(io.BytesIO(data)))


IMAGE_RECIPES = [
    "hflip",
    "vflip",
    "rotate",
    "crop",
    "color",
    "noise",
    ["rotate", "crop", "color", "noise", "hflip"],
]


@pytest.mark.parametrize("recipe", IMAGE_RECIPES)
@pytest.mark.parametrize(
    ("mode", "kind"), [("RGB", "PNG"), ("RGBA", "PNG"), ("L", "PNG"), ("RGB", "JPEG")]
)
def test_image_recipes_keep_size_mode_and_format(recipe: Any, mode: str, kind: str) -> None:
    data = _jpeg() if kind == "JPEG" else _png(mode)
    out = augment_image(data, recipe, seed=1, item_id=7, variant=2)
    decoded = Image.open(io.BytesIO(out.data))
    assert (decoded.format, decoded.size, decoded.mode) == (kind, (40, 30), mode)
    assert (out.format, out.width, out.height, out.mode) == (kind, 40, 30, mode)
    assert out == augment_image(data, recipe, seed=1, item_id=7, variant=2)


def test_image_randomness_follows_seed_item_and_variant() -> None:
    data = _png()
    outputs = {
        augment_image(data, "rotate", seed=s, item_id=i, variant=v).data
        for s, i, v in [(1, 1, 0), (2, 1, 0), (1, 2, 0), (1, 1, 1)]
    }
    assert len(outputs) == 4


def test_hflip_mirrors_and_twice_is_identity() -> None:
    data = _png("RGBA")
    flipped = augment_image(data, "hflip", seed=0, item_id=1).data
    assert np.array_equal(_pixels(flipped), _pixels(data)[:, ::-1])
    twice = augment_image(data, ["hflip", "hflip"], seed=0, item_id=1).data
    assert np.array_equal(_pixels(twice), _pixels(data))


@pytest.mark.parametrize(
    ("recipe", "params"),
    [
        ("noise", {"sd": 0}),
        ("crop", {"fraction": [1, 1]}),
        ("color", {"brightness": [1, 1], "contrast": [1, 1], "saturation": [1, 1]}),
        ("rotate", {"degrees": [0, 0]}),
        ("hflip", {"p": 0}),
    ],
)
def test_image_recipes_that_change_nothing_keep_every_pixel(
    recipe: str, params: dict[str, Any]
) -> None:
    data = _png("RGBA")
    out = augment_image(data, validate(recipe, params), seed=3, item_id=1).data
    assert np.array_equal(_pixels(out), _pixels(data))


def test_noise_has_the_asked_spread() -> None:
    grey = Image.new("L", (200, 200), 128)
    buffer = io.BytesIO()
    grey.save(buffer, format="PNG")
    out = augment_image(buffer.getvalue(), validate("noise", {"sd": 10}), seed=0, item_id=1)
    assert _pixels(out.data).astype(float).std() == pytest.approx(10, rel=0.05)


def test_rotate_fills_the_corners() -> None:
    white = Image.new("RGB", (50, 50), (255, 255, 255))
    buffer = io.BytesIO()
    white.save(buffer, format="PNG")
    spec = validate("rotate", {"degrees": [45, 45], "fill": [255, 0, 0]})
    corner = _pixels(augment_image(buffer.getvalue(), spec, seed=0, item_id=1).data)[0, 0]
    assert corner.tolist() == [255, 0, 0]


def test_palette_images_come_back_as_rgb() -> None:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(_png())).convert("P").save(buffer, format="PNG")
    assert augment_image(buffer.getvalue(), "hflip", seed=0, item_id=1).mode == "RGB"


def test_non_images_are_refused() -> None:
    with pytest.raises(AugmentError, match="not an image Pillow can read"):
        augment_image(b"hello, world", "hflip", seed=0, item_id=1)
    with pytest.raises(AugmentError, match="empty"):
        augment_image(b"", "hflip", seed=0, item_id=1)
    with pytest.raises(AugmentError, match="damaged or truncated"):
        augment_image(_png()[:200], "hflip", seed=0, item_id=1)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    with pytest.raises(AugmentError, match="GIF images are not supported; PNG and JPEG are"):
        augment_image(gif.getvalue(), "hflip", seed=0, item_id=1)
    with pytest.raises(
        AugmentError, match="typo is a text recipe; augment_image needs one for image items"
    ):
        augment_image(_png(), "typo", seed=0, item_id=1)
