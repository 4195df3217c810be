"""Out-of-sample class probabilities from a simple model, by stratified k-fold. No Django.

When the user has no model of their own, this is the input to cleanlab's label-issue detection:
every item's probabilities come from a model fitted on the other folds only, so an item never
scores its own label. The model suits the item kind:

- ``"text"``: TF-IDF (word 1–2 grams, optionally character 3–5 grams) + logistic regression.
  Items are strings, or ``(first, second)`` pairs for text-pair tasks (entailment, paraphrase).
- ``"tabular"``: a ``pandas.DataFrame`` of numbers and categories, possibly missing →
  histogram gradient boosting with native categorical splits.
- ``"image"``: file paths, encoded bytes, decoded arrays or PIL images → a 16 × 16 pixel and
  gradient summary + logistic regression.

``labels`` are class codes ``0 .. n_classes - 1``, one per item. Input the method cannot use (one
class only, a class with a single example, unreadable images, …) raises :class:`BaselineProblem`
with a message that names the item or class and says what to do.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from PIL import Image, ImageOps, UnidentifiedImageError
from sklearn.base import ClassifierMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

Kind = Literal["text", "tabular", "image"]
KINDS: tuple[Kind, ...] = ("text", "tabular", "image")
Progress = Callable[[int, int, str], None]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Features = npt.NDArray[np.float32]
Matrix: TypeAlias = sp.csr_matrix | npt.NDArray[Any]

DEFAULT_FOLDS = 5
DEFAULT_MAX_FEATURES = 200_000
DEFAULT_SVD_COMPONENTS = 64
# \w+ rather than scikit-learn's \w\w+: one-character tokens ("5 stars", "C", "I") carry meaning
# in short texts.
WORD_TOKENS = r"(?u)\b\w+\b"

# Text: saga fits a multinomial logistic regression on L2-normalised TF-IDF rows in ~25 passes
# (under 1 s a fold on 40k short texts); lbfgs took 5 to 10 times as long, and liblinear refuses
# three or more classes. C = 4 (weaker regularisation than the default 1) had the best held-out
# log loss on short texts. tol = 1e-3 leaves the probabilities within 0.01 (mean 1e-4) of the
# exact optimum in half the time of 1e-4.
TEXT_C = 4.0
TEXT_TOL = 1e-3
TEXT_MAX_ITER = 1000
# Image: pixel features are few and dense; lbfgs on standardised features is fast.
IMAGE_C = 1.0
IMAGE_MAX_ITER = 1000
IMAGE_SIZE = 16  # pixels a side: the grey thumbnail the model and Datalab see
COLOUR_GRID = 4  # the colour layout: 4 x 4 cells of mean RGB
ORIENTATION_BINS = 8
# Tabular: HistGradientBoosting's categorical splits take codes below max_bins (255); codes
# 0..253 are the most frequent categories of a column and 254 holds all the rarer ones.
TABULAR_MAX_ITER = 200
TABULAR_LEARNING_RATE = 0.1
MAX_CATEGORIES = 254
# One-hot columns per categorical column in the returned features (the rest share none).
FEATURE_CATEGORIES = 16
# Early stopping holds out 10% of a fold's training rows, stratified by class; below these sizes
# that split is too small (or impossible) and the fixed iteration count is used instead.
EARLY_STOPPING_MIN_ROWS = 1000
EARLY_STOPPING_MIN_CLASS = 10

# The smallest probability counted in the log loss (a wrong certain prediction costs ~34.5).
_LOG_LOSS_FLOOR = 1e-15


class BaselineProblem(ValueError):
    """Input that the cross-validated baseline cannot use; the message says why and what to do."""


@dataclass(frozen=True)
class FoldMetrics:
    """The held-out score of one fold's model."""

    fold: int
    n_train: int
    n_test: int
    accuracy: float
    log_loss: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.fold,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "accuracy": self.accuracy,
            "log_loss": self.log_loss,
        }


