"""Augmented variants of texts, table rows and images for augmentation jobs. No Django.

A *recipe* is one named step with parameters, or a list of steps of the same item kind applied
in order. :func:`validate` checks it before anything runs and returns it with every parameter
filled in, as JSON, for the job to record as each new item's provenance::

    validate("word_delete", {"p": 0.2})
    validate([{"recipe": "word_swap", "n": 2}, {"recipe": "typo", "p": 0.03}])
    # {"kind": "text", "steps": [{"recipe": "word_swap", "n": 2, "adjacent": False},
    #                            {"recipe": "typo", "p": 0.03}]}

:data:`RECIPES` lists the recipes, their parameters, defaults and allowed ranges.

- Text (:func:`augment_texts`, or :func:`augment_records` for one field of item data such as one
  side of a text pair): ``word_swap``, ``word_delete``, ``word_insert``, ``char_noise``,
  ``typo``. Words are runs of non-space characters (punctuation stays with its word); the
  whitespace between the words that stay in place is kept as it was.
- Tabular: ``gaussian_jitter`` (:func:`augment_table`) makes a variant of each row;
  ``smote`` (:func:`smote`) makes new rows for the minority classes.
- Image (:func:`augment_image`, PNG or JPEG bytes in, the same format out): ``hflip``,
  ``vflip``, ``rotate``, ``crop``, ``color``, ``noise``.

Randomness is a pure function of ``(seed, item id, variant index)`` (SMOTE: of the seed and
the class): the same seed and inputs give byte-identical outputs however the items are split
into batches. Text vocabularies and jitter scales taken from the batch are the exceptions: for
batches, compute them once on the whole dataset (:func:`build_vocabulary`,
:func:`resolve_table_recipe`) and pass them in. Nothing is downloaded.
"""

from __future__ import annotations

import io
import math
import random
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from PIL import Image, ImageEnhance, ImageOps, UnidentifiedImageError

Kind = Literal["text", "tabular", "image"]
KINDS: tuple[Kind, ...] = ("text", "tabular", "image")
ParamType = Literal["int", "float", "bool", "choice", "choices", "range", "fill", "fields", "sd"]
ImageFormat = Literal["PNG", "JPEG"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
RecipeSpec: TypeAlias = str | Mapping[str, Any] | Sequence[str | Mapping[str, Any]]
# A step of a text recipe: the text and a source of uniform numbers in [0, 1) → the new text.
TextStep = Callable[[str, Callable[[], float]], str]
ImageStep = Callable[[Image.Image, np.random.Generator], Image.Image]

MAX_SEED = 2**32 - 1
MAX_ITEM_ID = 2**63 - 1
MAX_VARIANTS = 100
MAX_STEPS = 20
DEFAULT_VOCABULARY_SIZE = 1000
# Re-encoding a JPEG loses a little detail each time; 95 keeps that well below the augmentation.
JPEG_QUALITY = 95
# Pillow modes worked on as they are; "1" and palette images are widened (see _decode).
_PIXEL_MODES = ("L", "LA", "RGB", "RGBA")

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# re.split with a group keeps the separators: words at even positions, whitespace at odd ones.
_SPACE = re.compile(r"(\s+)")
_VOCABULARY_WORD = re.compile(r"[^\W\d_]+")


class AugmentError(ValueError):
    """A recipe, its parameters or the items cannot be used; the message says why."""


# ---------------------------------------------------------------------------------------------
# Recipes and their parameters


@dataclass(frozen=True)
class Param:
    """One parameter of a recipe: its type, default, bounds (inclusive) and meaning."""

    name: str
    type: ParamType
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        return {
            "name": self.name,
            "type": self.type,
            "default": default,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices),
            "help": self.help,
        }


@dataclass(frozen=True)
class Recipe:
    """A named augmentation: the item kind it applies to, its parameters, and its builder.

    ``text(params, vocabulary)`` and ``image(params)`` build the per-item step of text and
    image recipes; tabular recipes work on whole frames (:func:`augment_table`, :func:`smote`).
    """

    name: str
    kind: Kind
    description: str
    params: tuple[Param, ...] = ()
    text: Callable[[Mapping[str, Any], Sequence[str]], TextStep] | None = None
    image: Callable[[Mapping[str, Any]], ImageStep] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "params": [param.to_dict() for param in self.params],
        }


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _bounds(param: Param) -> str:
    if param.low is not None and param.high is not None:
        return f"between {param.low:g} and {param.high:g}"
    if param.low is not None:
        return f"at least {param.low:g}"
    return f"at most {param.high:g}"


def _within(param: Param, value: float) -> bool:
    return (param.low is None or value >= param.low) and (param.high is None or value <= param.high)


