"""Frozen dataset versions: freezing one (the ``freeze_version`` job), reading its file back for
exports, and comparing two. Services and selectors of versions live together here.

A version is immutable. Its Parquet file is the live export's Parquet at that moment
(``exporting.parquet_stream`` over ``selectors.export_chunks``), kept in the default storage
under ``datasets/{dataset}/versions/{number}.parquet``; other formats of a version are rendered
from that file, so they come out byte for byte the same however the live dataset moves on.

The digest is the SHA-256 of, for every item in id order, the UTF-8 bytes of::

    external_id \\0 data \\0 metadata \\0 origin \\0 parent \\0 reference_label \\n

where ``data`` and ``metadata`` are the item's JSON exactly as the database stores it (the text
``export_chunks`` reads: PostgreSQL's ``jsonb`` text, SQLite's stored text), ``parent`` is the
parent item's external id and ``reference_label`` the reference label's name, an absent value
being the empty string. Annotations, reference methods and confidences are not in it: two
versions with the same items, content and reference labels have the same digest.
"""

from __future__ import annotations

import hashlib
import queue
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from labeling.exporting import export_stream, parquet_stream
from labeling.models import Dataset, DatasetVersion, Item, Label, LabelEvent
from labeling.selectors import ITEM_EXPORT_COLUMNS, ExportChunk, dataset_state, export_chunks
from workbench import db, field_values
from workbench.jobs import JobError
from workbench.models import Job

# How many examples of each kind a comparison lists (its counts are always exact).
COMPARE_EXAMPLES = 200
# How many label events a comparison shows per changed item (the latest ones).
EVENTS_PER_ITEM = 10
# Rows per record batch when a version's file is read back for an export.
READ_BATCH_ROWS = 5000

ProgressFn = Callable[[float, float | None, str], None]


def version_file_name(dataset_id: int, number: int) -> str:
    return f"datasets/{dataset_id}/versions/{number}.parquet"


def version_fields_name(frozen_name: str) -> str:
    """Where a version's field table is kept: beside its file."""
    return frozen_name.removesuffix(".parquet") + ".fields.parquet"


# Freezing --------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """The digest, counts and label distribution of the items as they stream past."""

    digest: Any = field(default_factory=hashlib.sha256)
    items: int = 0
    labelled: int = 0
    annotations: int = 0
    labels: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: ExportChunk) -> None:
        c = chunk.columns
        lines = bytearray()
        for parts in zip(
            c["external_id"],
            c["data_json"],
            c["metadata_json"],
            c["origin"],
            c["parent__external_id"],
            c["reference_label__name"],
            strict=True,
        ):
            lines += "\0".join(p or "" for p in parts).encode()
            lines += b"\n"
        self.digest.update(lines)
        self.items += len(chunk)
        for given in c["annotations"]:
            self.annotations += len(given)
            self.labelled += bool(given)
        self.labels.update(name for name in c["reference_label__name"] if name is not None)


@dataclass(frozen=True)
class _Facts:
    """What a freeze reads besides the items, from the same snapshot."""

    state: dict[str, Any]
    data_fields: list[str]
    metadata_fields: list[str]
    label_names: list[str]


def _facts(dataset_id: int) -> _Facts:
    data_fields, metadata_fields = Dataset.objects.values_list(
        "data_fields", "metadata_fields"
    ).get(pk=dataset_id)
    return _Facts(
        state=dataset_state(dataset_id=dataset_id),
        data_fields=list(data_fields),
        metadata_fields=list(metadata_fields),
        label_names=list(
            Label.objects.filter(dataset_id=dataset_id)
            .order_by("position", "id")
            .values_list("name", flat=True)
        ),
    )