@dataclass(frozen=True)
class BaselineResult:
    """Out-of-sample probabilities, the features the model saw, and how it did.

    ``probabilities`` is (n_items, n_classes) float64, rows summing to 1; column ``c`` is class
    code ``c`` (0 for a class without examples). ``features`` is (n_items, d) float32 for
    Datalab's outlier and near-duplicate checks — the scaled pixel summary for images, the
    standardised numbers and one-hot categories for tables, an L2-normalised TruncatedSVD of
    the TF-IDF for text — or ``None`` (text with ``svd_components=0``). ``accuracy`` and
    ``log_loss`` are over all items' out-of-sample predictions.
    """

    kind: Kind
    probabilities: FloatArray
    features: Features | None
    params: dict[str, Any]
    fold_metrics: tuple[FoldMetrics, ...]
    accuracy: float
    log_loss: float
    notes: tuple[str, ...] = ()

    @property
    def folds(self) -> int:
        """The number of folds actually used (fewer than asked when a class is small)."""
        return len(self.fold_metrics)

    def to_dict(self) -> dict[str, Any]:
        n_items, n_classes = self.probabilities.shape
        return {
            "kind": self.kind,
            "n_items": int(n_items),
            "n_classes": int(n_classes),
            "folds": self.folds,
            "accuracy": self.accuracy,
            "log_loss": self.log_loss,
            "params": self.params,
            "fold_metrics": [fold.to_dict() for fold in self.fold_metrics],
            "feature_shape": None if self.features is None else list(self.features.shape),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# Labels and folds


def _labels(labels: npt.ArrayLike, n_items: int, n_classes: int) -> IntArray:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer):
        raise BaselineProblem(f"n_classes must be an integer, not {n_classes!r}")
    if n_classes < 2:
        raise BaselineProblem(f"n_classes is {n_classes}; a classifier needs at least 2 classes")
    raw = np.asarray(labels).reshape(-1)
    if raw.size != n_items:
        raise BaselineProblem(f"there are {n_items} items but {raw.size} labels; give one each")
    if raw.size and not (
        np.issubdtype(raw.dtype, np.integer)
        or (np.issubdtype(raw.dtype, np.floating) and np.all(np.mod(raw, 1) == 0))
    ):
        raise BaselineProblem(
            f"labels must be class codes 0..{n_classes - 1} (integers), not {raw.dtype} values"
        )
    codes = raw.astype(np.int64)
    outside = np.flatnonzero((codes < 0) | (codes >= n_classes))
    if outside.size:
        first = int(outside[0])
        raise BaselineProblem(
            f"item {first}: label {raw[first]} is not a class code 0..{n_classes - 1}"
            " (leave unlabelled items out)"
        )
    return codes


def _fold_count(labels: IntArray, n_classes: int, folds: int) -> tuple[int, list[str]]:
    """The folds to use: at most the smallest class's size, so each fold tests every class."""
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise BaselineProblem(f"folds must be an integer of at least 2, not {folds!r}")
    counts = np.bincount(labels, minlength=n_classes)
    present = np.flatnonzero(counts)
    if present.size < 2:
        which = f"only class {int(present[0])} is" if present.size else "no class is"
        raise BaselineProblem(
            f"{which} present in the labels: out-of-sample probabilities need examples of at "
            "least two classes. Label some items of another class first."
        )
    singles = np.flatnonzero(counts == 1)
    if singles.size:
        names = ", ".join(str(int(c)) for c in singles[:10])
        plural = "es" if singles.size > 1 else ""
        verb = "have" if singles.size > 1 else "has"
        raise BaselineProblem(
            f"class{plural} {names} {verb} a single example: a model that has not seen"
            " the item has no example of its class, so its probability cannot be "
            "estimated out of sample. Label more items of the class, merge it into another class, "
            "or leave its item out of the analysis."
        )
    notes = []
    smallest = int(counts[present].min())
    if smallest < folds:
        notes.append(
            f"{folds} folds asked, {smallest} used: the smallest class has {smallest} examples "
            "and each fold must hold one of them out"
        )
        folds = smallest
    absent = np.flatnonzero(counts == 0)
    if absent.size:
        names = ", ".join(str(int(c)) for c in absent[:20])
        notes.append(f"no examples of class {names}: its probability is 0 for every item")
    return int(folds), notes