def _check_param(param: Param, value: Any, where: str) -> Any:
    """The parameter's value in its JSON form, or AugmentError naming the step and parameter."""
    name = f"{where}: {param.name}"
    if param.type == "int":
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise AugmentError(f"{name} must be a whole number, got {value!r:.60}")
        if not _within(param, int(value)):
            raise AugmentError(f"{name} must be {_bounds(param)}, got {value}")
        return int(value)
    if param.type == "float":
        if not _number(value):
            raise AugmentError(f"{name} must be a number, got {value!r:.60}")
        if not _within(param, float(value)):
            raise AugmentError(f"{name} must be {_bounds(param)}, got {value}")
        return float(value)
    if param.type == "bool":
        if not isinstance(value, bool | np.bool_):
            raise AugmentError(f"{name} must be true or false, got {value!r:.60}")
        return bool(value)
    if param.type == "choice":
        if value not in param.choices:
            options = ", ".join(repr(c) for c in param.choices)
            raise AugmentError(f"{name} must be one of {options}, got {value!r:.60}")
        return str(value)
    if param.type == "choices":
        options = ", ".join(repr(c) for c in param.choices)
        if (
            isinstance(value, str)
            or not isinstance(value, Sequence)
            or not value
            or any(v not in param.choices for v in value)
        ):
            raise AugmentError(f"{name} must be a non-empty list of {options}, got {value!r:.60}")
        return [c for c in param.choices if c in value]
    if param.type == "range":
        if (
            isinstance(value, str)
            or not isinstance(value, Sequence)
            or len(value) != 2
            or not all(_number(v) for v in value)
            or value[0] > value[1]
        ):
            raise AugmentError(
                f"{name} must be a pair [low, high] with low <= high, got {value!r:.60}"
            )
        if not (_within(param, float(value[0])) and _within(param, float(value[1]))):
            raise AugmentError(f"{name} must lie {_bounds(param)}, got {list(value)}")
        return [float(value[0]), float(value[1])]
    if param.type == "fill":
        if isinstance(value, int | np.integer) and not isinstance(value, bool) and 0 <= value < 256:
            return int(value)
        if (
            not isinstance(value, str)
            and isinstance(value, Sequence)
            and len(value) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 256 for v in value)
        ):
            return [int(v) for v in value]
        raise AugmentError(
            f"{name} must be a grey level 0..255 or an [r, g, b] colour, got {value!r:.60}"
        )
    if param.type == "fields":
        if value is None:
            return None
        if (
            isinstance(value, str)
            or not isinstance(value, Sequence)
            or not value
            or not all(isinstance(v, str) for v in value)
            or len(set(value)) != len(value)
        ):
            raise AugmentError(
                f"{name} must be a list of distinct column names (or null for every numeric "
                f"column), got {value!r:.60}"
            )
        return list(value)
    # "sd": absent, one number for every field, or a number per field.
    if value is None:
        return None
    if _number(value) and value >= 0:
        return float(value)
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and _number(v) and v >= 0 for k, v in value.items()
    ):
        return {str(k): float(v) for k, v in value.items()}
    raise AugmentError(
        f"{name} must be a number >= 0, a {{column: number}} mapping, or null, got {value!r:.60}"
    )


def _probability(default: float, help: str) -> Param:
    return Param("p", "float", default, help, low=0.0, high=1.0)