class _SnapshotReader(threading.Thread):
    """Reads the facts and then the items of a dataset in one REPEATABLE READ transaction on its
    own connection (PostgreSQL), handing them over through a small queue: the freeze sees one
    moment of a dataset that people keep labelling, while the job's own connection stays free
    for progress reports, which must commit as they go."""

    def __init__(self, dataset: Dataset) -> None:
        super().__init__(daemon=True, name=f"freeze-{dataset.pk}")
        self.dataset = dataset
        self.handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=4)
        self.stopped = threading.Event()

    def _put(self, message: tuple[str, Any]) -> bool:
        while not self.stopped.is_set():
            try:
                self.handoff.put(message, timeout=0.5)
            except queue.Full:
                continue
            return True
        return False

    def run(self) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if not self._put(("facts", _facts(self.dataset.pk))):
                    return
                for chunk in export_chunks(dataset=self.dataset):
                    if not self._put(("chunk", chunk)):
                        return
            self._put(("end", None))
        except Exception as exc:
            self._put(("error", exc))
        finally:
            connection.close()

    def _take(self) -> tuple[str, Any]:
        kind, value = self.handoff.get()
        if kind == "error":
            raise value
        return kind, value

    def facts(self) -> _Facts:
        kind, value = self._take()
        if kind != "facts":  # pragma: no cover - the reader sends the facts first
            raise RuntimeError(f"The snapshot reader sent {kind} before the facts.")
        facts: _Facts = value
        return facts

    def chunks(self) -> Iterator[ExportChunk]:
        while True:
            kind, value = self._take()
            if kind == "end":
                return
            yield value

    def stop(self) -> None:
        self.stopped.set()
        while True:  # unblock a reader waiting to hand over a chunk
            try:
                self.handoff.get_nowait()
            except queue.Empty:
                break
        self.join(timeout=30)


@contextmanager
def _dataset_snapshot(dataset: Dataset) -> Iterator[tuple[_Facts, Iterator[ExportChunk]]]:
    """The dataset's facts and items as of one moment. Inside a caller's transaction (or on
    SQLite, which serves small single-machine setups and whose write lock a second connection
    would wait on) they are read on this connection instead."""
    if not db.is_postgres() or connection.in_atomic_block:
        yield _facts(dataset.pk), export_chunks(dataset=dataset)
        return
    reader = _SnapshotReader(dataset)
    reader.start()
    try:
        yield reader.facts(), reader.chunks()
    finally:
        reader.stop()


def _quality_summary(dataset_id: int) -> dict[str, Any]:
    """The latest agreement figures, the open issues of the latest label-issue job and the top
    rows of the latest slice table (None where there is no such job)."""

    def latest(kind: str) -> Job | None:
        return (
            Job.objects.filter(dataset_id=dataset_id, kind=kind, status=Job.Status.SUCCEEDED)
            .order_by("-id")
            .first()
        )

    summary: dict[str, Any] = {"agreement": None, "label_issues": None, "slices": None}
    if (job := latest("agreement")) and job.result:
        alpha = job.result.get("alpha") or {}
        percent = job.result.get("percent_agreement") or {}
        summary["agreement"] = {
            "job": job.pk,
            "alpha": alpha.get("value"),
            "alpha_reason": alpha.get("reason"),
            "percent_agreement": percent.get("value"),
            "percent_agreement_reason": percent.get("reason"),
        }
    if job := latest("label_issues"):
        try:
            issue_model = apps.get_model("quality", "LabelIssue")
        except LookupError:  # the quality app is not installed
            issue_model = None
        if issue_model is not None:
            summary["label_issues"] = {
                "job": job.pk,
                "open": issue_model.objects.filter(job_id=job.pk, status="open").count(),
            }
    if (job := latest("slices")) and job.result:
        summary["slices"] = {"job": job.pk, "rows": list(job.result.get("rows") or [])[:5]}
    return summary


def _distribution(tally: _Tally, label_names: list[str]) -> list[dict[str, Any]]:
    names = label_names + sorted(set(tally.labels) - set(label_names))
    return [{"label": name, "items": tally.labels.get(name, 0)} for name in names]


