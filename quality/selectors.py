"""Reads of the quality app: the latest reports, the disagreement queue, metadata for slices."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db.models import Exists, OuterRef, QuerySet

from labeling.models import (
    Annotation,
    AnnotationSource,
    Dataset,
    Decision,
    Item,
    ItemTag,
    Label,
    Labeller,
    Origin,
)
from quality.models import LabelIssue, ModelRun, Prediction
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


def active_job(*, dataset: Dataset, kinds: list[str]) -> Job | None:
    """The newest queued or running job of these kinds on a dataset (a page follows it)."""
    return (
        Job.objects.filter(
            dataset=dataset, kind__in=kinds, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
        )
        .order_by("-id")
        .first()
    )


def metadata_groups(
    *, dataset: Dataset, fields: list[str] | None = None, limit: int = 5
) -> dict[str, pd.Series]:
    """Per metadata field, item id → the field's value (as text) for the items with two or more
    labels: the slices agreement is measured in. Without ``fields``, the dataset's first
    ``limit`` fields that have 2 to 30 distinct values."""
    names = fields if fields is not None else list(dataset.metadata_fields)[: limit * 2]
    groups: dict[str, pd.Series] = {}
    for name in names:
        value, extra = _json_text("metadata", name)
        rows = db.fetch_all(
            f"SELECT id, {value} FROM labeling_item "
            f"WHERE dataset_id = %s AND annotation_count >= 2 AND {value} IS NOT NULL",
            [*extra, dataset.pk, *extra],
        )
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


def model_run_probabilities(
    *, model_run: ModelRun
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A model run's item ids (ascending) and class probabilities (n × k, the dataset's label
    order when the run was stored), in one query."""
    rows = db.fetch_all(
        "SELECT item_id, probabilities FROM quality_prediction WHERE model_run_id = %s "
        "ORDER BY item_id",
        [model_run.pk],
    )
    k = len(model_run.label_ids)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    blob = b"".join(bytes(r[1]) for r in rows)
    probs = np.frombuffer(blob, dtype="<f8").reshape(len(rows), k).copy()
    return ids, probs


def reference_codes(
    *, dataset_id: int, item_ids: npt.NDArray[np.int64], label_ids: list[int]
) -> npt.NDArray[np.int64]:
    """Each item's reference label as its position in ``label_ids`` (-1: none, not an item of
    the dataset, or a label the list doesn't hold). One COPY of the dataset's two columns."""
    ids, refs = db.query_columns(
        "SELECT id, COALESCE(reference_label_id, 0) FROM labeling_item "
        f"WHERE dataset_id = {int(dataset_id)}",
        [],
        ["int64", "int64"],
    )
    order = np.argsort(ids, kind="stable")
    ids, refs = ids[order], refs[order]
    at = np.minimum(np.searchsorted(ids, item_ids), max(ids.size - 1, 0))
    found = ids[at] == item_ids if ids.size else np.zeros(item_ids.size, dtype=bool)
    wanted = np.asarray(label_ids, dtype=np.int64)
    position = np.full(int(max(wanted.max(initial=0), refs.max(initial=0))) + 1, -1, np.int64)
    position[wanted] = np.arange(wanted.size)
    position[0] = -1  # no reference label (ids start at 1)
    codes = np.full(item_ids.size, -1, dtype=np.int64)
    codes[found] = position[refs[at[found]]]
    return codes


def decided_items(*, dataset: Dataset) -> set[int]:
    return set(Decision.objects.filter(item__dataset=dataset).values_list("item_id", flat=True))


