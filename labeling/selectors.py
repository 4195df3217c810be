"""Reads that are more than a ``.get``: permissions, listings, bulk frames for analysis."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db.models import Count, F, Max, Q, QuerySet

from labeling.models import (
    Annotation,
    AnnotationSource,
    Dataset,
    Decision,
    Item,
    Label,
    LabelEvent,
    Membership,
    Origin,
    Role,
)
from workbench import db


def datasets_for_user(*, user: Any) -> QuerySet[Dataset]:
    """The datasets a user belongs to, with their labels."""
    return Dataset.objects.filter(memberships__user=user).prefetch_related("labels").distinct()


def role_of(*, dataset_id: int, user: Any) -> str | None:
    """The user's role in a dataset, or None for an outsider."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(dataset_id=dataset_id, user=user)
        .values_list("role", flat=True)
        .first()
    )


def members_visible(*, dataset: Dataset, role: str, user: Any) -> QuerySet[Membership]:
    """The memberships a member may see: all of them for owners and reviewers; annotators,
    who label blind, see only their own (not who else labels)."""
    members = Membership.objects.filter(dataset=dataset).select_related("user").order_by("id")
    if role == Role.ANNOTATOR:
        members = members.filter(user=user)
    return members


def dataset_state(*, dataset_id: int) -> dict[str, Any]:
    """Counts and high-water marks that identify what a job read."""
    items = Item.objects.filter(dataset_id=dataset_id).aggregate(n=Count("id"), last=Max("id"))
    # Through the labellers (a dataset's own), not the items: a join with a small table.
    annotations = Annotation.objects.filter(labeller__dataset_id=dataset_id).count()
    last_event = LabelEvent.objects.filter(dataset_id=dataset_id).aggregate(m=Max("id"))["m"]
    return {
        "items": items["n"],
        "max_item_id": items["last"],
        "annotations": annotations,
        "last_label_event_id": last_event,
    }


def labelled_by(*, dataset: Dataset, user: Any) -> int:
    """How many items of the dataset this user has labelled."""
    return Annotation.objects.filter(labeller__dataset=dataset, labeller__user=user).count()


def dataset_progress(*, dataset_ids: list[int], user: Any = None) -> dict[int, dict[str, int]]:
    """Per dataset: items, items with labels, items with all the labels they need (overlap),
    annotations, and (given a user) how many of them are that user's — grouped queries, the
    same number for any number of datasets."""
    progress = {
        pk: {"items": 0, "labelled": 0, "complete": 0, "annotations": 0, "mine": 0}
        for pk in dataset_ids
    }
    if user is not None:
        for pk, n in (
            Annotation.objects.filter(labeller__dataset_id__in=dataset_ids, labeller__user=user)
            .values("labeller__dataset_id")
            .annotate(n=Count("id"))
            .values_list("labeller__dataset_id", "n")
        ):
            progress[pk]["mine"] = n
    for pk, items, labelled, complete in (
        Item.objects.filter(dataset_id__in=dataset_ids)
        .values("dataset_id")
        .annotate(
            items=Count("id"),
            labelled=Count("id", filter=Q(annotation_count__gt=0)),
            complete=Count("id", filter=Q(annotation_count__gte=F("dataset__annotators_per_item"))),
        )
        .values_list("dataset_id", "items", "labelled", "complete")
    ):
        progress[pk].update(items=items, labelled=labelled, complete=complete)
    for pk, n_annotations in (
        Annotation.objects.filter(item__dataset_id__in=dataset_ids)
        .values("item__dataset_id")
        .annotate(n=Count("id"))
        .values_list("item__dataset_id", "n")
    ):
        progress[pk]["annotations"] = n_annotations
    return progress


def label_key(name: str) -> int:
    """A label's stable tie-break key (from its name, so copies of a dataset agree)."""
    return int(hashlib.blake2b(name.encode(), digest_size=7).hexdigest(), 16)


def item_key(content_hash: str) -> int:
    """An item's stable tie-break key: the first 60 bits of its content hash."""
    return int(content_hash[:15] or "0", 16)


# The same as item_key, computed by PostgreSQL.
ITEM_KEY_SQL = "('x' || lpad(substr(i.content_hash, 1, 15), 16, '0'))::bit(64)::bigint"