def version_freeze(
    *,
    dataset: Dataset,
    note: str = "",
    created_by_id: int | None = None,
    job_id: int | None = None,
    progress: ProgressFn | None = None,
) -> DatasetVersion:
    """Freeze the dataset as it is now into a new, immutable version."""
    if job_id is not None and (done := DatasetVersion.objects.filter(job_id=job_id).first()):
        return done  # a retried job: its version exists already
    tally = _Tally()
    temp_dir = settings.FILE_UPLOAD_TEMP_DIR
    with (
        tempfile.TemporaryFile(dir=temp_dir) as frozen,
        tempfile.TemporaryFile(dir=temp_dir) as table,
    ):
        with _dataset_snapshot(dataset) as (facts, chunks):
            total = facts.state["items"]
            if not total:
                raise JobError("The dataset has no items yet: there is nothing to freeze.")

            def tallied() -> Iterator[ExportChunk]:
                for chunk in chunks:
                    tally.add(chunk)
                    if progress is not None:
                        progress(tally.items, total, f"Froze {tally.items:,} of {total:,} items")
                    yield chunk

            for part in parquet_stream(tallied()):
                frozen.write(part)
        size = frozen.tell()
        if progress is not None:
            progress(tally.items, total, "Indexing the fields for drift and data-quality reports")
        _field_table(frozen, facts, table)
        return _version_store(
            dataset_id=dataset.pk,
            job_id=job_id,
            fields={
                "created_by_id": created_by_id,
                "note": note,
                "digest": tally.digest.hexdigest(),
                "item_count": tally.items,
                "labelled_count": tally.labelled,
                "annotation_count": tally.annotations,
                "label_distribution": _distribution(tally, facts.label_names),
                "data_fields": facts.data_fields,
                "metadata_fields": facts.metadata_fields,
                "file_size": size,
                "dataset_state": facts.state,
                "quality": _quality_summary(dataset.pk),
            },
            frozen=frozen,
            fields_table=table,
        )


def _field_table(frozen: IO[bytes], facts: _Facts, table: IO[bytes]) -> None:
    """Write the version's field table (``workbench.field_values.version_batches``: every
    field as text, the origin and the reference label) as Parquet, from the frozen file: the
    drift and data-quality reports read a version's fields from it without parsing JSON."""
    import pyarrow.parquet as pq

    schema = field_values.version_schema(facts.data_fields, facts.metadata_fields)
    frozen.seek(0)
    with pq.ParquetWriter(table, schema, compression="zstd") as out:
        for batch in field_values.version_batches(
            frozen, data_fields=facts.data_fields, metadata_fields=facts.metadata_fields
        ):
            out.write_batch(batch)


@transaction.atomic
def _version_store(
    *,
    dataset_id: int,
    job_id: int | None,
    fields: dict[str, Any],
    frozen: IO[bytes],
    fields_table: IO[bytes],
) -> DatasetVersion:
    """Number the version (under a lock on the dataset row), store its file, its field table
    and its row."""
    Dataset.objects.select_for_update().filter(pk=dataset_id).first()
    if job_id is not None and (done := DatasetVersion.objects.filter(job_id=job_id).first()):
        return done
    parent = DatasetVersion.objects.filter(dataset_id=dataset_id).order_by("-number").first()
    number = parent.number + 1 if parent else 1
    name = version_file_name(dataset_id, number)
    stored = _replace(name, frozen)
    _replace(version_fields_name(name), fields_table)
    return DatasetVersion.objects.create(
        dataset_id=dataset_id,
        number=number,
        parent=parent,
        job_id=job_id,
        created_at=timezone.now(),
        file=stored,
        **fields,
    )


def _replace(name: str, content: IO[bytes]) -> str:
    """Store the file under its name. No version has this number yet, so a file already there
    is left from an attempt that died before its commit: replace it rather than let the
    storage pick another name."""
    if default_storage.exists(name):
        default_storage.delete(name)
    content.seek(0)
    return default_storage.save(name, File(content, name=name))


# Reading ---------------------------------------------------------------------------------------