# ---------------------------------------------------------------------------------------------
# Cross-validation


def _full_proba(model: Any, rows: Matrix, n_classes: int) -> FloatArray:
    """predict_proba with a column for every class code, renormalised in float64."""
    # A class the fold's model never saw gets 0: it was not in the training data.
    fitted = np.asarray(model.predict_proba(rows), dtype=np.float64)
    classes = np.asarray(model.classes_, dtype=np.int64)
    result = np.zeros((fitted.shape[0], n_classes))
    result[:, classes] = fitted
    result /= result.sum(axis=1, keepdims=True)
    return result


def _log_loss(probabilities: FloatArray, labels: IntArray) -> float:
    picked = probabilities[np.arange(labels.size), labels]
    return float(-np.mean(np.log(np.maximum(picked, _LOG_LOSS_FLOOR))))


def _cross_validate(
    make_model: Callable[[], ClassifierMixin],
    rows: Matrix,
    labels: IntArray,
    n_classes: int,
    *,
    folds: int,
    seed: int,
    progress: Progress | None,
    notes: list[str],
) -> tuple[FloatArray, tuple[FoldMetrics, ...]]:
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probabilities = np.zeros((labels.size, n_classes))
    metrics = []
    unconverged = []
    for fold, (train, test) in enumerate(splitter.split(np.zeros(labels.size), labels), 1):
        model = make_model()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(rows[train], labels[train])
        for warning in caught:
            if issubclass(warning.category, ConvergenceWarning):
                unconverged.append(fold)
            else:
                warnings.warn(warning.message, warning.category, stacklevel=2)
        fold_proba = _full_proba(model, rows[test], n_classes)
        probabilities[test] = fold_proba
        fold_labels = labels[test]
        accuracy = float(np.mean(fold_proba.argmax(axis=1) == fold_labels))
        metrics.append(
            FoldMetrics(
                fold=fold,
                n_train=int(train.size),
                n_test=int(test.size),
                accuracy=accuracy,
                log_loss=_log_loss(fold_proba, fold_labels),
            )
        )
        if progress is not None:
            progress(fold, folds, f"fold {fold} of {folds}: held-out accuracy {accuracy:.3f}")
    if unconverged:
        folds_text = ", ".join(str(f) for f in unconverged)
        notes.append(
            f"the model stopped at its iteration limit before converging in fold {folds_text}"
        )
    return probabilities, tuple(metrics)


# ---------------------------------------------------------------------------------------------
# Text


def _text_items(inputs: Sequence[Any]) -> tuple[list[str], list[str] | None]:
    """Single texts, or the two sides of text pairs (then the second list is not None)."""
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence | np.ndarray | pd.Series):
        raise BaselineProblem("text inputs must be a list of strings or of (str, str) pairs")
    items = list(inputs)
    pairs = bool(items) and isinstance(items[0], tuple | list)
    first: list[str] = []
    second: list[str] = []
    for index, item in enumerate(items):
        if pairs:
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise BaselineProblem(
                    f"item {index}: expected a (text, text) pair like item 0, got {item!r:.80}"
                )
            sides = tuple(item)
        elif isinstance(item, str):
            sides = (item,)
        else:
            raise BaselineProblem(f"item {index}: expected a string, got {type(item).__name__}")
        for side in sides:
            if not isinstance(side, str):
                raise BaselineProblem(f"item {index}: expected a string, got {type(side).__name__}")
        first.append(sides[0])
        if pairs:
            second.append(sides[1])
    return first, (second if pairs else None)


def _vectorizer(analyzer: str, max_features: int, min_df: int) -> TfidfVectorizer:
    if analyzer == "word":
        return TfidfVectorizer(
            ngram_range=(1, 2),
            token_pattern=WORD_TOKENS,
            sublinear_tf=True,
            min_df=min_df,
            max_features=max_features,
            dtype=np.float32,
        )
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )


