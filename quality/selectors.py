"""Reads of the quality app: the latest reports, the disagreement queue, metadata for slices."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.db.models import Exists, OuterRef, QuerySet

from labeling.models import Annotation, AnnotationSource, Dataset, Decision, Item, Labeller
from workbench import db
from workbench.models import Job

# Metadata fields with more distinct values than this are not categorical enough to slice by.
MAX_SLICE_VALUES = 30


def latest_job(*, dataset: Dataset, kind: str, succeeded: bool = True) -> Job | None:
    """The newest job of a kind on a dataset (by default the newest that succeeded)."""
    jobs = Job.objects.filter(dataset=dataset, kind=kind)
    if succeeded:
        jobs = jobs.filter(status=Job.Status.SUCCEEDED)
    return jobs.order_by("-id").first()


def metadata_groups(
    *, dataset: Dataset, fields: list[str] | None = None, limit: int = 5
) -> dict[str, pd.Series]:
    """Per metadata field, item id → the field's value (as text) for the items with two or more
    labels: the slices agreement is measured in. Without ``fields``, the dataset's first
    ``limit`` fields that have 2 to 30 distinct values."""
    names = fields if fields is not None else list(dataset.metadata_fields)[: limit * 2]
    groups: dict[str, pd.Series] = {}
    for name in names:
        if db.is_postgres():
            sql = (
                "SELECT id, metadata ->> %s FROM labeling_item "
                "WHERE dataset_id = %s AND annotation_count >= 2 AND metadata ? %s"
            )
            params: list[Any] = [name, dataset.pk, name]
        else:
            sql = (
                "SELECT id, json_extract(metadata, %s) FROM labeling_item "
                "WHERE dataset_id = %s AND annotation_count >= 2 "
                "AND json_extract(metadata, %s) IS NOT NULL"
            )
            path = '$."' + name.replace('"', '\\"') + '"'
            params = [path, dataset.pk, path]
        rows = db.fetch_all(sql, params)
        series = pd.Series(
            [str(v) for _, v in rows], index=[pk for pk, _ in rows], dtype=object, name=name
        )
        if fields is None and not 2 <= series.nunique() <= MAX_SLICE_VALUES:
            continue
        groups[name] = series
        if len(groups) >= limit:
            break
    return groups


def _disagreeing(dataset: Dataset) -> QuerySet[Item]:
    # Undecided items with a label other than their consensus, i.e. whose labels differ.
    other_label = Annotation.objects.filter(item=OuterRef("pk")).exclude(
        source=AnnotationSource.PRELABEL
    )
    return (
        Item.objects.filter(dataset=dataset, annotation_count__gte=2)
        .exclude(Exists(Decision.objects.filter(item=OuterRef("pk"))))
        .filter(Exists(other_label.exclude(label_id=OuterRef("reference_label_id"))))
    )


def disagreements(
    *, dataset: Dataset, after: tuple[float, int] | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The review queue: undecided items whose labels differ, the least certain consensus
    first (then by id), each with every labeller's answer and that labeller's reliability.
    Three queries, whatever the page size."""
    items = (
        _disagreeing(dataset)
        .select_related("reference_label")
        .order_by("reference_confidence", "id")
    )
    if after is not None:
        confidence, last_id = after
        items = items.filter(reference_confidence__gte=confidence).exclude(
            reference_confidence=confidence, id__lte=last_id
        )
    page = list(items[:limit])
    answers: dict[int, list[dict[str, Any]]] = {item.pk: [] for item in page}
    rows = (
        Annotation.objects.filter(item_id__in=list(answers))
        .exclude(source=AnnotationSource.PRELABEL)
        .select_related("labeller", "label")
        .order_by("item_id", "label__position", "labeller_id")
    )
    for a in rows:
        answers[a.item_id].append(
            {
                "labeller": a.labeller.name,
                "labeller_id": a.labeller_id,
                "label": a.label.name,
                "reliability": a.labeller.reliability,
                "source": a.source,
                "time_spent_ms": a.time_spent_ms,
            }
        )
    return [
        {
            "item": item.pk,
            "external_id": item.external_id,
            "data": item.data,
            "metadata": item.metadata,
            "consensus": {
                "label": item.reference_label.name if item.reference_label else None,
                "method": item.reference_method,
                "confidence": item.reference_confidence,
            },
            "answers": answers[item.pk],
            "prediction": None,  # model runs arrive with the label-issues work
        }
        for item in page
    ]


def disagreement_count(*, dataset: Dataset) -> int:
    """How many undecided items have differing labels."""
    return _disagreeing(dataset).count()


def labeller_names(*, dataset: Dataset) -> dict[int, str]:
    return dict(Labeller.objects.filter(dataset=dataset).values_list("id", "name"))