def versions_of(*, dataset_id: int) -> QuerySet[DatasetVersion]:
    """A dataset's versions, newest first, with their authors and parents."""
    return (
        DatasetVersion.objects.filter(dataset_id=dataset_id)
        .select_related("created_by", "parent")
        .order_by("-number")
    )


def version_get(*, dataset_id: int, number: Any) -> DatasetVersion:
    """One version by its number; a clear 400 for a number that isn't one, 404 if unknown."""
    try:
        wanted = int(number)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"version": [f"'{number}' is not a version number."]}) from exc
    version = versions_of(dataset_id=dataset_id).filter(number=wanted).first()
    if version is None:
        raise NotFound(f"This dataset has no version {wanted}.")
    return version


def _open(version: DatasetVersion) -> Any:
    name = version.file.name
    if not name:  # pragma: no cover - a version is stored with its file
        raise NotFound(f"Version {version.number} has no file.")
    return default_storage.open(name, "rb")


def version_fields(*, version: DatasetVersion) -> Any:
    """The version's field table (a ``pyarrow.Table``: each of the version's fields as text,
    ``__origin`` and ``__label``; see ``workbench.field_values``), one row per item in the
    version's order. Versions frozen before field tables existed have theirs made from the
    frozen file's JSON on the spot."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = version_fields_name(version.file.name or "")
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as file:
            return pq.read_table(file)
    fields = {"data_fields": version.data_fields, "metadata_fields": version.metadata_fields}
    with _open(version) as file:
        batches = list(field_values.version_batches(file, **fields))
    return pa.Table.from_batches(batches, schema=field_values.version_schema(**fields))


def version_file_chunks(*, version: DatasetVersion, size: int = 1 << 20) -> Iterator[bytes]:
    """The version's Parquet file as it was written, a block at a time."""
    with _open(version) as file:
        while block := file.read(size):
            yield block


def version_chunks(*, version: DatasetVersion, augmented: str = "include") -> Iterator[ExportChunk]:
    """The frozen items as ``ExportChunk`` s, read from the version's file by record batch.

    A version's file has no database ids: ``id`` is the item's position in the version (1, 2,
    …), which is what a Label Studio export of a version numbers its tasks by."""
    import pyarrow.parquet as pq

    keep = {
        "include": lambda origin: True,
        "exclude": lambda origin: origin != "augmented",
        "only": lambda origin: origin == "augmented",
    }[augmented]
    renamed = {
        "external_id": "external_id",
        "data": "data_json",
        "metadata": "metadata_json",
        "origin": "origin",
        "import_batch": "import_batch_id",
        "parent": "parent__external_id",
        "recipe": "recipe_json",
        "reference_label": "reference_label__name",
        "reference_method": "reference_method",
        "reference_confidence": "reference_confidence",
    }
    position = 0
    with _open(version) as file:
        for batch in pq.ParquetFile(file).iter_batches(batch_size=READ_BATCH_ROWS):
            table = batch.to_pydict()
            n = batch.num_rows
            columns: dict[str, list[Any]] = {"id": list(range(position + 1, position + n + 1))}
            position += n
            columns.update({ours: table[theirs] for theirs, ours in renamed.items()})
            columns["annotations"] = [
                [
                    {
                        "labeller__name": a["labeller"],
                        "label__name": a["label"],
                        "time_spent_ms": a["time_spent_ms"],
                        "created_at": a["created_at"],
                        "source": a["source"],
                    }
                    for a in given or []
                ]
                for given in table["annotations"]
            ]
            if augmented != "include":
                rows = [i for i, origin in enumerate(columns["origin"]) if keep(origin)]
                if not rows:
                    continue
                columns = {k: [v[i] for i in rows] for k, v in columns.items()}
            yield ExportChunk({k: columns[k] for k in (*ITEM_EXPORT_COLUMNS, "annotations")})