def _tfidf(
    texts: list[str], second: list[str] | None, max_features: int, char_ngrams: bool
) -> tuple[sp.csr_matrix, dict[str, Any], list[str]]:
    """Fit TF-IDF on all texts at once and return the rows, the settings and notes.

    The vectoriser is fitted once on every item's text rather than inside each fold: it sees
    no labels (vocabulary and document frequencies only), so it leaks nothing about the label
    a fold's model is asked to predict, and fitting once is several times faster.
    """
    notes: list[str] = []
    corpus = texts if second is None else texts + second
    analyzers = ["word", "char_wb"] if char_ngrams else ["word"]
    blocks: list[sp.csr_matrix] = []
    settings: dict[str, Any] = {
        "word_ngram_range": [1, 2],
        "char_ngram_range": [3, 5] if char_ngrams else None,
        "sublinear_tf": True,
        "max_features": max_features,
        "fitted_on": "all items, without labels",
    }
    vocabulary: dict[str, int] = {}
    for analyzer in analyzers:
        try:
            vectorizer = _vectorizer(analyzer, max_features, min_df=2)
            matrix = vectorizer.fit_transform(corpus)
            min_df = 2
        except ValueError:
            # Every term occurs once (a tiny or very varied corpus): keep them all.
            try:
                vectorizer = _vectorizer(analyzer, max_features, min_df=1)
                matrix = vectorizer.fit_transform(corpus)
            except ValueError:
                raise BaselineProblem(
                    "the texts contain no words to learn from (all empty or punctuation only)"
                ) from None
            min_df = 1
            notes.append(f"{analyzer} TF-IDF: no term occurs twice, so every term is kept")
        settings[f"{analyzer}_min_df"] = min_df
        vocabulary[analyzer] = len(vectorizer.vocabulary_)
        blocks.append(sp.csr_matrix(matrix))
    settings["vocabulary"] = vocabulary
    # Each block's rows have unit length; scale so the stacked row does too.
    rows = sp.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    if len(blocks) > 1:
        rows = rows * np.float32(1 / math.sqrt(len(blocks)))
    if second is not None:
        # Pairs: one vocabulary for both sides, two blocks side by side [first | second], so
        # the model can weigh a word differently by the side it is on; joined into one text
        # with a separator token, a word would count the same on either side.
        n = len(texts)
        rows = sp.hstack([rows[:n], rows[n:]], format="csr") * np.float32(1 / math.sqrt(2))
        settings["pairs"] = "two TF-IDF blocks [first | second], one shared vocabulary"
    return sp.csr_matrix(rows, dtype=np.float32), settings, notes


def _svd_features(
    rows: sp.csr_matrix, components: int, seed: int
) -> tuple[Features | None, int, list[str]]:
    if components <= 0:
        return None, 0, []
    usable = min(components, rows.shape[1] - 1, rows.shape[0] - 1)
    if usable < 1:
        return None, 0, ["too few texts or terms for an SVD embedding; no features returned"]
    # Two power iterations instead of five: half the time, and a kNN embedding needs no more.
    svd = TruncatedSVD(n_components=usable, n_iter=2, random_state=seed)
    embedded = svd.fit_transform(rows)
    norms = np.linalg.norm(embedded, axis=1, keepdims=True)
    # An all-zero row (no known term) stays zero rather than dividing by zero.
    embedded = embedded / np.where(norms > 0, norms, 1.0)
    notes = [] if usable == components else [f"SVD embedding has {usable} dimensions"]
    return embedded.astype(np.float32), usable, notes


def _text_model(seed: int) -> Callable[[], ClassifierMixin]:
    def make() -> ClassifierMixin:
        return LogisticRegression(
            C=TEXT_C, solver="saga", tol=TEXT_TOL, max_iter=TEXT_MAX_ITER, random_state=seed
        )

    return make


# ---------------------------------------------------------------------------------------------
# Tabular