def validate(recipe: RecipeSpec, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check a recipe and return it with every parameter filled in, as JSON for provenance.

    ``recipe`` is a recipe name (with ``params``), a step ``{"recipe": name, **params}``, a list
    of steps (names or step dicts), or an already validated ``{"kind": ..., "steps": [...]}``
    (returned unchanged: validation is idempotent). Steps must all be of one item kind;
    ``smote`` stands alone. The result is ``{"kind": kind, "steps": [{"recipe": name, ...}]}``.
    """
    if isinstance(recipe, str):
        if params is not None and not isinstance(params, Mapping):
            raise AugmentError(f"params must be a mapping of names to values, got {params!r:.60}")
        raw_steps: list[Any] = [{**(params or {}), "recipe": recipe}]
    else:
        if params is not None:
            raise AugmentError(
                "give the parameters inside the recipe's steps, or name one recipe and give "
                "params, not both"
            )
        if isinstance(recipe, Mapping) and "steps" in recipe:
            extra = sorted(set(recipe) - {"kind", "steps"})
            if extra:
                raise AugmentError(
                    f"a recipe with steps has only 'kind' and 'steps', not {', '.join(extra)}"
                )
            steps_value = recipe["steps"]
            if isinstance(steps_value, str | Mapping) or not isinstance(steps_value, Sequence):
                raise AugmentError("'steps' must be a list of steps")
            raw_steps = list(steps_value)
        elif isinstance(recipe, Mapping):
            raw_steps = [recipe]
        elif isinstance(recipe, Sequence):
            raw_steps = list(recipe)
        else:
            raise AugmentError(
                f"a recipe is a name, a {{'recipe': name, ...}} step or a list of steps, "
                f"got {type(recipe).__name__}"
            )
    if not raw_steps:
        raise AugmentError("the recipe has no steps; give at least one")
    if len(raw_steps) > MAX_STEPS:
        raise AugmentError(f"a recipe has at most {MAX_STEPS} steps, got {len(raw_steps)}")
    steps = [_validate_step(raw, n, len(raw_steps)) for n, raw in enumerate(raw_steps, 1)]
    kinds = {RECIPES[step["recipe"]].kind for step in steps}
    if len(kinds) > 1:
        names = ", ".join(f"{s['recipe']} ({RECIPES[s['recipe']].kind})" for s in steps)
        raise AugmentError(f"the steps mix item kinds: {names}; a recipe works on one kind")
    if len(steps) > 1 and any(step["recipe"] == "smote" for step in steps):
        raise AugmentError(
            "smote makes new rows for the minority classes and cannot be combined with "
            "other steps; run it as a recipe of its own"
        )
    kind = kinds.pop()
    if isinstance(recipe, Mapping) and recipe.get("kind", kind) != kind:
        raise AugmentError(f"the recipe says kind {recipe['kind']!r:.30} but its steps are {kind}")
    return {"kind": kind, "steps": steps}


def _known_recipes() -> str:
    return "; ".join(
        f"{kind}: {', '.join(name for name, r in RECIPES.items() if r.kind == kind)}"
        for kind in KINDS
    )


def _validate_step(raw: Any, number: int, count: int) -> dict[str, Any]:
    step_name = f"step {number}"
    if isinstance(raw, str):
        raw = {"recipe": raw}
    if not isinstance(raw, Mapping):
        raise AugmentError(
            f"{step_name}: expected a recipe name or {{'recipe': name, ...}}, got {raw!r:.60}"
        )
    name = raw.get("recipe")
    if not isinstance(name, str) or name not in RECIPES:
        where = "" if count == 1 else f"{step_name}: "
        if name is None:
            raise AugmentError(f"{where}say which recipe with 'recipe'; known: {_known_recipes()}")
        raise AugmentError(f"{where}unknown recipe {name!r:.40}; known: {_known_recipes()}")
    recipe = RECIPES[name]
    where = name if count == 1 else f"{step_name} ({name})"
    allowed = {param.name for param in recipe.params}
    unknown = sorted(str(key) for key in raw if key != "recipe" and key not in allowed)
    if unknown:
        has = ", ".join(param.name for param in recipe.params) or "none"
        raise AugmentError(
            f"{where} has no parameter {', '.join(repr(u) for u in unknown)}; its parameters: {has}"
        )
    step: dict[str, Any] = {"recipe": name}
    for param in recipe.params:
        step[param.name] = _check_param(param, raw.get(param.name, param.default), where)
    return step


def _plan(recipe: RecipeSpec, kind: Kind, function: str) -> dict[str, Any]:
    plan = validate(recipe)
    if plan["kind"] != kind:
        names = ", ".join(step["recipe"] for step in plan["steps"])
        article = "an" if plan["kind"] == "image" else "a"
        raise AugmentError(
            f"{names} is {article} {plan['kind']} recipe; {function} needs one for {kind} items"
        )
    return plan


def _check_seed(seed: Any) -> int:
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= seed <= MAX_SEED
    ):
        raise AugmentError(f"seed must be a whole number from 0 to 2**32 - 1, got {seed!r:.40}")
    return int(seed)


def _check_variants(variants: Any) -> int:
    if (
        isinstance(variants, bool)
        or not isinstance(variants, int | np.integer)
        or not 1 <= variants <= MAX_VARIANTS
    ):
        raise AugmentError(
            f"variants must be a whole number from 1 to {MAX_VARIANTS}, got {variants!r:.40}"
        )
    return int(variants)


def _check_item_id(item_id: Any) -> int:
    if (
        isinstance(item_id, bool)
        or not isinstance(item_id, int | np.integer)
        or not 0 <= item_id <= MAX_ITEM_ID
    ):
        raise AugmentError(f"item ids must be whole numbers >= 0, got {item_id!r:.40}")
    return int(item_id)


def _item_ids(item_ids: Sequence[int] | IntArray, count: int) -> list[int]:
    ids = np.asarray(item_ids)
    if ids.ndim != 1 or ids.size != count:
        raise AugmentError(f"there are {count} items but {ids.size} item ids; give one each")
    if count == 0:
        return []
    if not np.issubdtype(ids.dtype, np.integer) or int(ids.min()) < 0:
        raise AugmentError("item ids must be whole numbers >= 0 (the items' database ids)")
    return [int(i) for i in ids.tolist()]


# ---------------------------------------------------------------------------------------------
# Text


class TextVariant(NamedTuple):
    """A new text: ``parent`` is the position of its item in the input, ``variant`` 0, 1, …"""

    parent: int
    variant: int
    text: str


class RecordVariant(NamedTuple):
    """New item data: a copy of the parent's with the augmented field replaced."""

    parent: int
    variant: int
    data: dict[str, Any]


def _text_random(seed: int, item_id: int, variant: int) -> Callable[[], float]:
    """Uniform numbers in [0, 1) for one variant of one item.

    ``random.Random`` rather than numpy: creating a numpy Generator costs ~15 µs, more than
    augmenting a short text, and ``Random`` about half as much. Only ``random()`` is used, the one
    method whose sequence for a given seed Python guarantees across versions. The three numbers
    are packed into one integer seed without overlap (item ids < 2**64, variants < 2**32).
    """
    return random.Random((seed << 96) | (item_id << 32) | variant).random  # noqa: S311 - not security


def _words(text: str) -> tuple[list[str], int, int]:
    """The split text and the positions of its first and last word (``last < first``: none).

    Words are at ``parts[first], parts[first + 2], …, parts[last]`` with the whitespace between
    them at the odd positions; the parts outside are leading and trailing whitespace.
    """
    parts = _SPACE.split(text)
    first = 0 if parts[0] else 2
    last = len(parts) - 1 if parts[-1] else len(parts) - 3
    return parts, first, last


def _rejoin(parts: list[str], first: int, last: int, words: list[str], seps: list[str]) -> str:
    pieces = parts[:first]
    pieces.append(words[0])
    for sep, word in zip(seps, words[1:], strict=True):
        pieces.append(sep)
        pieces.append(word)
    pieces.extend(parts[last + 1 :])
    return "".join(pieces)


def _word_swap(params: Mapping[str, Any], vocabulary: Sequence[str]) -> TextStep:
    swaps: int = params["n"]
    adjacent: bool = params["adjacent"]

    def step(text: str, rnd: Callable[[], float]) -> str:
        parts, first, last = _words(text)
        count = (last - first) // 2 + 1
        if count < 2:
            return text
        for _ in range(swaps):
            if adjacent:
                a = int(rnd() * (count - 1))
                b = a + 1
            else:
                a = int(rnd() * count)
                b = int(rnd() * (count - 1))
                b += b >= a
            a, b = first + 2 * a, first + 2 * b
            parts[a], parts[b] = parts[b], parts[a]
        return "".join(parts)

    return step


def _word_delete(params: Mapping[str, Any], vocabulary: Sequence[str]) -> TextStep:
    p: float = params["p"]

    def step(text: str, rnd: Callable[[], float]) -> str:
        if p == 0:
            return text
        parts, first, last = _words(text)
        if last < first:
            return text
        kept = [j for j in range(first, last + 1, 2) if rnd() >= p]
        if not kept:
            kept = [first + 2 * int(rnd() * ((last - first) // 2 + 1))]
        elif len(kept) == (last - first) // 2 + 1:
            return text
        # A kept word keeps the whitespace that preceded it (none for the new first word).
        pieces = parts[:first]
        pieces.append(parts[kept[0]])
        for j in kept[1:]:
            pieces.append(parts[j - 1])
            pieces.append(parts[j])
        pieces.extend(parts[last + 1 :])
        return "".join(pieces)

    return step


def _word_insert(params: Mapping[str, Any], vocabulary: Sequence[str]) -> TextStep:
    inserts: int = params["n"]
    from_vocabulary = params["source"] == "vocabulary"
    if from_vocabulary and not vocabulary:
        raise AugmentError(
            "word_insert: the vocabulary is empty (the texts have no words of letters); "
            "use source 'text' or give a vocabulary"
        )
    size = len(vocabulary)

    def step(text: str, rnd: Callable[[], float]) -> str:
        parts, first, last = _words(text)
        if last < first:
            return text
        words = parts[first : last + 1 : 2]
        seps = parts[first + 1 : last : 2]
        for _ in range(inserts):
            if from_vocabulary:
                word = vocabulary[int(rnd() * size)]
            else:
                word = words[int(rnd() * len(words))]
            position = int(rnd() * (len(words) + 1))
            words.insert(position, word)
            # A space goes before the new word (after it at the start); the whitespace that
            # was at this place now follows it.
            seps.insert(max(position - 1, 0), " ")
        return _rejoin(parts, first, last, words, seps)

    return step


def _random_letter(rnd: Callable[[], float], like: str, other_than: str = "") -> str:
    """A random a–z letter in the case of ``like``, different from ``other_than``."""
    skip = _LETTERS.find(other_than) if len(other_than) == 1 else -1
    if skip >= 0:
        index = int(rnd() * 25)
        index += index >= skip
    else:
        index = int(rnd() * 26)
    letter = _LETTERS[index]
    return letter.upper() if like.isupper() else letter


def _char_noise(params: Mapping[str, Any], vocabulary: Sequence[str]) -> TextStep:
    p: float = params["p"]
    operations: tuple[str, ...] = tuple(params["operations"])
    count = len(operations)

    def step(text: str, rnd: Callable[[], float]) -> str:
        if p == 0:
            return text
        out: list[str] = []
        append = out.append
        for char in text:
            if not (char.isalpha() and rnd() < p):
                append(char)
                continue
            operation = operations[int(rnd() * count)]
            if operation == "substitute":
                append(_random_letter(rnd, char, char.lower()))
            elif operation == "insert":
                append(char)
                append(_random_letter(rnd, char))
        return "".join(out)

    return step


def _qwerty_neighbours() -> dict[str, str]:
    """Letter keys of a US QWERTY keyboard → the letter keys touching them, in both cases.

    Rows are offset by a quarter and three quarters of a key, so each key touches its row
    neighbours and the keys above and below it less than a key-width away (g: f h t y v b).
    """
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    offsets = (0.0, 0.25, 0.75)
    place = {
        key: (row, offsets[row] + column)
        for row, keys in enumerate(rows)
        for column, key in enumerate(keys)
    }
    neighbours = {}
    for key, (row, x) in place.items():
        near = "".join(
            other
            for other, (other_row, other_x) in place.items()
            if other != key
            and (
                (other_row == row and abs(other_x - x) == 1)
                or (abs(other_row - row) == 1 and abs(other_x - x) < 1)
            )
        )
        neighbours[key] = near
        neighbours[key.upper()] = near.upper()
    return neighbours


QWERTY_NEIGHBOURS: Mapping[str, str] = MappingProxyType(_qwerty_neighbours())


def _typo(params: Mapping[str, Any], vocabulary: Sequence[str]) -> TextStep:
    p: float = params["p"]
    neighbours = dict(QWERTY_NEIGHBOURS)  # a plain dict: lookups through the proxy are slower

    def step(text: str, rnd: Callable[[], float]) -> str:
        if p == 0:
            return text
        out: list[str] = []
        append = out.append
        for char in text:
            near = neighbours.get(char)
            if near is not None and rnd() < p:
                append(near[int(rnd() * len(near))])
            else:
                append(char)
        return "".join(out)

    return step


def build_vocabulary(texts: Iterable[str], size: int = DEFAULT_VOCABULARY_SIZE) -> list[str]:
    """The ``size`` most frequent words of letters in ``texts`` (ties alphabetically).

    ``word_insert`` with ``source="vocabulary"`` draws from it. Build it once over the whole
    dataset and pass it to every batch, so that the outputs do not depend on the batching.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise AugmentError(f"size must be a whole number of at least 1, got {size!r:.40}")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_VOCABULARY_WORD.findall(text))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return [word for word, _ in ranked[:size]]


def augment_texts(
    texts: Sequence[str] | pd.Series,
    item_ids: Sequence[int] | IntArray,
    recipe: RecipeSpec,
    *,
    seed: int,
    variants: int = 1,
    vocabulary: Sequence[str] | None = None,
) -> list[TextVariant]:
    """``variants`` augmented copies of each text, item by item (parent-major order).

    ``item_ids`` (one per text, integers >= 0) seed each item's randomness with ``seed`` and
    the variant index, so outputs do not depend on how the items are batched. ``vocabulary``
    is for ``word_insert`` with ``source="vocabulary"``; when None it is built from ``texts``
    (:func:`build_vocabulary`). A variant may equal its parent (nothing drawn to change, a
    one-word text to swap); compare if that matters.
    """
    plan = _plan(recipe, "text", "augment_texts")
    seed = _check_seed(seed)
    variants = _check_variants(variants)
    if isinstance(texts, pd.Series | np.ndarray):
        texts = texts.tolist()
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise AugmentError("texts must be a list of strings")
    ids = _item_ids(item_ids, len(texts))
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise AugmentError(f"item {index}: expected a string, got {type(text).__name__}")
    needs_vocabulary = any(s.get("source") == "vocabulary" for s in plan["steps"])
    words: Sequence[str] = ()
    if needs_vocabulary:
        words = build_vocabulary(texts) if vocabulary is None else list(vocabulary)
    steps = [_text_builder(step["recipe"])(step, words) for step in plan["steps"]]
    out: list[TextVariant] = []
    append = out.append
    for parent, (text, item_id) in enumerate(zip(texts, ids, strict=True)):
        for k in range(variants):
            rnd = _text_random(seed, item_id, k)
            new = text
            for step in steps:
                new = step(new, rnd)
            append(TextVariant(parent, k, new))
    return out


def _text_builder(name: str) -> Callable[[Mapping[str, Any], Sequence[str]], TextStep]:
    builder = RECIPES[name].text
    if builder is None:  # pragma: no cover - every text recipe has one
        raise AugmentError(f"{name} is not a text recipe")
    return builder


def text_fields(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The fields that hold a string in every record (the candidates for ``field``)."""
    if not records:
        return []
    common = set(records[0])
    for record in records[1:]:
        common &= set(record)
    return sorted(k for k in common if all(isinstance(r[k], str) for r in records))


def augment_records(
    records: Sequence[Mapping[str, Any]],
    item_ids: Sequence[int] | IntArray,
    recipe: RecipeSpec,
    *,
    seed: int,
    variants: int = 1,
    field: str | None = None,
    vocabulary: Sequence[str] | None = None,
) -> list[RecordVariant]:
    """Augment one text field of item data (e.g. one side of a text pair); other fields copy.

    ``field`` None means the records' only text field; with two or more (a text pair) it must
    be named. Record the field with the recipe as the new items' provenance. Same seeding and
    ordering as :func:`augment_texts`.
    """
    if field is None:
        candidates = text_fields(records)
        if len(candidates) != 1:
            found = ", ".join(candidates) if candidates else "none"
            raise AugmentError(
                f"say which text field to augment with field (text fields found: {found})"
            )
        field = candidates[0]
    texts = []
    for index, record in enumerate(records):
        value = record.get(field) if isinstance(record, Mapping) else None
        if not isinstance(value, str):
            raise AugmentError(f"item {index}: field {field!r:.40} is missing or not text")
        texts.append(value)
    new = augment_texts(
        texts, item_ids, recipe, seed=seed, variants=variants, vocabulary=vocabulary
    )
    return [RecordVariant(v.parent, v.variant, {**records[v.parent], field: v.text}) for v in new]


# ---------------------------------------------------------------------------------------------
# Tabular: Gaussian jitter


@dataclass(frozen=True, eq=False)
class TableVariants:
    """Jittered copies of table rows.

    ``rows``: the new rows, with the input's columns and dtypes and a fresh 0..n-1 index;
    ``parent``: each new row's position (0-based, not index label) in the input frame;
    ``variant``: 0, 1, … per parent; ``recipe``: the recipe as applied, every column named and
    its absolute noise sd filled in (record it: it reproduces the rows on any batch).
    """

    rows: pd.DataFrame
    parent: IntArray
    variant: IntArray
    recipe: dict[str, Any]


def _jitter_column(frame: pd.DataFrame, name: str, where: str) -> pd.Series:
    if name not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns[:30])
        raise AugmentError(f"{where}: there is no column {name!r:.40}; the columns are {columns}")
    column = frame[name]
    if isinstance(column, pd.DataFrame):
        raise AugmentError(f"{where}: the frame has more than one column named {name!r:.40}")
    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        raise AugmentError(
            f"{where}: column {name!r:.40} holds {column.dtype} values; jitter applies to numbers"
        )
    return column


def resolve_table_recipe(frame: pd.DataFrame, recipe: RecipeSpec) -> dict[str, Any]:
    """The validated tabular recipe with columns and absolute noise sds taken from ``frame``.

    ``fields`` None becomes every numeric (non-boolean) column; a column without an ``sd`` gets
    ``scale`` × its standard deviation over ``frame`` (ddof 1, missing values skipped). To
    process a dataset in batches with identical results, resolve once on the whole table and
    pass the result to :func:`augment_table` for each batch.
    """
    plan = _plan(recipe, "tabular", "augment_table")
    if not isinstance(frame, pd.DataFrame):
        raise AugmentError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    steps = []
    for number, step in enumerate(plan["steps"], 1):
        where = (
            "gaussian_jitter" if len(plan["steps"]) == 1 else f"step {number} ({step['recipe']})"
        )
        if step["recipe"] != "gaussian_jitter":
            raise AugmentError(
                f"{step['recipe']} is not applied row by row; call smote() for class balancing"
            )
        fields = step["fields"]
        if fields is None:
            fields = [
                str(c)
                for c in frame.columns
                if pd.api.types.is_numeric_dtype(frame[c].dtype)
                and not pd.api.types.is_bool_dtype(frame[c].dtype)
            ]
            if not fields:
                raise AugmentError(f"{where}: the table has no numeric column to jitter")
        given = step["sd"]
        if isinstance(given, dict):
            stray = sorted(set(given) - set(fields))
            if stray:
                raise AugmentError(
                    f"{where}: sd names {', '.join(stray)}, which are not among the fields "
                    f"({', '.join(fields)})"
                )
        sd: dict[str, float] = {}
        for name in fields:
            column = _jitter_column(frame, name, where)
            if isinstance(given, float):
                sd[name] = given
            elif isinstance(given, dict) and name in given:
                sd[name] = given[name]
            else:
                spread = float(column.std())
                if not math.isfinite(spread):
                    raise AugmentError(
                        f"{where}: column {name!r:.40} has fewer than two values here, so its "
                        "spread is unknown; give its sd"
                    )
                sd[name] = step["scale"] * spread
        steps.append({**step, "fields": list(fields), "sd": sd})
    return {"kind": "tabular", "steps": steps}


def _jittered(column: pd.Series, noise: FloatArray, round_integers: bool) -> Any:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan) + noise
    if pd.api.types.is_integer_dtype(column.dtype):
        if not round_integers:
            return values
        # Clipped to the type's range: an unsigned 0 jittered down would otherwise wrap to 255.
        limits = np.iinfo(getattr(column.dtype, "numpy_dtype", column.dtype))
        values = np.clip(np.rint(values), limits.min, limits.max)
        return pd.Series(values, index=column.index).astype(column.dtype)
    return pd.Series(values, index=column.index).astype(column.dtype)


def augment_table(
    frame: pd.DataFrame,
    item_ids: Sequence[int] | IntArray,
    recipe: RecipeSpec,
    *,
    seed: int,
    variants: int = 1,
) -> TableVariants:
    """``variants`` jittered copies of each row: Gaussian noise added to the chosen columns.

    The noise of a column has the sd in the resolved recipe (:func:`resolve_table_recipe`).
    Missing values stay missing; integer columns stay integers (noise rounded to whole numbers
    and clipped to the type's range) unless ``round_integers`` is false, when they become
    float64. Each row's noise comes from ``numpy.random.default_rng([seed, item_id, variant])``.
    """
    resolved = resolve_table_recipe(frame, recipe)
    seed = _check_seed(seed)
    variants = _check_variants(variants)
    ids = _item_ids(item_ids, len(frame))
    steps = resolved["steps"]
    width = sum(len(step["fields"]) for step in steps)
    noise = np.empty((len(ids) * variants, width))
    row = 0
    for item_id in ids:
        for k in range(variants):
            noise[row] = np.random.default_rng([seed, item_id, k]).standard_normal(width)
            row += 1
    parent = np.repeat(np.arange(len(ids), dtype=np.int64), variants)
    rows = frame.iloc[parent].reset_index(drop=True)
    column = 0
    for step in steps:
        for name in step["fields"]:
            scaled = noise[:, column] * step["sd"][name]
            rows[name] = _jittered(rows[name], scaled, step["round_integers"])
            column += 1
    variant = np.tile(np.arange(variants, dtype=np.int64), len(ids))
    return TableVariants(rows=rows, parent=parent, variant=variant, recipe=resolved)


# ---------------------------------------------------------------------------------------------
# Tabular: SMOTE


@dataclass(frozen=True, eq=False)
class SmoteRows:
    """New rows for the minority classes, with what each was interpolated from.

    ``rows``: the new rows (the features' columns and dtypes, index 0..m-1); ``labels``: their
    class, (m,); ``base`` and ``neighbour``: positions (0-based, not index labels) in the input
    of the two same-class rows each was made from, (m,); ``step``: where on the segment, in
    [0, 1), (m,), so that ``row = base + step × (neighbour − base)`` before integer columns are
    rounded; ``added``: new rows per class (only classes that got some); ``recipe``: validated.
    """

    rows: pd.DataFrame
    labels: npt.NDArray[Any]
    base: IntArray
    neighbour: IntArray
    step: FloatArray
    added: dict[Any, int]
    recipe: dict[str, Any]


def _smote_matrix(features: pd.DataFrame) -> FloatArray:
    if not isinstance(features, pd.DataFrame):
        raise AugmentError(f"smote: expected a pandas DataFrame, got {type(features).__name__}")
    if features.shape[1] == 0:
        raise AugmentError("smote: the feature frame has no columns")
    for name in features.columns:
        if not pd.api.types.is_numeric_dtype(features[name].dtype):
            raise AugmentError(
                f"smote: column {name!r:.40} holds {features[name].dtype} values; SMOTE "
                "interpolates numbers (encode categories as numbers or leave the column out)"
            )
    matrix = np.asarray(features.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad.size:
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise AugmentError(
            f"smote: row {int(bad[0])}{more} has missing or infinite values; SMOTE needs "
            "complete rows (fill or drop them)"
        )
    return matrix


def _class_labels(labels: Any, count: int) -> npt.NDArray[Any]:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size != count:
        raise AugmentError(f"smote: there are {count} rows but {y.size} labels; give one each")
    missing = pd.isna(y)
    if missing.any():
        raise AugmentError(f"smote: row {int(np.flatnonzero(missing)[0])} has no class label")
    return y


def smote(
    features: pd.DataFrame,
    labels: Sequence[Any] | npt.NDArray[Any] | pd.Series,
    recipe: RecipeSpec = "smote",
    *,
    seed: int,
) -> SmoteRows:
    """New rows for the minority classes by SMOTE (interpolation between same-class neighbours).

    Each class with fewer rows than ``ratio`` × the largest class's count is brought up to that
    count (rounded down). This is imbalanced-learn's ``SMOTE(k_neighbors=k, random_state=seed)``
    written out, so that each new row's two parents can be recorded: for each class in sorted
    order, its ``k_neighbors`` nearest same-class rows (Euclidean, unscaled features) are
    found, and ``numpy.random.RandomState(seed)`` draws base rows with their neighbour and the
    steps, giving the same rows as imbalanced-learn. A class's new rows depend on the other
    classes only through the target count. Integer and boolean columns are rounded back to
    their type (so those rows lie only near the segment).
    """
    # scikit-learn costs ~0.5 s to import: only class balancing needs it.
    from sklearn.neighbors import NearestNeighbors

    plan = _plan(recipe, "tabular", "smote")
    step = plan["steps"][0]
    if step["recipe"] != "smote":
        raise AugmentError(f"smote needs the smote recipe, got {step['recipe']}")
    seed = _check_seed(seed)
    matrix = _smote_matrix(features)
    y = _class_labels(labels, len(features))
    try:
        classes, counts = np.unique(y, return_counts=True)
    except TypeError as error:
        raise AugmentError("smote: class labels must be all numbers or all strings") from error
    k: int = step["k_neighbors"]
    target = math.floor(step["ratio"] * int(counts.max())) if counts.size else 0
    short = [
        (c, int(n)) for c, n in zip(classes.tolist(), counts.tolist(), strict=True) if n < target
    ]
    for label, count in short:
        if count < k + 1:
            advice = (
                f"lower k_neighbors to {count - 1} or label more examples of it"
                if count > 1
                else "one example has no neighbour to interpolate with; label more examples"
            )
            raise AugmentError(
                f"smote: class {label!r:.40} has {count} example{'s' if count > 1 else ''} and "
                f"k_neighbors={k} needs at least {k + 1}: {advice}"
            )
    new_rows: list[FloatArray] = []
    bases: list[IntArray] = []
    neighbours: list[IntArray] = []
    steps: list[FloatArray] = []
    new_labels: list[npt.NDArray[Any]] = []
    added: dict[Any, int] = {}
    for label, count in short:
        wanted = target - count
        positions = np.flatnonzero(y == label)
        members = matrix[positions]
        nearest = NearestNeighbors(n_neighbors=k + 1).fit(members)
        # Column 0 is the row itself (or an exact duplicate of it), as in imbalanced-learn.
        near = nearest.kneighbors(members, return_distance=False)[:, 1:]
        # A fresh RandomState per class, as imbalanced-learn does with an integer random_state.
        state = np.random.RandomState(seed)
        drawn = state.randint(low=0, high=near.size, size=wanted)
        step_sizes = state.uniform(size=wanted)
        rows, cols = np.floor_divide(drawn, k), np.mod(drawn, k)
        partner = near[rows, cols]
        new_rows.append(members[rows] + step_sizes[:, None] * (members[partner] - members[rows]))
        bases.append(positions[rows].astype(np.int64))
        neighbours.append(positions[partner].astype(np.int64))
        steps.append(step_sizes)
        new_labels.append(np.full(wanted, label, dtype=y.dtype))
        added[label] = wanted
    values = np.vstack(new_rows) if new_rows else np.empty((0, features.shape[1]))
    frame = pd.DataFrame(values, columns=features.columns)
    for name in features.columns:
        dtype = features[name].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
            frame[name] = np.rint(frame[name]).astype(dtype)
        else:
            frame[name] = frame[name].astype(dtype)
    return SmoteRows(
        rows=frame,
        labels=np.concatenate(new_labels) if new_labels else np.empty(0, dtype=y.dtype),
        base=np.concatenate(bases) if bases else np.empty(0, dtype=np.int64),
        neighbour=np.concatenate(neighbours) if neighbours else np.empty(0, dtype=np.int64),
        step=np.concatenate(steps) if steps else np.empty(0),
        added=added,
        recipe=plan,
    )


# ---------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class AugmentedImage:
    """An encoded image in the input's format, with its size and Pillow mode."""

    data: bytes
    format: ImageFormat
    width: int
    height: int
    mode: str


def _decode(data: Any) -> tuple[Image.Image, ImageFormat]:
    """The image upright (EXIF orientation applied) in a mode the steps work on, and its format.

    1-bit images become L, palette images RGB (RGBA with transparency) and CMYK JPEGs RGB:
    rotation, resizing and noise make shades a palette does not have, and the enhancers and
    the noise work on grey or RGB bands. Other modes (16-bit, floating point) are refused.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise AugmentError(f"expected the image's bytes, got {type(data).__name__}")
    if not data:
        raise AugmentError("the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(bytes(data)))
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AugmentError(
            "not an image Pillow can read safely (expected PNG or JPEG bytes of a reasonable size)"
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise AugmentError(
            f"the image could not be decoded (damaged or truncated?): {error}"
        ) from None
    found = image.format
    if found == "MPO":  # the JPEG variant of some cameras; its first frame is a plain JPEG
        found = "JPEG"
    if found not in ("PNG", "JPEG"):
        raise AugmentError(f"{found} images are not supported; PNG and JPEG are")
    upright = ImageOps.exif_transpose(image)
    if upright.mode == "1":
        upright = upright.convert("L")
    elif upright.mode in ("P", "PA"):
        transparent = upright.mode == "PA" or "transparency" in upright.info
        upright = upright.convert("RGBA" if transparent else "RGB")
    elif upright.mode in ("CMYK", "YCbCr"):
        upright = upright.convert("RGB")
    if upright.mode not in _PIXEL_MODES:
        raise AugmentError(
            f"images of mode {upright.mode} (e.g. 16-bit) are not supported; "
            "8-bit grey, RGB and RGBA images are"
        )
    return upright, "JPEG" if found == "JPEG" else "PNG"


def _colour_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    if image.mode in ("LA", "RGBA"):
        return image.convert(image.mode[:-1]), image.getchannel("A")
    return image, None


def _with_alpha(colour: Image.Image, alpha: Image.Image | None) -> Image.Image:
    if alpha is None:
        return colour
    colour.putalpha(alpha)
    return colour


def _flip(method: Image.Transpose) -> Callable[[Mapping[str, Any]], ImageStep]:
    def build(params: Mapping[str, Any]) -> ImageStep:
        p: float = params["p"]

        def step(image: Image.Image, rng: np.random.Generator) -> Image.Image:
            return image.transpose(method) if rng.random() < p else image

        return step

    return build


def _fill_for(mode: str, fill: int | list[int]) -> int | tuple[int, ...]:
    if isinstance(fill, int):
        red = green = blue = fill
    else:
        red, green, blue = fill
    grey = (299 * red + 587 * green + 114 * blue + 500) // 1000  # ITU-R 601 luma
    if mode == "L":
        return grey
    if mode == "LA":
        return (grey, 255)
    if mode == "RGB":
        return (red, green, blue)
    return (red, green, blue, 255)


def _rotate(params: Mapping[str, Any]) -> ImageStep:
    low, high = params["degrees"]
    fill = params["fill"]

    def step(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        angle = float(rng.uniform(low, high))
        return image.rotate(
            angle,
            resample=Image.Resampling.BILINEAR,
            expand=False,
            fillcolor=_fill_for(image.mode, fill),
        )

    return step


def _crop(params: Mapping[str, Any]) -> ImageStep:
    low, high = params["fraction"]

    def step(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        width, height = image.size
        fraction = float(rng.uniform(low, high))
        crop_width = min(width, max(1, round(width * fraction)))
        crop_height = min(height, max(1, round(height * fraction)))
        left = int(rng.integers(0, width - crop_width + 1))
        top = int(rng.integers(0, height - crop_height + 1))
        if (crop_width, crop_height) == (width, height):
            return image
        box = (left, top, left + crop_width, top + crop_height)
        return image.resize((width, height), Image.Resampling.BICUBIC, box=box)

    return step


def _color(params: Mapping[str, Any]) -> ImageStep:
    enhancers = (
        (ImageEnhance.Brightness, params["brightness"]),
        (ImageEnhance.Contrast, params["contrast"]),
        (ImageEnhance.Color, params["saturation"]),
    )

    def step(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        colour, alpha = _colour_and_alpha(image)
        for enhancer, (low, high) in enhancers:
            factor = float(rng.uniform(low, high))
            if factor != 1.0:
                colour = enhancer(colour).enhance(factor)
        return _with_alpha(colour, alpha)

    return step


def _noise(params: Mapping[str, Any]) -> ImageStep:
    sd: float = params["sd"]

    def step(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        if sd == 0:
            return image
        colour, alpha = _colour_and_alpha(image)
        pixels = np.asarray(colour, dtype=np.float32)
        noisy = pixels + rng.standard_normal(pixels.shape, dtype=np.float32) * np.float32(sd)
        result = Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
        return _with_alpha(result, alpha)

    return step


def augment_image(
    data: bytes, recipe: RecipeSpec, *, seed: int, item_id: int, variant: int = 0
) -> AugmentedImage:
    """One augmented variant of an encoded PNG or JPEG image, in the same format and size.

    The image is turned upright first (EXIF orientation) and its mode kept (1-bit images come
    back as L, palette images as RGB or RGBA, CMYK as RGB); alpha is carried through the
    geometric steps and left alone by ``color`` and ``noise``. JPEGs are re-encoded at quality
    :data:`JPEG_QUALITY`, so even an identity recipe changes their pixels slightly; PNGs are
    lossless. Randomness: ``numpy.random.default_rng([seed, item_id, variant])``.
    """
    plan = _plan(recipe, "image", "augment_image")
    seed = _check_seed(seed)
    item_id = _check_item_id(item_id)
    if isinstance(variant, bool) or not isinstance(variant, int) or not 0 <= variant < MAX_VARIANTS:
        raise AugmentError(f"variant must be a whole number from 0 to {MAX_VARIANTS - 1}")
    image, found = _decode(data)
    icc_profile = image.info.get("icc_profile")
    rng = np.random.default_rng([seed, item_id, variant])
    for step in plan["steps"]:
        builder = RECIPES[step["recipe"]].image
        if builder is None:  # pragma: no cover - every image recipe has one
            raise AugmentError(f"{step['recipe']} is not an image recipe")
        image = builder(step)(image, rng)
    buffer = io.BytesIO()
    options: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if found == "JPEG":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, **options)
    else:
        image.save(buffer, format="PNG", **options)
    return AugmentedImage(
        data=buffer.getvalue(),
        format=found,
        width=image.width,
        height=image.height,
        mode=image.mode,
    )


# ---------------------------------------------------------------------------------------------
# The registry

_FACTORS = (0.8, 1.2)


def _factor(name: str, what: str) -> Param:
    return Param(
        name,
        "range",
        _FACTORS,
        f"{what} factor drawn uniformly from [low, high]; 1 leaves it unchanged",
        low=0.0,
        high=10.0,
    )


RECIPES: Mapping[str, Recipe] = MappingProxyType(
    {
        "word_swap": Recipe(
            "word_swap",
            "text",
            "Swap n pairs of words (any two, or neighbours); texts of one word stay as they are.",
            (
                Param("n", "int", 1, "pairs to swap", low=1, high=100),
                Param("adjacent", "bool", False, "swap a word with the next one only"),
            ),
            text=_word_swap,
        ),
        "word_delete": Recipe(
            "word_delete",
            "text",
            "Delete each word with probability p, keeping at least one word.",
            (_probability(0.1, "chance that each word is deleted"),),
            text=_word_delete,
        ),
        "word_insert": Recipe(
            "word_insert",
            "text",
            "Insert n copies of words from the text itself (or from a vocabulary of frequent "
            "words) at random places.",
            (
                Param("n", "int", 1, "words to insert", low=1, high=100),
                Param(
                    "source",
                    "choice",
                    "text",
                    "where the words come from: the text itself, or the vocabulary",
                    choices=("text", "vocabulary"),
                ),
            ),
            text=_word_insert,
        ),
        "char_noise": Recipe(
            "char_noise",
            "text",
            "With probability p per letter, insert a letter after it, delete it, or replace it "
            "by another letter (a-z, same case); other characters are left alone.",
            (
                _probability(0.05, "chance that each letter is changed"),
                Param(
                    "operations",
                    "choices",
                    ("insert", "delete", "substitute"),
                    "the changes to choose from, uniformly",
                    choices=("insert", "delete", "substitute"),
                ),
            ),
            text=_char_noise,
        ),
        "typo": Recipe(
            "typo",
            "text",
            "With probability p per letter a-z, type a neighbouring key of a QWERTY keyboard "
            "instead (same case).",
            (_probability(0.05, "chance that each letter is mistyped"),),
            text=_typo,
        ),
        "gaussian_jitter": Recipe(
            "gaussian_jitter",
            "tabular",
            "Add Gaussian noise to numeric columns: sd = scale × the column's standard deviation, "
            "or an absolute sd. Missing values stay missing.",
            (
                Param("fields", "fields", None, "columns to jitter; null: every numeric column"),
                Param("scale", "float", 0.1, "noise sd as a multiple of the column's sd", 0, 10),
                Param("sd", "sd", None, "absolute noise sd: one number, or per column"),
                Param("round_integers", "bool", True, "keep integer columns whole numbers"),
            ),
        ),
        "smote": Recipe(
            "smote",
            "tabular",
            "New rows for the minority classes, interpolated between a row and one of its "
            "k nearest same-class neighbours (SMOTE).",
            (
                Param("k_neighbors", "int", 5, "same-class neighbours to choose from", 1, 100),
                Param(
                    "ratio",
                    "float",
                    1.0,
                    "bring each class up to this fraction of the largest class's count",
                    low=0.0,
                    high=1.0,
                ),
            ),
        ),
        "hflip": Recipe(
            "hflip",
            "image",
            "Mirror left to right (with probability p).",
            (_probability(1.0, "chance of mirroring"),),
            image=_flip(Image.Transpose.FLIP_LEFT_RIGHT),
        ),
        "vflip": Recipe(
            "vflip",
            "image",
            "Mirror top to bottom (with probability p).",
            (_probability(1.0, "chance of mirroring"),),
            image=_flip(Image.Transpose.FLIP_TOP_BOTTOM),
        ),
        "rotate": Recipe(
            "rotate",
            "image",
            "Rotate by an angle drawn from degrees (counter-clockwise), keeping the size; the "
            "uncovered corners get the fill colour.",
            (
                Param("degrees", "range", (-15.0, 15.0), "angle range", low=-180.0, high=180.0),
                Param("fill", "fill", 0, "opaque grey level 0..255 or [r, g, b] for the corners"),
            ),
            image=_rotate,
        ),
        "crop": Recipe(
            "crop",
            "image",
            "Crop a random window whose sides are a fraction of the image's, then resize it "
            "back to the original size.",
            (
                Param(
                    "fraction",
                    "range",
                    (0.8, 1.0),
                    "side of the window as a fraction of the image's side",
                    low=0.05,
                    high=1.0,
                ),
            ),
            image=_crop,
        ),
        "color": Recipe(
            "color",
            "image",
            "Change brightness, contrast and saturation by factors drawn from their ranges.",
            (
                _factor("brightness", "brightness"),
                _factor("contrast", "contrast"),
                _factor("saturation", "saturation"),
            ),
            image=_color,
        ),
        "noise": Recipe(
            "noise",
            "image",
            "Add Gaussian noise of standard deviation sd (in 0..255 levels) to every pixel.",
            (Param("sd", "float", 8.0, "noise sd in pixel levels", low=0.0, high=255.0),),
            image=_noise,
        ),
    }
)