def version_export_stream(
    *, version: DatasetVersion, fmt: str, augmented: str = "include"
) -> Iterator[bytes]:
    """A version in an export format: its own file for Parquet, else rendered from that file
    with the version's columns, so the bytes never change."""
    if fmt == "parquet" and augmented == "include":
        return version_file_chunks(version=version)
    return export_stream(
        fmt,
        version_chunks(version=version, augmented=augmented),
        data_fields=version.data_fields,
        metadata_fields=version.metadata_fields,
    )


# Comparing -------------------------------------------------------------------------------------


def _frame(version: DatasetVersion) -> Any:
    """external_id, data, metadata, reference_label and the item's position, from the file."""
    import numpy as np
    import pyarrow.parquet as pq

    with _open(version) as file:
        table = pq.read_table(file, columns=["external_id", "data", "metadata", "reference_label"])
    frame = table.to_pandas()
    frame["position"] = np.arange(len(frame), dtype=np.int64)
    return frame


def _summary(version: DatasetVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "created_at": version.created_at,
        "created_by": version.created_by.get_username() if version.created_by else None,
        "note": version.note,
        "digest": version.digest,
        "items": version.item_count,
    }


def _field_changes(a_json: str, b_json: str, prefix: str) -> list[dict[str, Any]]:
    a, b = orjson.loads(a_json), orjson.loads(b_json)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [{"field": prefix, "a": a, "b": b}]
    return [
        {"field": f"{prefix}.{key}", "a": a.get(key), "b": b.get(key)}
        for key in [*a, *(k for k in b if k not in a)]
        if a.get(key) != b.get(key) or (key in a) != (key in b)
    ]


def _label_events(
    *, dataset_id: int, a: DatasetVersion, b: DatasetVersion, external_ids: list[str]
) -> tuple[dict[str, int], dict[int, list[dict[str, Any]]]]:
    """The items' ids and their label events between the two versions (by the event-log
    high-water mark each version recorded, so nothing at the edges is missed or doubled)."""
    ids = dict(
        Item.objects.filter(dataset_id=dataset_id, external_id__in=external_ids).values_list(
            "external_id", "id"
        )
    )
    marks = [v.dataset_state.get("last_label_event_id") or 0 for v in (a, b)]
    events: dict[int, list[dict[str, Any]]] = {}
    for event in (
        LabelEvent.objects.filter(
            item_id__in=list(ids.values()), id__gt=min(marks), id__lte=max(marks)
        )
        .select_related("actor", "labeller")
        .order_by("id")
    ):
        by = event.actor.get_username() if event.actor else None
        if by is None and event.labeller is not None:
            by = event.labeller.name
        events.setdefault(event.item_id, []).append(
            {
                "kind": event.kind,
                "by": by,
                "at": event.created_at,
                "from": event.old_label or None,
                "to": event.new_label or None,
                "reason": event.reason,
            }
        )
    return ids, {k: v[-EVENTS_PER_ITEM:] for k, v in events.items()}


def _distribution_shift(a: DatasetVersion, b: DatasetVersion) -> list[dict[str, Any]]:
    counts_a = {row["label"]: row["items"] for row in a.label_distribution}
    counts_b = {row["label"]: row["items"] for row in b.label_distribution}
    names = [*counts_a, *(name for name in counts_b if name not in counts_a)]
    rows: list[dict[str, Any]] = [
        {"label": name, "a": counts_a.get(name, 0), "b": counts_b.get(name, 0)} for name in names
    ]
    rows.append(
        {
            "label": None,  # items without a reference label
            "a": a.item_count - sum(counts_a.values()),
            "b": b.item_count - sum(counts_b.values()),
        }
    )
    for row in rows:
        row["shift"] = row["b"] - row["a"]
        row["a_share"] = row["a"] / a.item_count if a.item_count else None
        row["b_share"] = row["b"] / b.item_count if b.item_count else None
    return rows