def _category_codes(column: pd.Series) -> tuple[FloatArray, list[Any]]:
    """Codes 0.. by descending frequency (ties by text), rare ones lumped, NaN where missing."""
    as_text = column.astype("string")
    counts = as_text.value_counts(dropna=True)
    order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    levels = [value for value, _ in order]
    lookup = {value: code for code, value in enumerate(levels[:MAX_CATEGORIES])}
    codes = as_text.map(lambda v: lookup.get(v, MAX_CATEGORIES), na_action="ignore")
    return codes.to_numpy(dtype=np.float64, na_value=np.nan), levels


def _tabular_matrix(frame: pd.DataFrame) -> tuple[FloatArray, npt.NDArray[np.bool_], list[str]]:
    """A float matrix (NaN = missing) and which of its columns are category codes."""
    columns: list[FloatArray] = []
    categorical: list[bool] = []
    notes: list[str] = []
    for name in frame.columns:
        column = frame[name]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype)
            or pd.api.types.is_timedelta64_dtype(dtype)
        ):
            codes, levels = _category_codes(column)
            if len(levels) > MAX_CATEGORIES:
                notes.append(
                    f"column {name!r}: {len(levels)} categories; the {MAX_CATEGORIES} most "
                    "frequent are kept and the rest share one"
                )
            columns.append(codes)
            categorical.append(True)
            continue
        if pd.api.types.is_datetime64_any_dtype(dtype):
            stamps = pd.to_datetime(column)
            # Seconds since the epoch; NaT becomes NaN.
            values = (stamps - pd.Timestamp(0, tz=stamps.dt.tz)).dt.total_seconds()
        elif pd.api.types.is_timedelta64_dtype(dtype):
            values = column.dt.total_seconds()
        else:
            values = column.astype("Float64")
        columns.append(values.to_numpy(dtype=np.float64, na_value=np.nan))
        categorical.append(False)
    matrix = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    return matrix, np.array(categorical, dtype=bool), notes


def _tabular_features(matrix: FloatArray, categorical: npt.NDArray[np.bool_]) -> Features:
    """Numbers standardised (missing → the mean, 0), categories one-hot over 1/√2.

    With that scale two rows that differ in one category are as far apart as two rows one
    standard deviation apart in one number.
    """
    parts: list[FloatArray] = []
    for index in range(matrix.shape[1]):
        values = matrix[:, index]
        known = ~np.isnan(values)
        if categorical[index]:
            top = np.arange(min(FEATURE_CATEGORIES, int(np.nanmax(values, initial=-1)) + 1))
            parts.append((values[:, None] == top[None, :]) / math.sqrt(2))
            continue
        if not known.any():
            continue
        mean = float(values[known].mean())
        std = float(values[known].std())
        scaled = np.where(known, (values - mean) / (std if std > 0 else 1.0), 0.0)
        parts.append(scaled[:, None])
    if not parts:
        return np.zeros((matrix.shape[0], 0), dtype=np.float32)
    return np.hstack(parts).astype(np.float32)


def _early_stopping(labels: IntArray, folds: int) -> bool:
    """Whether every fold's training rows are enough for a stratified 10% validation split."""
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    smallest_train = labels.size - math.ceil(labels.size / folds)
    smallest_class = int(counts.min()) - math.ceil(int(counts.min()) / folds)
    return (
        smallest_train >= EARLY_STOPPING_MIN_ROWS
        and smallest_class >= EARLY_STOPPING_MIN_CLASS
        and smallest_train // 10 >= 2 * counts.size
    )


def _tabular_model(
    categorical: npt.NDArray[np.bool_], early_stopping: bool, seed: int
) -> Callable[[], ClassifierMixin]:
    def make() -> ClassifierMixin:
        return HistGradientBoostingClassifier(
            learning_rate=TABULAR_LEARNING_RATE,
            max_iter=TABULAR_MAX_ITER,
            categorical_features=categorical if categorical.any() else None,
            early_stopping=early_stopping,
            random_state=seed,
        )

    return make


