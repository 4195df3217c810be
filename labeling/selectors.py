"""Reads that are more than a ``.get``: permissions, listings, bulk frames for analysis."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.db.models import Count, Max, Q, QuerySet

from labeling.models import (
    Annotation,
    AnnotationSource,
    Dataset,
    Decision,
    Item,
    Label,
    LabelEvent,
    Membership,
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


def can_see_all_labels(role: str | None) -> bool:
    return role in (Role.OWNER, Role.REVIEWER)


def dataset_state(*, dataset_id: int) -> dict[str, Any]:
    """Counts and high-water marks that identify what a job read."""
    items = Item.objects.filter(dataset_id=dataset_id).aggregate(n=Count("id"), last=Max("id"))
    annotations = Annotation.objects.filter(item__dataset_id=dataset_id).count()
    last_event = LabelEvent.objects.filter(dataset_id=dataset_id).aggregate(m=Max("id"))["m"]
    return {
        "items": items["n"],
        "max_item_id": items["last"],
        "annotations": annotations,
        "last_label_event_id": last_event,
    }


def dataset_counts(*, dataset: Dataset) -> dict[str, Any]:
    counts = Item.objects.filter(dataset=dataset).aggregate(
        items=Count("id"),
        labelled=Count("id", filter=Q(annotation_count__gt=0)),
        complete=Count("id", filter=Q(annotation_count__gte=dataset.annotators_per_item)),
    )
    counts["annotations"] = Annotation.objects.filter(item__dataset=dataset).count()
    return counts


def annotation_pairs(
    *, dataset_id: int, item_ids: list[int] | None = None, import_batch_id: int | None = None
) -> dict[str, Any]:
    """(item id, label id) arrays of the human and imported labels of some items (all items,
    the given ones, or those an import batch touched), the items themselves, and the reviewer
    decisions among them."""
    touched: np.ndarray | None = None
    if item_ids is not None:
        touched = np.unique(np.asarray(item_ids, dtype=np.int64))
    elif import_batch_id is not None:
        rows = db.fetch_all(
            "SELECT id FROM labeling_item WHERE import_batch_id = %s UNION "
            "SELECT item_id FROM labeling_annotation WHERE import_batch_id = %s",
            [import_batch_id, import_batch_id],
        )
        touched = np.unique(np.fromiter((r[0] for r in rows), dtype=np.int64))
    few = touched is not None and touched.size <= 10_000
    annotations = Annotation.objects.filter(item__dataset_id=dataset_id).exclude(
        source=AnnotationSource.PRELABEL
    )
    decisions = Decision.objects.filter(item__dataset_id=dataset_id)
    if few:
        annotations = annotations.filter(item_id__in=touched.tolist())
        decisions = decisions.filter(item_id__in=touched.tolist())
    # The item's content hash keys the consensus tie-break, so that a copy of the dataset
    # (other ids, same content) gets the same reference labels.
    flat = np.fromiter(
        (
            v
            for row in annotations.values_list(
                "item_id", "label_id", "item__content_hash"
            ).iterator(chunk_size=20_000)
            for v in (row[0], row[1], int(row[2][:15] or "0", 16))
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
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
    touched_set = None if few else set(touched.tolist())
    decided = {
        item: label
        for item, label in decisions.values_list("item_id", "label_id")
        if touched_set is None or item in touched_set
    }
    label_keys = {
        pk: int(hashlib.blake2b(name.encode(), digest_size=7).hexdigest(), 16)
        for pk, name in Label.objects.filter(dataset_id=dataset_id).values_list("id", "name")
    }
    return {
        "item_id": flat[:, 0],
        "label_id": flat[:, 1],
        "item_key": flat[:, 2],
        "label_key": np.fromiter(
            (label_keys[i] for i in flat[:, 1].tolist()), dtype=np.int64, count=flat.shape[0]
        ),
        "touched": touched,
        "decided": decided,
    }


def export_chunks(*, dataset: Dataset, chunk_size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """Every item with its annotations, in id order, a chunk at a time (two queries a chunk)."""
    last_id = 0
    while True:
        items = list(
            Item.objects.filter(dataset=dataset, id__gt=last_id)
            .order_by("id")
            .values(
                "id",
                "external_id",
                "data",
                "metadata",
                "origin",
                "import_batch_id",
                "parent__external_id",
                "recipe",
                "reference_label__name",
                "reference_method",
                "reference_confidence",
                "created_at",
            )[:chunk_size]
        )
        if not items:
            return
        last_id = items[-1]["id"]
        by_item: dict[int, list[dict[str, Any]]] = {item["id"]: [] for item in items}
        for ann in (
            Annotation.objects.filter(
                item_id__gte=items[0]["id"], item_id__lte=last_id, item__dataset=dataset
            )
            .order_by("item_id", "id")
            .values(
                "item_id", "labeller__name", "label__name", "time_spent_ms", "created_at", "source"
            )
        ):
            by_item[ann["item_id"]].append(ann)
        for item in items:
            item["annotations"] = by_item[item["id"]]
        yield items