def versions_compare(*, dataset_id: int, a: Any, b: Any) -> dict[str, Any]:
    """What changed from version a to version b: items added, removed and changed (data or
    metadata, by external id), reference labels changed with the label events behind them, and
    the label distribution of each with its shift. Counts are exact; each list holds the first
    COMPARE_EXAMPLES in the versions' item order."""
    missing = [name for name, value in (("a", a), ("b", b)) if value in ("", None)]
    if missing:
        raise ValidationError({name: ["Give a version number."] for name in missing})
    first = version_get(dataset_id=dataset_id, number=a)
    second = version_get(dataset_id=dataset_id, number=b)
    if first.pk == second.pk:
        raise ValidationError({"b": ["Pick two different versions to compare."]})
    left, right = _frame(first), _frame(second)
    merged = left.merge(
        right, on="external_id", how="outer", suffixes=("_a", "_b"), indicator=True, sort=False
    )
    added = merged[merged["_merge"] == "right_only"].sort_values("position_b")
    removed = merged[merged["_merge"] == "left_only"].sort_values("position_a")
    both = merged[merged["_merge"] == "both"].sort_values("position_b")
    data_changed = both["data_a"] != both["data_b"]
    metadata_changed = both["metadata_a"] != both["metadata_b"]
    changed = both[data_changed | metadata_changed]
    label_a = both["reference_label_a"].fillna("")
    label_b = both["reference_label_b"].fillna("")
    relabelled = both[label_a != label_b]

    def label(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    examples = relabelled.head(COMPARE_EXAMPLES)
    ids, events = _label_events(
        dataset_id=dataset_id,
        a=first,
        b=second,
        external_ids=examples["external_id"].tolist(),
    )
    return {
        "a": _summary(first),
        "b": _summary(second),
        "counts": {
            "added": len(added),
            "removed": len(removed),
            "changed": len(changed),
            "labels_changed": len(relabelled),
            "in_both": len(both),
        },
        "examples_limit": COMPARE_EXAMPLES,
        "added": [
            {"external_id": eid, "reference_label": label(lab)}
            for eid, lab in added.head(COMPARE_EXAMPLES)[
                ["external_id", "reference_label_b"]
            ].itertuples(index=False, name=None)
        ],
        "removed": [
            {"external_id": eid, "reference_label": label(lab)}
            for eid, lab in removed.head(COMPARE_EXAMPLES)[
                ["external_id", "reference_label_a"]
            ].itertuples(index=False, name=None)
        ],
        "changed": [
            {
                "external_id": row.external_id,
                "changes": _field_changes(row.data_a, row.data_b, "data")
                + _field_changes(row.metadata_a, row.metadata_b, "metadata"),
            }
            for row in changed.head(COMPARE_EXAMPLES).itertuples(index=False)
        ],
        "labels_changed": [
            {
                "external_id": eid,
                "item": ids.get(eid),
                "a": label(lab_a),
                "b": label(lab_b),
                "events": events.get(ids.get(eid, 0), []),
            }
            for eid, lab_a, lab_b in examples[
                ["external_id", "reference_label_a", "reference_label_b"]
            ].itertuples(index=False, name=None)
        ],
        "distribution": _distribution_shift(first, second),
    }


def _state_key(state: Any) -> tuple[Any, ...] | None:
    if not isinstance(state, dict) or not state:
        return None
    return tuple(sorted((str(k), v) for k, v in state.items()))


def job_versions(
    dataset_id: int | None, jobs: list[Job], *, versions: list[DatasetVersion] | None = None
) -> dict[int, int | None]:
    """For each job, the number of the dataset version whose data it read — the dataset's
    state the job recorded on starting (items, highest item id, annotations, last label event)
    equals the version's — or None (live data that no version froze). One query, none when
    the dataset's ``versions`` are given."""
    if dataset_id is None:
        return {job.pk: None for job in jobs}
    if versions is None:
        versions = list(DatasetVersion.objects.filter(dataset_id=dataset_id))
    # The newest version wins when two froze the same state.
    by_state = {
        _state_key(v.dataset_state): v.number for v in sorted(versions, key=lambda v: v.number)
    }
    return {job.pk: by_state.get(_state_key(job.dataset_state)) for job in jobs}