# ---------------------------------------------------------------------------------------------
# Images


def _as_rgb_array(item: Any) -> npt.NDArray[np.uint8]:
    """An RGB uint8 array (H, W, 3) from a path, encoded bytes, an array or a PIL image."""
    if isinstance(item, str | os.PathLike):
        with Image.open(item) as opened:
            return _image_to_rgb(_decoded(opened))
    if isinstance(item, bytes | bytearray | memoryview):
        with Image.open(io.BytesIO(bytes(item))) as opened:
            return _image_to_rgb(_decoded(opened))
    if isinstance(item, Image.Image):
        return _image_to_rgb(item)
    if isinstance(item, np.ndarray):
        return _array_to_rgb(item)
    raise TypeError(f"expected a file path, bytes, an array or an image, not {type(item).__name__}")


def _decoded(opened: Image.Image) -> Image.Image:
    """A file's image as a viewer shows it: EXIF orientation applied, decoded small if it can."""
    # A JPEG can decode at 1/2, 1/4 or 1/8 scale straight away (kept at least 4x our size):
    # far faster on photos. Other formats ignore the hint.
    opened.draft("RGB", (IMAGE_SIZE * 4, IMAGE_SIZE * 4))
    return ImageOps.exif_transpose(opened)


def _image_to_rgb(image: Image.Image) -> npt.NDArray[np.uint8]:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return _array_to_rgb(np.asarray(image))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent areas count as white, as a viewer shows them on a page.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    small = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