# Up to this many items, annotation_pairs reads their labels with one plain query by id.
FEW_ITEMS = 10_000


def annotation_pairs(
    *, dataset_id: int, item_ids: list[int] | None = None, import_batch_id: int | None = None
) -> dict[str, Any]:
    """The human and imported labels of some items as arrays — item id, label id, and stable
    tie-break keys (the item's content hash, the label's name) — with the items concerned and
    the reviewer decisions among them. Items: the given ones, those an import batch labelled,
    or (neither given) every item of the dataset."""
    touched: np.ndarray | None = None
    if item_ids is not None:
        touched = np.unique(np.asarray(item_ids, dtype=np.int64))
    elif import_batch_id is not None:
        # Items the batch created without labels keep their defaults: nothing to recompute.
        rows = db.fetch_all(
            "SELECT DISTINCT item_id FROM labeling_annotation WHERE import_batch_id = %s",
            [import_batch_id],
        )
        touched = np.unique(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    few = touched is not None and touched.size <= FEW_ITEMS
    few_ids = touched.tolist() if few and touched is not None else []
    annotations = Annotation.objects.filter(item__dataset_id=dataset_id).exclude(
        source=AnnotationSource.PRELABEL
    )
    decisions = Decision.objects.filter(item__dataset_id=dataset_id)
    if few:
        annotations = annotations.filter(item_id__in=few_ids)
        decisions = decisions.filter(item_id__in=few_ids)
    # The item's content hash keys the consensus tie-break, so that a copy of the dataset
    # (other ids, same content) gets the same reference labels.
    if not few and db.is_postgres():
        # Many labels: one COPY, read by Arrow (the hash prefix as a number computed in SQL).
        columns = db.query_columns(
            f"SELECT a.item_id, a.label_id, {ITEM_KEY_SQL}, "
            "a.labeller_id FROM labeling_annotation a "
            "JOIN labeling_item i ON i.id = a.item_id "
            f"WHERE a.labeller_id IN (SELECT id FROM labeling_labeller WHERE dataset_id = "
            f"{int(dataset_id)}) AND a.source <> '{AnnotationSource.PRELABEL.value}'",
            [],
            ["int64", "int64", "int64", "int64"],
        )
        flat = np.stack(columns, axis=1) if columns[0].size else np.zeros((0, 4), np.int64)
    else:
        quads = annotations.values_list("item_id", "label_id", "item__content_hash", "labeller_id")
        # A server-side cursor for many rows; a plain query (one round trip) for a few items.
        annotation_rows = quads if few else quads.iterator(chunk_size=20_000)
        flat = np.fromiter(
            (v for row in annotation_rows for v in (row[0], row[1], item_key(row[2]), row[3])),
            dtype=np.int64,
        ).reshape(-1, 4)
    if touched is None:
        touched = np.fromiter(
            Item.objects.filter(dataset_id=dataset_id)
            .order_by("id")
            .values_list("id", flat=True)
            .iterator(chunk_size=50_000),
            dtype=np.int64,
        )
    elif not few:
        flat = flat[np.isin(flat[:, 0], touched)]
    decided_rows = list(decisions.values_list("item_id", "label_id"))
    if decided_rows and not few:
        keep = np.isin(np.array([r[0] for r in decided_rows], dtype=np.int64), touched)
        decided_rows = [r for r, k in zip(decided_rows, keep.tolist(), strict=True) if k]
    label_keys = {
        pk: label_key(name)
        for pk, name in Label.objects.filter(dataset_id=dataset_id).values_list("id", "name")
    }
    label_ids = flat[:, 1]
    key_of = np.zeros(max(label_keys, default=0) + 1, dtype=np.int64)
    for pk, key in label_keys.items():
        key_of[pk] = key
    return {
        "item_id": flat[:, 0],
        "label_id": label_ids,
        "item_key": flat[:, 2],
        "labeller_id": flat[:, 3],
        "label_key": key_of[label_ids],
        "touched": touched,
        "decided": dict(decided_rows),
    }


@dataclass(frozen=True)
class AnnotationFrame:
    """Every human and imported label of a dataset's (non-augmented) items, as arrays for the
    numeric code: ``annotations`` has int64 columns item, labeller, label (the label's position
    in ``label_ids``), item_key (the item's tie-break key) and float time_ms (NaN where
    unknown); ``decided`` maps item id → label position of the reviewer's decisions;
    ``label_keys`` are the labels' tie-break keys, by position."""

    annotations: pd.DataFrame
    decided: pd.Series
    label_ids: list[int]
    label_names: list[str]
    label_keys: npt.NDArray[np.int64]


def annotation_frame(*, dataset_id: int, keys: bool = True) -> AnnotationFrame:
    """All labels of a dataset in one frame (COPY on PostgreSQL): pre-labels and augmented
    items are left out, as they say nothing about how people agree. Without ``keys`` the
    items' tie-break keys (a second read of every item) are left out: ``item_key`` is 0."""
    labels = list(
        Label.objects.filter(dataset_id=dataset_id)
        .order_by("position", "id")
        .values_list("id", "name")
    )
    label_ids = [pk for pk, _ in labels]
    code = np.full(max(label_ids, default=0) + 1, -1, dtype=np.int64)
    code[label_ids] = np.arange(len(label_ids))
    item, labeller, label, time_ms = db.query_columns(
        "SELECT a.item_id, a.labeller_id, a.label_id, a.time_spent_ms "
        "FROM labeling_annotation a WHERE a.labeller_id IN "
        f"(SELECT id FROM labeling_labeller WHERE dataset_id = {int(dataset_id)}) "
        f"AND a.source <> '{AnnotationSource.PRELABEL.value}'",
        [],
        ["int64", "int64", "int64", "float64"],
    )
    # The items' tie-break keys, looked up by id (cheaper than joining a million labels).
    if not keys:
        key_ids, keys_found = np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    elif db.is_postgres():
        key_ids, keys_found = db.query_columns(
            f"SELECT i.id, {ITEM_KEY_SQL} FROM labeling_item i "
            f"WHERE i.dataset_id = {int(dataset_id)}",
            [],
            ["int64", "int64"],
        )
    else:
        pairs = db.fetch_all(
            "SELECT id, content_hash FROM labeling_item WHERE dataset_id = %s",
            [dataset_id],
        )
        key_ids = np.array([p[0] for p in pairs], dtype=np.int64)
        keys_found = np.array([item_key(p[1]) for p in pairs], dtype=np.int64)
    order = np.argsort(key_ids)
    key_ids, keys_found = key_ids[order], keys_found[order]
    position = np.minimum(np.searchsorted(key_ids, item), max(key_ids.size - 1, 0))
    key = keys_found[position] if key_ids.size else np.zeros(item.size, dtype=np.int64)
    frame = pd.DataFrame(
        {
            "item": item,
            "labeller": labeller,
            "label": code[label],
            "time_ms": time_ms,
            "item_key": key,
        }
    )
    augmented = list(
        Item.objects.filter(dataset_id=dataset_id, parent__isnull=False).values_list(
            "id", flat=True
        )
    )
    if augmented:
        frame = frame[~frame["item"].isin(augmented)]
    frame = frame.sort_values(["item", "labeller"], kind="stable", ignore_index=True)
    decided_rows = list(
        Decision.objects.filter(item__dataset_id=dataset_id).values_list("item_id", "label_id")
    )
    decided = pd.Series(
        [int(code[label_id]) for _, label_id in decided_rows],
        index=[item_id for item_id, _ in decided_rows],
        dtype="int64",
    )
    return AnnotationFrame(
        frame,
        decided,
        label_ids,
        [name for _, name in labels],
        np.array([label_key(name) for _, name in labels], dtype=np.int64),
    )


ITEM_EXPORT_COLUMNS = (
    "id",
    "external_id",
    "data_json",
    "metadata_json",
    "origin",
    "import_batch_id",
    "parent__external_id",
    "recipe_json",
    "reference_label__name",
    "reference_method",
    "reference_confidence",
)
_ITEM_EXPORT_SQL = """
    SELECT i.id, i.external_id, CAST(i.data AS TEXT), CAST(i.metadata AS TEXT), i.origin,
           i.import_batch_id, p.external_id, CAST(i.recipe AS TEXT), l.name, i.reference_method,
           i.reference_confidence
    FROM labeling_item i
    LEFT JOIN labeling_item p ON p.id = i.parent_id
    LEFT JOIN labeling_label l ON l.id = i.reference_label_id
    WHERE i.dataset_id >= %s AND i.dataset_id <= %s AND i.id > %s
    ORDER BY i.dataset_id, i.id
    LIMIT %s
"""  # a range on the dataset keeps PostgreSQL on the (dataset, id) index (see ItemList)


@dataclass
class ExportChunk:
    """Items as columns (lists keyed by ITEM_EXPORT_COLUMNS, plus ``annotations``: per item a
    list of dicts); ``rows`` gives the same as one dict per item. Data, metadata and recipe are
    the stored JSON text, not decoded: most writers pass them on as they are."""

    columns: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(self.columns["id"])

    @property
    def rows(self) -> list[dict[str, Any]]:
        keys = list(self.columns)
        return [
            dict(zip(keys, values, strict=True))
            for values in zip(*self.columns.values(), strict=True)
        ]


def export_chunks(
    *,
    dataset: Dataset,
    chunk_size: int = 5000,
    only: set[int] | None = None,
    augmented: str = "include",
) -> Iterator[ExportChunk]:
    """Every item with its annotations (or only the items whose ids are in ``only``), in id
    order, a chunk at a time (two queries a chunk). ``augmented``: ``include`` augmented items,
    ``exclude`` them, or export ``only`` them."""
    origin_at = ITEM_EXPORT_COLUMNS.index("origin")
    keep_origin = {
        "include": lambda origin: True,
        "exclude": lambda origin: origin != Origin.AUGMENTED,
        "only": lambda origin: origin == Origin.AUGMENTED,
    }[augmented]
    last_id = 0
    while True:
        rows = db.fetch_all(_ITEM_EXPORT_SQL, [dataset.pk, dataset.pk, last_id, chunk_size])
        if not rows:
            return
        last_id = rows[-1][0]
        if only is not None or augmented != "include":
            rows = [
                row
                for row in rows
                if (only is None or row[0] in only) and keep_origin(row[origin_at])
            ]
            if not rows:
                continue
        columns = dict(zip(ITEM_EXPORT_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
        ids = columns["id"]
        first_id = ids[0]
        by_item: dict[int, list[dict[str, Any]]] = {item_id: [] for item_id in ids}
        for item_id, labeller, label, ms, created_at, source in (
            Annotation.objects.filter(item_id__gte=first_id, item_id__lte=last_id)
            .order_by("item_id", "id")
            .values_list(
                "item_id", "labeller__name", "label__name", "time_spent_ms", "created_at", "source"
            )
        ):
            if item_id in by_item:  # ids of other datasets may interleave
                by_item[item_id].append(
                    {
                        "labeller__name": labeller,
                        "label__name": label,
                        "time_spent_ms": ms,
                        "created_at": created_at,
                        "source": source,
                    }
                )
        columns["annotations"] = [by_item[item_id] for item_id in ids]
        yield ExportChunk(columns)


def label_distribution(*, dataset: Dataset) -> list[dict[str, Any]]:
    """Per label, in the dataset's order: how many items have it as their reference label, and
    how many annotations use it."""
    labels = list(dataset.labels.all())
    references = dict(
        Item.objects.filter(dataset=dataset, reference_label__isnull=False)
        .values("reference_label")
        .annotate(n=Count("id"))
        .values_list("reference_label", "n")
    )
    given = dict(
        Annotation.objects.filter(item__dataset=dataset)
        .values("label")
        .annotate(n=Count("id"))
        .values_list("label", "n")
    )
    return [
        {"label": lab, "items": references.get(lab.pk, 0), "annotations": given.get(lab.pk, 0)}
        for lab in labels
    ]


def tag_counts(*, dataset_id: int) -> list[dict[str, Any]]:
    """Each error tag of a dataset with its number of items, the most used first."""
    from django.db.models import Count

    from labeling.models import ItemTag

    rows = (
        ItemTag.objects.filter(dataset_id=dataset_id)
        .values("tag")
        .annotate(items=Count("id"))
        .order_by("-items", "tag")
    )
    return [{"tag": r["tag"], "items": r["items"]} for r in rows]