def label_issue_rows(
    *, dataset: Dataset, job: Job, status: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """A page of a label-issue job's issues, worst first, each with the item, its given and
    suggested label, the model's top probabilities and every labeller's answer. Four queries."""
    issues = LabelIssue.objects.filter(job=job).select_related(
        "item", "given_label", "suggested_label", "item__reference_label"
    )
    if status:
        issues = issues.filter(status=status)
    if after is not None:
        issues = issues.filter(rank__gt=after)
    page = list(issues.order_by("rank")[:limit])
    item_ids = [i.item_id for i in page]
    answers: dict[int, list[dict[str, Any]]] = {pk: [] for pk in item_ids}
    for a in (
        Annotation.objects.filter(item_id__in=item_ids)
        .exclude(source=AnnotationSource.PRELABEL)
        .select_related("labeller", "label")
        .order_by("item_id", "labeller_id")
    ):
        answers[a.item_id].append(
            {
                "labeller": a.labeller.name,
                "label": a.label.name,
                "reliability": a.labeller.reliability,
            }
        )
    names = dict(Label.objects.filter(dataset=dataset).values_list("id", "name"))
    run_id = (job.params or {}).get("model_run")
    top: dict[int, list[dict[str, Any]]] = {}
    run = ModelRun.objects.filter(pk=run_id).first() if run_id else None
    if run is not None and item_ids:
        for item_id, blob in Prediction.objects.filter(
            model_run=run, item_id__in=item_ids
        ).values_list("item_id", "probabilities"):
            probs = np.frombuffer(bytes(blob), dtype="<f8")
            best = np.argsort(-probs)[:3]
            top[item_id] = [
                {"label": names.get(run.label_ids[i], "?"), "probability": float(probs[i])}
                for i in best.tolist()
            ]
    return [
        {
            "id": issue.pk,
            "rank": issue.rank,
            "item": issue.item_id,
            "external_id": issue.item.external_id,
            "data": issue.item.data,
            "metadata": issue.item.metadata,
            "issue_type": issue.issue_type,
            "given_label": issue.given_label.name if issue.given_label else None,
            "suggested_label": issue.suggested_label.name if issue.suggested_label else None,
            "score": issue.score,
            "confidence": issue.confidence,
            "status": issue.status,
            "details": issue.details,
            "reference_label": issue.item.reference_label.name
            if issue.item.reference_label
            else None,
            "answers": answers.get(issue.item_id, []),
            "prediction": top.get(issue.item_id, []),
        }
        for issue in page
    ]


def labelled_items(
    *, dataset: Dataset
) -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    """The dataset's imported (not augmented) items that have a reference label: ids, data,
    metadata and the label's position in the dataset's label order, in id order."""
    position = {
        pk: i
        for i, pk in enumerate(
            Label.objects.filter(dataset=dataset)
            .order_by("position", "id")
            .values_list("id", flat=True)
        )
    }
    ids: list[int] = []
    data: list[dict[str, Any]] = []
    metadata: list[dict[str, Any]] = []
    codes: list[int] = []
    rows = (
        Item.objects.filter(dataset=dataset, reference_label__isnull=False, parent__isnull=True)
        .order_by("id")
        .values_list("id", "data", "metadata", "reference_label_id")
        .iterator(chunk_size=5000)
    )
    for pk, item_data, item_metadata, label_id in rows:
        if label_id in position:
            ids.append(pk)
            data.append(item_data)
            metadata.append(item_metadata)
            codes.append(position[label_id])
    return ids, data, metadata, codes


def _json_text(column: str, field: str) -> tuple[str, list[Any]]:
    """SQL for a JSON field's value as text, and its parameter."""
    if db.is_postgres():
        return f"{column} ->> %s", [field]
    return f"json_extract({column}, %s)", ['$."' + field.replace('"', '\\"') + '"']


def slice_frame(*, dataset: Dataset, fields: list[str], text_fields: list[str]) -> pd.DataFrame:
    """One row per item that isn't augmented, for error analysis: ``item_id``, ``reference``
    (the reference label's id, 0 for none), ``decided`` (a reviewer decided it), each metadata
    field in ``fields`` as text (None where absent) and, for each data field in
    ``text_fields``, ``len(<field>)``: its length in characters. One query (COPY)."""
    select = ["i.id", "COALESCE(i.reference_label_id, 0)", "(d.id IS NOT NULL)::int"]
    if not db.is_postgres():
        select[2] = "(d.id IS NOT NULL)"
    params: list[Any] = []
    columns: list[tuple[str, str]] = [
        ("item_id", "int64"),
        ("reference", "int64"),
        ("decided", "int64"),
    ]
    for field in fields:
        sql, extra = _json_text("i.metadata", field)
        select.append(sql)
        params += extra
        columns.append((field, "str"))
    for field in text_fields:
        sql, extra = _json_text("i.data", field)
        select.append(f"length({sql})")
        params += extra
        columns.append((f"len({field})", "float64"))
    params += [dataset.pk, Origin.AUGMENTED.value]
    # No ORDER BY: a million rows sort faster here than on the server (where the sort spills).
    frame = db.query_frame(
        f"SELECT {', '.join(select)} FROM labeling_item i "
        "LEFT JOIN labeling_decision d ON d.item_id = i.id "
        "WHERE i.dataset_id = %s AND i.origin <> %s",
        params,
        columns,
        arrow_strings=True,
    )
    frame = frame.sort_values("item_id", kind="stable", ignore_index=True)
    frame["decided"] = frame["decided"].astype(bool)
    return frame


def tagged_items(*, dataset: Dataset) -> dict[str, npt.NDArray[np.int64]]:
    """Each error tag of the dataset → the ids of the items carrying it."""
    ids, tags = [], []
    for item_id, tag in ItemTag.objects.filter(dataset=dataset).values_list("item_id", "tag"):
        ids.append(item_id)
        tags.append(tag)
    if not ids:
        return {}
    frame = pd.DataFrame({"item": np.asarray(ids, dtype=np.int64), "tag": tags})
    return {
        str(tag): group["item"].to_numpy(dtype=np.int64)
        for tag, group in frame.groupby("tag", sort=True)
    }


def items_frame(
    *,
    dataset: Dataset,
    data_fields: list[str],
    metadata_fields: list[str],
    import_batch: int | None = None,
    ordered: bool = True,
) -> pd.DataFrame:
    """The dataset's items (those of one import batch, or all that aren't augmented) with each
    data and metadata field as Arrow-backed text (missing where absent) and ``__label``: the
    reference label's name. Data and metadata fields of the same name: the data field wins.
    One COPY; ``ordered``: in item order (sorting a million rows costs the database a third
    of the query)."""
    select: list[str] = []
    params: list[Any] = []
    columns: list[tuple[str, str]] = []
    for column, fields in (("i.data", data_fields), ("i.metadata", metadata_fields)):
        for field in fields:
            if field in {name for name, _ in columns}:
                continue
            sql, extra = _json_text(column, field)
            select.append(sql)
            params += extra
            columns.append((field, "str"))
    select.append("l.name")
    columns.append(("__label", "str"))
    where = "i.dataset_id = %s AND i.origin <> %s"
    params += [dataset.pk, Origin.AUGMENTED.value]
    if import_batch is not None:
        where += " AND i.import_batch_id = %s"
        params.append(import_batch)
    return db.query_frame(
        f"SELECT {', '.join(select)} FROM labeling_item i "
        f"LEFT JOIN labeling_label l ON l.id = i.reference_label_id WHERE {where}"
        + (" ORDER BY i.id" if ordered else ""),
        params,
        columns,
        arrow_strings=True,
    )