def _array_to_rgb(array: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Decoded pixels to uint8 RGB: floats in 0..1 (or 0..255), 16-bit scaled down, grey → RGB."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"an array image must be (H, W), (H, W, 3) or (H, W, 4), not {array.shape}"
        )
    if array.size == 0:
        raise ValueError("the image has no pixels")
    values = array.astype(np.float64)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(values)):
            raise ValueError("the image has NaN or infinite pixel values")
        if values.min() >= 0 and values.max() <= 1:
            values = values * 255
    elif array.dtype.itemsize > 1 and values.max() > 255:
        values = values / 257  # 16-bit
    pixels = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[:, :, 3:4].astype(np.float64) / 255
        pixels = np.rint(pixels[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    image = Image.fromarray(pixels if pixels.ndim == 3 else np.ascontiguousarray(pixels))
    small = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


def _image_features(rgb: npt.NDArray[np.uint8]) -> Features:
    """256 grey pixels, 4 × 4 × 3 mean colours and 8 gradient orientations, all in 0..1."""
    colour = rgb.astype(np.float32) / 255
    grey = colour @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma
    cell = IMAGE_SIZE // COLOUR_GRID
    layout = colour.reshape(COLOUR_GRID, cell, COLOUR_GRID, cell, 3).mean(axis=(1, 3))
    # Pixels alone cannot tell horizontal from vertical stripes at a random phase; the mean
    # gradient magnitude per (unsigned) orientation can, cheaply.
    dy, dx = np.gradient(grey)
    magnitude = np.hypot(dx, dy) / np.sqrt(2)  # at most 1 for pixels in 0..1
    angle = np.mod(np.arctan2(dy, dx), np.pi)
    bins = np.minimum((angle / np.pi * ORIENTATION_BINS).astype(np.int64), ORIENTATION_BINS - 1)
    orientation = np.bincount(bins.ravel(), weights=magnitude.ravel(), minlength=ORIENTATION_BINS)
    orientation = orientation / magnitude.size
    return np.concatenate([grey.ravel(), layout.ravel(), orientation.astype(np.float32)])


def _image_matrix(inputs: Sequence[Any] | npt.NDArray[Any]) -> Features:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence | np.ndarray | pd.Series):
        raise BaselineProblem("image inputs must be a list of file paths, bytes, arrays or images")
    rows = []
    for index, item in enumerate(inputs):
        try:
            rows.append(_image_features(_as_rgb_array(item)))
        except (OSError, ValueError, TypeError, Image.DecompressionBombError) as error:
            reason = str(error) or type(error).__name__
            if isinstance(error, UnidentifiedImageError):
                reason = "not an image format Pillow can read"
            raise BaselineProblem(f"item {index}: cannot read the image: {reason}") from error
    width = IMAGE_SIZE * IMAGE_SIZE + COLOUR_GRID * COLOUR_GRID * 3 + ORIENTATION_BINS
    return np.vstack(rows) if rows else np.empty((0, width), dtype=np.float32)


def _image_model(seed: int) -> Callable[[], ClassifierMixin]:
    def make() -> ClassifierMixin:
        return cast(
            ClassifierMixin,
            make_pipeline(
                StandardScaler(),
                LogisticRegression(C=IMAGE_C, max_iter=IMAGE_MAX_ITER, random_state=seed),
            ),
        )

    return make


# ---------------------------------------------------------------------------------------------
# The entry point


def _count(inputs: Any) -> int:
    try:
        return len(inputs)
    except TypeError:
        raise BaselineProblem(
            f"inputs must be a list (or a DataFrame for tabular data), not {type(inputs).__name__}"
        ) from None


@dataclass(frozen=True)
class _Prepared:
    rows: Matrix
    features: Features | None
    make_model: Callable[[], ClassifierMixin]
    params: dict[str, Any]
    notes: list[str]


def _prepare_text(
    inputs: Any, *, seed: int, max_features: int, char_ngrams: bool, svd_components: int
) -> _Prepared:
    if isinstance(max_features, bool) or not isinstance(max_features, int) or max_features < 1:
        raise BaselineProblem(f"max_features must be a positive integer, not {max_features!r}")
    first, second = _text_items(inputs)
    rows, vectorizer, notes = _tfidf(first, second, max_features, char_ngrams)
    features, dimensions, svd_notes = _svd_features(rows, svd_components, seed)
    params = {
        "model": "LogisticRegression",
        "hyperparameters": {
            "C": TEXT_C,
            "solver": "saga",
            "tol": TEXT_TOL,
            "max_iter": TEXT_MAX_ITER,
        },
        "vectorizer": vectorizer,
        "features": {"kind": "TruncatedSVD of the TF-IDF, L2-normalised", "dim": dimensions},
    }
    return _Prepared(rows, features, _text_model(seed), params, notes + svd_notes)


def _prepare_tabular(inputs: Any, codes: IntArray, *, folds: int, seed: int) -> _Prepared:
    if not isinstance(inputs, pd.DataFrame):
        raise BaselineProblem("tabular inputs must be a pandas DataFrame, one row per item")
    matrix, categorical, notes = _tabular_matrix(inputs)
    if matrix.shape[1] == 0:
        raise BaselineProblem("the table has no columns to learn from")
    features = _tabular_features(matrix, categorical)
    early = _early_stopping(codes, folds)
    names = [str(name) for name in inputs.columns]
    params = {
        "model": "HistGradientBoostingClassifier",
        "hyperparameters": {
            "learning_rate": TABULAR_LEARNING_RATE,
            "max_iter": TABULAR_MAX_ITER,
            "early_stopping": early,
            "validation_fraction": 0.1 if early else None,
        },
        "columns": {
            "numeric": [name for name, cat in zip(names, categorical, strict=True) if not cat],
            "categorical": [name for name, cat in zip(names, categorical, strict=True) if cat],
        },
        "features": {
            "kind": "numbers standardised, categories one-hot (top 16) over sqrt(2)",
            "dim": int(features.shape[1]),
        },
    }
    return _Prepared(matrix, features, _tabular_model(categorical, early, seed), params, notes)


def _prepare_image(inputs: Any, *, seed: int) -> _Prepared:
    features = _image_matrix(inputs)
    params = {
        "model": "LogisticRegression",
        "hyperparameters": {
            "C": IMAGE_C,
            "solver": "lbfgs",
            "max_iter": IMAGE_MAX_ITER,
            "scaling": "StandardScaler per fold",
        },
        "features": {
            "kind": (
                f"grey {IMAGE_SIZE}x{IMAGE_SIZE} pixels, {COLOUR_GRID}x{COLOUR_GRID} mean RGB, "
                f"{ORIENTATION_BINS} gradient orientations; 0..1"
            ),
            "dim": int(features.shape[1]),
            "resize": f"squashed to {IMAGE_SIZE}x{IMAGE_SIZE} (aspect ratio not kept), box filter",
        },
    }
    return _Prepared(features, features, _image_model(seed), params, [])


def cross_validated_probabilities(
    kind: str,
    inputs: Any,
    labels: npt.ArrayLike,
    n_classes: int,
    *,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    progress: Progress | None = None,
    max_features: int = DEFAULT_MAX_FEATURES,
    char_ngrams: bool = False,
    svd_components: int = DEFAULT_SVD_COMPONENTS,
    threads: int | None = 1,
) -> BaselineResult:
    """Out-of-sample class probabilities for every item by stratified k-fold cross-validation.

    ``inputs``: for ``"text"`` a list of strings or of ``(str, str)`` pairs; for ``"tabular"`` a
    DataFrame (numeric, boolean and datetime columns as numbers, anything else as categories,
    missing values allowed); for ``"image"`` a list of file paths, encoded bytes, decoded arrays
    ((H, W), (H, W, 3) or (H, W, 4); uint8, 16-bit, or floats in 0..1) or PIL images, each
    squashed to 16 × 16 whatever its aspect ratio. ``labels``: one class code per item.

    Folds are stratified and shuffled with ``seed``; with a class smaller than ``folds`` the
    folds drop to its size (a note says so). The same inputs and seed give identical results.
    ``progress(done, total, message)`` is called once the features are built (``done`` 0) and
    after each fold. Text only: ``max_features`` caps each TF-IDF vocabulary, ``char_ngrams``
    adds character 3–5 grams (about three times the run time), ``svd_components`` sizes the
    returned embedding (0 for none). ``threads`` caps the BLAS/OpenMP threads of the fits
    (``None``: the libraries' default, one per core).
    """
    if kind not in KINDS:
        raise BaselineProblem(f"unknown item kind {kind!r}; expected one of {', '.join(KINDS)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise BaselineProblem(f"seed must be an integer from 0 to 2**32 - 1, not {seed!r}")
    seed = int(seed)
    n_items = _count(inputs)
    codes = _labels(labels, n_items, n_classes)
    used_folds, fold_notes = _fold_count(codes, n_classes, folds)
    # One thread by default: on a busy 2-core machine (another job, another worker process)
    # OpenBLAS and OpenMP threads that spin-wait for a busy core made a fold 10 to 30 times
    # slower, while a second thread on an idle machine saved at most a third.
    with threadpool_limits(limits=threads):
        if kind == "text":
            prepared = _prepare_text(
                inputs,
                seed=seed,
                max_features=max_features,
                char_ngrams=char_ngrams,
                svd_components=svd_components,
            )
        elif kind == "tabular":
            prepared = _prepare_tabular(inputs, codes, folds=used_folds, seed=seed)
        else:
            prepared = _prepare_image(inputs, seed=seed)
        notes = fold_notes + prepared.notes
        if progress is not None:
            progress(0, used_folds, f"features ready; fitting {used_folds} folds")
        probabilities, fold_metrics = _cross_validate(
            prepared.make_model,
            prepared.rows,
            codes,
            n_classes,
            folds=used_folds,
            seed=seed,
            progress=progress,
            notes=notes,
        )
    params = {"folds": used_folds, "folds_asked": int(folds), "seed": seed, "threads": threads}
    return BaselineResult(
        kind=kind,
        probabilities=probabilities,
        features=prepared.features,
        params=params | prepared.params,
        fold_metrics=fold_metrics,
        accuracy=float(np.mean(probabilities.argmax(axis=1) == codes)),
        log_loss=_log_loss(probabilities, codes),
        notes=tuple(notes),
    )
