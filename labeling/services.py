"""Every write to datasets, members, items and annotations goes through these functions."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import FileField
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from labeling import fastcsv, formats, images
from labeling.models import (
    Annotation,
    AnnotationSource,
    ConsensusMethod,
    Dataset,
    Decision,
    ImportBatch,
    Item,
    ItemTag,
    Label,
    LabelEvent,
    Labeller,
    Membership,
    Origin,
    Reservation,
    Role,
)
from quality.analysis.consensus import Consensus, dawid_skene_apply, majority_vote
from workbench import db
from workbench.errors import BadInput, Conflict
from workbench.jobs import JobError, Progress, job_create
from workbench.models import Job

log = logging.getLogger(__name__)

DEFAULT_HOTKEYS = "123456789"
STAGE_CHUNK = 10_000
SOURCES = frozenset(AnnotationSource.values)
ANN_STAGE_COLUMNS = [
    "row_no",
    "external_id",
    "labeller",
    "label",
    "source",
    "time_spent_ms",
    "created_at",
]
MAX_NEW_LABELS = 1000
ANALYZE_AFTER_ROWS = 50_000
# Below this size the row-by-row reader is as quick and names every problem directly.
FAST_MIN_BYTES = int(os.environ.get("WORKBENCH_FAST_IMPORT_MIN_BYTES", 256 << 10))


# ---------------------------------------------------------------------------------------------
# Datasets, labels, members


def labels_normalize(value: Any) -> list[dict[str, str]]:
    """Accept ``["cat", "dog"]`` or ``[{"name": …, "hotkey": …, "description": …}]``."""
    if not isinstance(value, list):
        raise ValidationError({"labels": ["Give a list of label names or label objects."]})
    labels: list[dict[str, str]] = []
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValidationError({"labels": [f"Label {i + 1} needs a name."]})
        unknown = set(entry) - {"name", "hotkey", "description"}
        if unknown:
            raise ValidationError(
                {"labels": [f"Label {i + 1}: unknown field(s) {', '.join(sorted(unknown))}."]}
            )
        name = entry["name"].strip()
        hotkey = str(entry.get("hotkey") or "").strip()
        if not name or len(name) > 100:
            raise ValidationError({"labels": [f"Label {i + 1}: a name of 1–100 characters."]})
        if len(hotkey) > 1:
            raise ValidationError({"labels": [f"Label '{name}': a hotkey is one key."]})
        labels.append(
            {"name": name, "hotkey": hotkey, "description": str(entry.get("description") or "")}
        )
    names = [lab["name"] for lab in labels]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError({"labels": [f"Label names repeat: {', '.join(repeated)}."]})
    taken = {lab["hotkey"] for lab in labels if lab["hotkey"]}
    if len(taken) != sum(1 for lab in labels if lab["hotkey"]):
        raise ValidationError({"labels": ["Two labels share a hotkey."]})
    free = iter(k for k in DEFAULT_HOTKEYS if k not in taken)
    for lab in labels:
        if not lab["hotkey"]:
            lab["hotkey"] = next(free, "")
    return labels


def _labels_write(dataset: Dataset, labels: list[dict[str, str]]) -> None:
    existing = {lab.name: lab for lab in Label.objects.filter(dataset=dataset)}
    wanted = {lab["name"] for lab in labels}
    removed = [lab for name, lab in existing.items() if name not in wanted]
    in_use = {
        name
        for (name,) in Annotation.objects.filter(label__in=removed)
        .values_list("label__name")
        .distinct()
    }
    in_use |= set(
        Item.objects.filter(decision__label__in=removed).values_list(
            "decision__label__name", flat=True
        )
    )
    if in_use:
        raise ValidationError(
            {"labels": [f"Can't remove label(s) in use: {', '.join(sorted(in_use))}."]}
        )
    Label.objects.filter(pk__in=[lab.pk for lab in removed]).delete()
    # Clear hotkeys first so that swapping keys between labels doesn't trip the unique index.
    Label.objects.filter(dataset=dataset).update(hotkey="")
    for position, lab in enumerate(labels):
        row = existing.get(lab["name"])
        if row is None:
            Label.objects.create(dataset=dataset, position=position, **lab)
        else:
            row.hotkey, row.description, row.position = (
                lab["hotkey"],
                lab["description"],
                position,
            )
            row.save(update_fields=["hotkey", "description", "position"])


@transaction.atomic
def dataset_create(
    *,
    name: str,
    created_by: Any,
    description: str = "",
    task_type: str = "single_label",
    labels: Any = (),
    guidelines: str = "",
    annotators_per_item: int = 1,
    assignment: str = "breadth_first",
    assignment_seed: int = 0,
) -> Dataset:
    """Create a dataset with its labels; its creator becomes its owner."""
    label_rows = labels_normalize(list(labels))
    dataset = Dataset.objects.create(
        name=name,
        description=description,
        task_type=task_type,
        guidelines=guidelines,
        annotators_per_item=annotators_per_item,
        assignment=assignment,
        assignment_seed=assignment_seed,
        created_by=created_by,
    )
    _labels_write(dataset, label_rows)
    if created_by is not None:
        Membership.objects.create(dataset=dataset, user=created_by, role=Role.OWNER)
    return dataset


@transaction.atomic
def dataset_update(*, dataset: Dataset, **fields: Any) -> Dataset:
    """Change a dataset's settings; a new guidelines text bumps the guidelines version."""
    labels = fields.pop("labels", None)
    if labels is not None:
        _labels_write(dataset, labels_normalize(labels))
    changed = []
    for field, value in fields.items():
        if getattr(dataset, field) != value:
            setattr(dataset, field, value)
            changed.append(field)
    if "guidelines" in changed:
        dataset.guidelines_version += 1
        changed.append("guidelines_version")
    if changed:
        dataset.save(update_fields=[*changed, "updated_at"])
    if "consensus_method" in changed:
        reference_labels_refresh(dataset_id=dataset.pk)
    return dataset


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete a dataset with everything in it, in bulk (a million items never load as objects),
    and then its stored files: imported files, images and frozen versions, batches posted for
    drift reports and what its jobs stored."""
    files = _stored_files(dataset)
    folders = [
        images.dataset_prefix(dataset.pk),  # images, versions' field tables
        f"drift/{dataset.pk}",
        *(f"jobs/{pk}" for pk in Job.objects.filter(dataset=dataset).values_list("pk", flat=True)),
    ]
    items = "SELECT id FROM labeling_item WHERE dataset_id = %s"
    with transaction.atomic():
        for sql in (
            "DELETE FROM labeling_labelevent WHERE dataset_id = %s",
            f"DELETE FROM labeling_decision WHERE item_id IN ({items})",
            f"DELETE FROM labeling_annotation WHERE item_id IN ({items})",
            "UPDATE labeling_item SET parent_id = NULL WHERE dataset_id = %s",
            "DELETE FROM labeling_item WHERE dataset_id = %s",
        ):
            db.execute(sql, [dataset.pk])
        dataset.delete()
    for storage, name in files:
        storage.delete(name)
    for folder in folders:
        images.delete_files(folder)


def _stored_files(dataset: Dataset) -> list[tuple[Any, str]]:
    """(storage, name) of every file a row pointing at the dataset holds in a file field:
    imported files, frozen versions, model runs' features, whatever app the model is in."""
    files = []
    for relation in Dataset._meta.related_objects:
        model = relation.related_model
        rows = model._default_manager.filter(**{relation.field.name: dataset})
        for field in model._meta.fields:
            if isinstance(field, FileField):
                names = rows.values_list(field.name, flat=True)
                files += [(field.storage, name) for name in names if name]
    return files


@transaction.atomic
def membership_set(*, dataset: Dataset, username: str, role: str) -> Membership:
    """Add a member or change their role; a dataset always keeps at least one owner."""
    if role not in Role.values:
        raise ValidationError({"role": [f"Role must be one of: {', '.join(Role.values)}."]})
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": [f"There is no user named '{username}'."]})
    membership = Membership.objects.select_for_update().filter(dataset=dataset, user=user).first()
    if membership is None:
        return Membership.objects.create(dataset=dataset, user=user, role=role)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(dataset, membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def _keep_an_owner(dataset: Dataset, leaving: Membership) -> None:
    others = Membership.objects.filter(dataset=dataset, role=Role.OWNER).exclude(pk=leaving.pk)
    if not others.exists():
        raise ValidationError({"role": ["A dataset needs at least one owner."]})


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member (their annotations stay, under their labeller name)."""
    if membership.role == Role.OWNER:
        _keep_an_owner(membership.dataset, membership)
    membership.delete()


# ---------------------------------------------------------------------------------------------
# Import


def _store_upload(upload: UploadedFile[bytes], batch: ImportBatch) -> None:
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    batch.sha256 = digest.hexdigest()
    batch.size_bytes = size
    batch.file.save(Path(upload.name or "upload").name, upload, save=False)


def upload_check(upload: UploadedFile[bytes]) -> None:
    """Refuse an empty upload or one over the size limit (WORKBENCH_MAX_UPLOAD_MB)."""
    if upload.size is not None and upload.size > settings.WORKBENCH_MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"The file is {upload.size / 2**20:.1f} MB; the limit is "
                    f"{settings.WORKBENCH_MAX_UPLOAD_BYTES / 2**20:.0f} MB."
                ]
            }
        )
    if not upload.size:
        raise ValidationError({"file": ["The file is empty."]})


def import_create(
    *,
    dataset: Dataset,
    upload: UploadedFile[bytes],
    uploaded_by: Any,
    file_format: str | None = None,
    mapping: Any = None,
    source: str = "",
    default_metadata: Any = None,
    run_inline: bool | None = None,
) -> tuple[ImportBatch, Job]:
    """Store an uploaded file as an import batch and run its import job.

    Small files (or any file, with ``run_inline=True``) are imported at once: on bad input
    nothing is kept and BadInput lists the problems by row and column. Larger files are imported
    in the background; a failure there is recorded on the batch and its job.
    """
    file_name = Path(upload.name or "upload").name
    upload_check(upload)
    try:
        fmt = formats.sniff_format(file_name, file_format)
        clean_mapping = formats.check_mapping(mapping)
    except formats.FileProblem as exc:
        raise ValidationError({"detail": exc.message}) from exc
    if default_metadata in (None, ""):
        default_metadata = {}
    if not isinstance(default_metadata, dict):
        raise ValidationError({"default_metadata": ["Must be a JSON object."]})
    batch = ImportBatch(
        dataset=dataset,
        uploaded_by=uploaded_by,
        file_name=file_name,
        file_format=fmt,
        mapping=clean_mapping,
        source=source,
        default_metadata=default_metadata,
    )
    _store_upload(upload, batch)
    batch.save()
    inline = (
        batch.size_bytes <= settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES
        if run_inline is None
        else run_inline
    )
    job = job_create(
        kind="import",
        params={"import_batch": batch.pk},
        dataset=dataset,
        created_by=uploaded_by,
        run_inline=inline,
    )
    if inline:
        batch.refresh_from_db()
        if batch.status == ImportBatch.Status.FAILED:
            errors = batch.errors
            message = _failure_message(batch)
            job.delete()
            import_discard(batch=batch)
            raise BadInput(message, errors=errors)
    return batch, job


def _failure_message(batch: ImportBatch) -> str:
    first = batch.errors[0] if batch.errors else {}
    where = ""
    if first.get("row") is not None:
        where = f" Row {first['row']}"
        if first.get("column"):
            where += f", column '{first['column']}'"
        where += ":"
    more = f" ({batch.error_count} problems in all)" if batch.error_count > 1 else ""
    return f"Nothing was imported.{where} {first.get('message', '')}{more}".strip()


class _NoProgress:
    """Progress for a preview: nothing to report, never cancelled."""

    def __call__(self, done: float, total: float | None = None, message: str = "") -> None:
        return None


def import_preview(
    *,
    dataset: Dataset,
    stored_name: str,
    file_format: str | None = None,
    mapping: Any = None,
    default_metadata: Any = None,
    sample_size: int = 5,
) -> dict[str, Any]:
    """Run the whole import of an already stored file, report what it would do (counts, the
    mapping it used, a sample of items, or every problem by row and column), and roll it all
    back: the database is left exactly as it was."""
    file_name = Path(stored_name).name
    try:
        fmt = formats.sniff_format(file_name, file_format)
        clean_mapping = formats.check_mapping(mapping)
    except formats.FileProblem as exc:
        return {"ok": False, "detail": exc.message, "errors": [], "summary": {}, "sample": []}
    outcome: dict[str, Any] = {}
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            dataset=dataset,
            file=stored_name,
            file_name=file_name,
            file_format=fmt,
            mapping=clean_mapping,
            default_metadata=default_metadata or {},
            sha256="",
        )
        try:
            summary = import_execute(batch=batch, progress=_NoProgress())  # type: ignore[arg-type]
            sample = list(
                Item.objects.filter(import_batch=batch)
                .order_by("id")
                .values("external_id", "data", "metadata")[:sample_size]
            )
            outcome = {"ok": True, "detail": "", "errors": [], "summary": summary, "sample": sample}
        except JobError as exc:
            batch.refresh_from_db()
            outcome = {
                "ok": False,
                "detail": str(exc),
                "errors": batch.errors,
                "summary": {},
                "sample": [],
            }
        transaction.set_rollback(True)
    images.discard(dataset.pk, batch.pk)  # a preview keeps no files either
    return outcome


def import_discard(*, batch: ImportBatch) -> None:
    """Remove a failed batch and its stored file."""
    if batch.file:
        batch.file.delete(save=False)
    batch.delete()


class ImportRejected(Exception):
    def __init__(self, errors: list[dict[str, Any]], total: int) -> None:
        super().__init__(f"{total} problem(s)")
        self.errors = errors
        self.total = total


def import_execute(*, batch: ImportBatch, progress: Progress) -> dict[str, Any]:
    """Read a batch's file and add its items and annotations, all or nothing."""
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING)
    try:
        summary = _import(batch, progress)
    except (ImportRejected, formats.FileProblem) as exc:
        if isinstance(exc, ImportRejected):
            errors, total = exc.errors, exc.total
        else:
            errors, total = [exc.as_dict()], 1
        images.discard(batch.dataset_id, batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED,
            errors=errors,
            error_count=total,
            finished_at=timezone.now(),
        )
        batch.refresh_from_db()
        raise JobError(_failure_message(batch)) from exc
    except Exception:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED,
            finished_at=timezone.now(),
            errors=[{"row": None, "column": None, "message": "Internal error."}],
            error_count=1,
        )
        raise
    return summary


def _content_hash(data_json: bytes) -> str:
    return hashlib.blake2b(data_json, digest_size=16).hexdigest()


class _Stager:
    """Streams validated records into two temporary tables, in chunks."""

    def __init__(self, batch: ImportBatch, known_labels: set[str]) -> None:
        self.batch = batch
        self.items_table = f"import_stage_items_{batch.pk}"
        self.ann_table = f"import_stage_ann_{batch.pk}"
        self.known_labels = known_labels
        self.new_labels: dict[str, int] = {}  # name → first row, when the dataset has none
        self.errors: list[dict[str, Any]] = []
        self.error_total = 0
        self.data_fields: set[str] = set()
        self.metadata_fields: set[str] = set()
        self.items = 0
        self.annotations = 0
        self._item_rows: list[tuple[Any, ...]] = []
        self._ann_rows: list[tuple[Any, ...]] = []
        self.postgres = db.is_postgres()
        jt = db.json_type()
        db.create_temp_table(
            self.items_table,
            [
                ("row_no", "integer"),
                ("external_id", "varchar(255)"),
                ("data", jt),
                ("metadata", jt),
                ("content_hash", "varchar(32)"),
            ],
        )
        db.create_temp_table(
            self.ann_table,
            [
                ("row_no", "integer"),
                ("external_id", "varchar(255)"),
                ("labeller", "varchar(255)"),
                ("label", "varchar(100)"),
                ("source", "varchar(16)"),
                ("time_spent_ms", "integer"),
                ("created_at", "timestamp with time zone" if db.is_postgres() else "text"),
            ],
        )

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.error_total += 1
        if len(self.errors) < formats.MAX_ROW_ERRORS:
            self.errors.append({"row": row, "column": column, "message": message})

    def add(
        self,
        record: formats.Record,
        default_metadata: dict[str, Any],
        now: Any,
        label_column: str | None = None,
    ) -> None:
        for ann in record.annotations:
            if len(ann.label) > 100:
                self.error(record.row, label_column, "A label is longer than 100 characters.")
                return
            if ann.label not in self.known_labels:
                if self.known_labels:
                    known = ", ".join(sorted(self.known_labels))
                    self.error(
                        record.row,
                        label_column,
                        f"Unknown label '{ann.label}'. The dataset's labels: {known}.",
                    )
                    return
                if ann.label not in self.new_labels and len(self.new_labels) >= MAX_NEW_LABELS:
                    self.error(
                        record.row,
                        label_column,
                        f"More than {MAX_NEW_LABELS} different labels: is '{label_column}' "
                        "really the label column?",
                    )
                    return
                self.new_labels.setdefault(ann.label, record.row)
            if ann.source not in SOURCES:
                self.error(record.row, None, f"Unknown annotation source '{ann.source}'.")
                return
        if record.data is not None:
            metadata = {**default_metadata, **record.metadata}
            data_json = orjson.dumps(record.data, option=orjson.OPT_SORT_KEYS)
            metadata_json = orjson.dumps(metadata)
            if b"\\u0000" in data_json or b"\\u0000" in metadata_json:
                self.error(record.row, None, "The row holds a NUL character (\\0).")
                return
            self._item_rows.append(
                (
                    record.row,
                    record.external_id,
                    data_json.decode(),
                    metadata_json.decode(),
                    # PostgreSQL hashes the stored JSON itself (md5 in the INSERT).
                    None if self.postgres else _content_hash(data_json),
                )
            )
            self.data_fields.update(record.data)
            self.metadata_fields.update(metadata)
            self.items += 1
        for ann in record.annotations:
            self._ann_rows.append(
                (
                    record.row,
                    record.external_id,
                    ann.labeller[:255],
                    ann.label,
                    ann.source,
                    ann.time_spent_ms,
                    ann.created_at or now,
                )
            )
            self.annotations += 1
        if len(self._item_rows) + len(self._ann_rows) >= STAGE_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._item_rows:
            db.copy_rows(
                self.items_table,
                ["row_no", "external_id", "data", "metadata", "content_hash"],
                self._item_rows,
            )
            self._item_rows = []
        if self._ann_rows:
            db.copy_rows(self.ann_table, ANN_STAGE_COLUMNS, self._ann_rows)
            self._ann_rows = []

    def copy_csv(self, staged: fastcsv.StagedBatch) -> None:
        """Load one block of the vectorised reader (PostgreSQL only)."""
        db.copy_csv(
            self.items_table, ["row_no", "external_id", "data", "metadata"], staged.items_csv
        )
        if staged.annotations_csv:
            db.copy_csv(self.ann_table, ANN_STAGE_COLUMNS, staged.annotations_csv)
        self.items += staged.items
        self.annotations += staged.annotations

    def reset(self) -> None:
        """Forget what was staged (before the row-by-row reader starts over)."""
        db.execute(f"TRUNCATE {self.items_table}, {self.ann_table}")
        self.items = self.annotations = 0
        self.new_labels.clear()
        self.data_fields.clear()
        self.metadata_fields.clear()

    def index(self, shape: str) -> None:
        """Index the staged rows for the checks and joins that follow: SQLite joins by nested
        loops, and the one-row-per-annotation insert looks items up by id. PostgreSQL hashes
        the rest."""
        if self.postgres and shape == "items":
            db.execute(f"ANALYZE {self.items_table}")
            db.execute(f"ANALYZE {self.ann_table}")
            return
        db.execute(
            f"CREATE INDEX {self.items_table}_eid ON {self.items_table} (external_id, row_no)"
        )
        db.execute(f"CREATE INDEX {self.ann_table}_eid ON {self.ann_table} (external_id, labeller)")
        if db.is_postgres():
            db.execute(f"ANALYZE {self.items_table}")
            db.execute(f"ANALYZE {self.ann_table}")

    def drop(self) -> None:
        db.drop_temp_table(self.items_table)
        db.drop_temp_table(self.ann_table)


def _import(batch: ImportBatch, progress: Progress) -> dict[str, Any]:
    dataset = batch.dataset
    known = set(Label.objects.filter(dataset=dataset).values_list("name", flat=True))
    stager = _Stager(batch, known)
    read = formats.ReadResult()
    now = timezone.now()
    try:
        progress(0, 1, "Reading the file")
        reader = "vectorised"
        if not _stage_fast(batch, stager, read, now, progress):
            reader = "row-by-row"
            _stage_rows(batch, stager, read, now, progress)
        stager.flush()
        if stager.error_total:
            raise ImportRejected(stager.errors, stager.error_total)
        shape = read.mapping.shape if read.mapping else "items"
        stager.index(shape)
        progress(0.8, 1, "Checking ids and labels")
        try:
            with transaction.atomic():
                summary = _import_write(batch, stager, shape, now, read.mapping)
        except IntegrityError as exc:
            # Another import of the same ids (or new labels) committed between our checks and
            # our insert: nothing of ours was kept.
            log.info("import %s collided with a concurrent change: %s", batch.pk, exc)
            raise ImportRejected(
                [
                    {
                        "row": None,
                        "column": None,
                        "message": (
                            "Another import added some of these items or labels at the same time. "
                            "Nothing was imported; import the file again to see what is left."
                        ),
                    }
                ],
                1,
            ) from exc
        progress(0.95, 1, "Updating reference labels")
        reference_labels_refresh(dataset_id=dataset.pk, import_batch_id=batch.pk)
        if db.is_postgres() and summary["items"] + summary["annotations"] >= ANALYZE_AFTER_ROWS:
            # Fresh statistics, so that the next queries (exports, pages) get good plans now
            # rather than whenever autovacuum comes by.
            db.execute("ANALYZE labeling_item")
            db.execute("ANALYZE labeling_annotation")
    finally:
        stager.drop()
    summary["rows"] = read.rows
    summary["reader"] = reader
    summary["mapping"] = read.mapping.as_dict() if read.mapping else None
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.SUCCEEDED,
        row_count=read.rows,
        item_count=summary["items"],
        annotation_count=summary["annotations"],
        finished_at=timezone.now(),
        summary=summary,
        mapping=summary["mapping"] or batch.mapping,
    )
    return {"import_batch": batch.pk, **summary}


def _stage_fast(
    batch: ImportBatch, stager: _Stager, read: formats.ReadResult, now: Any, progress: Progress
) -> bool:
    """Stage a large clean CSV with the vectorised reader (PostgreSQL); False if it can't."""
    if not (db.is_postgres() and batch.file_format in ("csv", "tsv")):
        return False
    if batch.size_bytes < FAST_MIN_BYTES:
        return False
    fast = fastcsv.FastResult()
    try:
        for staged in fastcsv.staged_batches(
            Path(batch.file.path),
            batch.file_format,
            batch.mapping,
            fast,
            known_labels=stager.known_labels,
            default_metadata=batch.default_metadata,
            created_at=now.isoformat(),
        ):
            stager.copy_csv(staged)
            progress(0.8 * fast.fraction, 1, f"Read {fast.rows:,} rows")
    except fastcsv.NotFast as exc:
        log.info("import %s: row-by-row reading (%s)", batch.pk, exc)
        stager.reset()
        return False
    read.mapping, read.rows = fast.mapping, fast.rows
    stager.data_fields.update(fast.data_fields)
    stager.metadata_fields.update(fast.metadata_fields, batch.default_metadata)
    stager.new_labels.update(fast.new_labels)
    return True


def _stage_rows(
    batch: ImportBatch, stager: _Stager, read: formats.ReadResult, now: Any, progress: Progress
) -> None:
    path = Path(batch.file.path)
    records = (
        images.zip_records(
            path, batch.mapping, read, store=images.storer(batch.dataset_id, batch.pk)
        )
        if batch.file_format == "zip"
        else formats.read_records(path, batch.file_format, batch.mapping, read)
    )
    for n, entry in enumerate(records, start=1):
        if isinstance(entry, formats.RowError):
            stager.error(entry.row, entry.column, entry.message)
        else:
            label_column = read.mapping.label if read.mapping else None
            stager.add(entry, batch.default_metadata, now, label_column)
        if n % 20_000 == 0:
            progress(0.8 * read.fraction, 1, f"Read {n:,} rows")


def _rows_error(
    rows: Iterable[tuple[Any, ...]], message: str, column: str | None
) -> list[dict[str, Any]]:
    return [{"row": r[0], "column": column, "message": message.format(*r[1:])} for r in rows]


def _import_write(
    batch: ImportBatch,
    stager: _Stager,
    shape: str,
    now: Any,
    mapping: formats.ResolvedMapping | None,
) -> dict[str, Any]:
    dataset_id = batch.dataset_id
    id_column = mapping.external_id if mapping else None
    labeller_column = mapping.labeller if mapping else None
    items, anns = stager.items_table, stager.ann_table
    errors: list[dict[str, Any]] = []
    limit = formats.MAX_ROW_ERRORS
    if shape == "items":
        errors += _rows_error(
            db.fetch_all(
                f"SELECT MIN(row_no), external_id, COUNT(*) FROM {items} "
                f"GROUP BY external_id HAVING COUNT(*) > 1 ORDER BY MIN(row_no) LIMIT {limit}"
            ),
            "The id '{0}' appears {1} times in the file.",
            id_column,
        )
        errors += _rows_error(
            db.fetch_all(
                f"SELECT s.row_no, s.external_id FROM {items} s JOIN labeling_item i "
                f"ON i.dataset_id = %s AND i.external_id = s.external_id "
                f"ORDER BY s.row_no LIMIT {limit}",
                [dataset_id],
            ),
            "An item with id '{0}' already exists in the dataset.",
            id_column,
        )
    errors += _rows_error(
        db.fetch_all(
            f"SELECT MIN(row_no), external_id, labeller FROM {anns} "
            f"GROUP BY external_id, labeller HAVING COUNT(*) > 1 ORDER BY MIN(row_no) LIMIT {limit}"
        ),
        "Labeller '{1}' labels item '{0}' more than once.",
        labeller_column,
    )
    errors += _rows_error(
        db.fetch_all(
            f"SELECT s.row_no, s.external_id FROM {anns} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {items} t WHERE t.external_id = s.external_id) "
            f"AND NOT EXISTS (SELECT 1 FROM labeling_item i WHERE i.dataset_id = %s "
            f"AND i.external_id = s.external_id) ORDER BY s.row_no LIMIT {limit}",
            [dataset_id],
        ),
        "There is no item with id '{0}' (in the dataset or the file).",
        id_column,
    )
    errors += _rows_error(
        db.fetch_all(
            f"SELECT s.row_no, s.external_id, s.labeller FROM {anns} s "
            f"JOIN labeling_item i ON i.dataset_id = %s AND i.external_id = s.external_id "
            f"JOIN labeling_labeller l ON l.dataset_id = %s AND l.name = s.labeller "
            f"JOIN labeling_annotation a ON a.item_id = i.id AND a.labeller_id = l.id "
            f"ORDER BY s.row_no LIMIT {limit}",
            [dataset_id, dataset_id],
        ),
        "Item '{0}' already has an annotation by '{1}'.",
        labeller_column,
    )
    if errors:
        errors.sort(key=lambda e: (e["row"] is None, e["row"] or 0))
        raise ImportRejected(errors[:limit], len(errors))

    for position, name in enumerate(
        sorted(stager.new_labels, key=lambda n: stager.new_labels[n]),
        start=Label.objects.filter(dataset_id=dataset_id).count(),
    ):
        hotkey = DEFAULT_HOTKEYS[position] if position < len(DEFAULT_HOTKEYS) else ""
        Label.objects.create(dataset_id=dataset_id, name=name, hotkey=hotkey, position=position)

    # Labellers known only from the data keep their names; a name that is a member's username
    # is that member.
    db.execute(
        f"INSERT INTO labeling_labeller (dataset_id, name, user_id, created_at) "
        f"SELECT %s, s.labeller, (SELECT m.user_id FROM labeling_membership m "
        f"  JOIN auth_user u ON u.id = m.user_id WHERE m.dataset_id = %s "
        f"  AND u.username = s.labeller AND NOT EXISTS (SELECT 1 FROM labeling_labeller x "
        f"  WHERE x.dataset_id = %s AND x.user_id = m.user_id)), %s "
        f"FROM (SELECT DISTINCT labeller FROM {anns}) s "
        f"WHERE NOT EXISTS (SELECT 1 FROM labeling_labeller l WHERE l.dataset_id = %s "
        f"AND l.name = s.labeller)",
        [dataset_id, dataset_id, dataset_id, now, dataset_id],
    )
    item_cols = (
        "dataset_id, external_id, data, metadata, content_hash, origin, import_batch_id, "
        "annotation_count, reference_method, created_at"
    )
    content_hash = "md5(s.data::text)" if db.is_postgres() else "s.content_hash"
    select_cols = (
        f"%s, s.external_id, s.data, s.metadata, {content_hash}, 'imported', %s, 0, '', %s"
    )
    if shape == "items":
        n_items = db.execute(
            f"INSERT INTO labeling_item ({item_cols}) SELECT {select_cols} "
            f"FROM {items} s ORDER BY s.row_no",
            [dataset_id, batch.pk, now],
        )
    else:
        n_items = db.execute(
            f"INSERT INTO labeling_item ({item_cols}) SELECT {select_cols} "
            f"FROM {items} s WHERE s.row_no = (SELECT MIN(t.row_no) FROM {items} t "
            f"WHERE t.external_id = s.external_id) AND NOT EXISTS (SELECT 1 FROM labeling_item i "
            f"WHERE i.dataset_id = %s "
            f"AND i.external_id = s.external_id) ORDER BY s.row_no",
            [dataset_id, batch.pk, now, dataset_id],
        )
    n_anns = db.execute(
        "INSERT INTO labeling_annotation (item_id, labeller_id, label_id, source, "
        "time_spent_ms, import_batch_id, created_at, updated_at) "
        f"SELECT i.id, l.id, lab.id, s.source, s.time_spent_ms, %s, s.created_at, %s "
        f"FROM {anns} s "
        f"JOIN labeling_item i ON i.dataset_id = %s AND i.external_id = s.external_id "
        f"JOIN labeling_labeller l ON l.dataset_id = %s AND l.name = s.labeller "
        f"JOIN labeling_label lab ON lab.dataset_id = %s AND lab.name = s.label "
        f"ORDER BY s.row_no",
        [batch.pk, now, dataset_id, dataset_id, dataset_id],
    )
    db.execute(
        "INSERT INTO labeling_labelevent (dataset_id, item_id, kind, labeller_id, "
        "old_label, new_label, reason, import_batch_id, created_at) "
        "SELECT %s, a.item_id, 'annotation', a.labeller_id, '', lab.name, %s, %s, a.created_at "
        "FROM labeling_annotation a JOIN labeling_label lab ON lab.id = a.label_id "
        "WHERE a.import_batch_id = %s ORDER BY a.id",
        [dataset_id, f"imported from {batch.file_name}", batch.pk, batch.pk],
    )
    dataset = Dataset.objects.select_for_update().get(pk=dataset_id)
    dataset.data_fields = _merge_fields(dataset.data_fields, stager.data_fields)
    dataset.metadata_fields = _merge_fields(dataset.metadata_fields, stager.metadata_fields)
    dataset.save(update_fields=["data_fields", "metadata_fields", "updated_at"])
    return {
        "items": n_items,
        "annotations": n_anns,
        "shape": shape,
        "labels_created": sorted(stager.new_labels, key=lambda n: stager.new_labels[n]),
    }


def _merge_fields(existing: list[str], new: set[str]) -> list[str]:
    return [*existing, *sorted(new - set(existing))]


# ---------------------------------------------------------------------------------------------
# Reference labels


def reference_labels_refresh(
    *, dataset_id: int, item_ids: Iterable[int] | None = None, import_batch_id: int | None = None
) -> int:
    """Recompute annotation counts and reference labels (the reviewer's decision where there is
    one, else the majority vote of human and imported labels) for some or all items."""
    from labeling.selectors import annotation_pairs

    item_list = None if item_ids is None else sorted(set(item_ids))
    pairs = annotation_pairs(
        dataset_id=dataset_id, item_ids=item_list, import_batch_id=import_batch_id
    )
    consensus, method = _consensus(dataset_id, pairs)
    # Per touched item: its row among the consensus rows, if it has labels at all.
    touched = pairs["touched"]
    position = np.searchsorted(consensus.item_ids, touched)
    position[position >= consensus.item_ids.size] = 0
    found = consensus.item_ids.size > 0
    has = (consensus.item_ids[position] == touched) if found else np.zeros(touched.size, bool)
    counts = np.where(has, consensus.counts[position] if found else 0, 0).tolist()
    labels = consensus.labels[position].tolist() if found else [None] * touched.size
    confidence = consensus.confidence[position].tolist() if found else [None] * touched.size
    decided = pairs["decided"]
    rows: list[tuple[Any, ...]] = []
    for item_id, n, with_labels, label, conf in zip(
        touched.tolist(), counts, has.tolist(), labels, confidence, strict=True
    ):
        if item_id in decided:
            rows.append((item_id, n, decided[item_id], "decision", 1.0))
        elif with_labels:
            rows.append((item_id, n, label, method, conf))
        else:
            rows.append((item_id, 0, None, "", None))
    reference_labels_write(rows)
    return len(rows)


def _consensus(dataset_id: int, pairs: dict[str, Any]) -> tuple[Consensus, str]:
    """The consensus of some items' labels by the dataset's method. Dawid–Skene uses the model
    the latest agreement job fitted (priors and labellers' confusion matrices), so a new answer
    gets the consensus the job would give; without a fitted model it is majority vote, whose
    ties go to the labels of the more reliable labellers, then to a seeded draw."""
    dataset = Dataset.objects.only("consensus_method", "consensus_model").get(pk=dataset_id)
    labellers = np.unique(pairs["labeller_id"]).tolist()
    model = dataset.consensus_model or {}
    if (
        dataset.consensus_method == ConsensusMethod.DAWID_SKENE
        and model.get("method") == ConsensusMethod.DAWID_SKENE
        and pairs["label_id"].size
        and set(np.unique(pairs["label_id"]).tolist()) <= set(model["label_ids"])
    ):
        label_ids = np.asarray(model["label_ids"], dtype=np.int64)
        position = np.zeros(int(label_ids.max()) + 1, dtype=np.int64)
        position[label_ids] = np.arange(label_ids.size)
        fitted = dict(
            Labeller.objects.filter(pk__in=labellers, confusion__isnull=False).values_list(
                "id", "confusion"
            )
        )
        confusion = np.asarray(
            [fitted.get(pk, model["default_confusion"]) for pk in labellers], dtype=np.float64
        )
        result = dawid_skene_apply(
            pairs["item_id"],
            np.searchsorted(np.asarray(labellers, dtype=np.int64), pairs["labeller_id"]),
            position[pairs["label_id"]],
            priors=np.asarray(model["priors"], dtype=np.float64),
            confusion=confusion,
            item_keys=pairs["item_key"],
            label_keys=pairs["label_key"],
        )
        return replace(result, labels=label_ids[result.labels]), ConsensusMethod.DAWID_SKENE
    reliability: dict[int, float] = {
        pk: value
        for pk, value in Labeller.objects.filter(pk__in=labellers).values_list("id", "reliability")
        if value is not None
    }
    result = majority_vote(
        pairs["item_id"],
        pairs["label_id"],
        item_keys=pairs["item_key"],
        label_keys=pairs["label_key"],
        labeller_ids=pairs["labeller_id"],
        reliability=reliability or None,
    )
    return result, ConsensusMethod.MAJORITY_VOTE


_REFERENCE_COLUMNS = [
    ("item_id", "bigint"),
    ("annotation_count", "integer"),
    ("label_id", "bigint"),
    ("method", "varchar(32)"),
    ("confidence", "double precision"),
]
# Few rows (a labeller's submission) go inline as VALUES; a temporary table would cost more
# than the update, and without statistics PostgreSQL would hash-join the whole item table.
_INLINE_ROWS = 500


def reference_labels_write(rows: list[tuple[Any, ...]]) -> None:
    """Store reference labels: rows of (item id, annotation count, label id, method,
    confidence); only the rows that change are rewritten."""
    if not rows:
        return
    # Rewrite only the rows that change: an UPDATE of an unchanged row still costs a new row
    # version and an entry in every index.
    pairs = [
        ("annotation_count", "annotation_count"),
        ("reference_label_id", "label_id"),
        ("reference_method", "method"),
        ("reference_confidence", "confidence"),
    ]
    if db.is_postgres():
        changed = (
            f"({', '.join(f'labeling_item.{a}' for a, _ in pairs)}) IS DISTINCT FROM "
            f"({', '.join(f'r.{b}' for _, b in pairs)})"
        )
    else:  # SQLite: IS is its null-safe equality
        changed = "NOT (" + " AND ".join(f"labeling_item.{a} IS r.{b}" for a, b in pairs) + ")"
    update = (
        "UPDATE labeling_item SET annotation_count = r.annotation_count, "
        "reference_label_id = r.label_id, reference_method = r.method, "
        "reference_confidence = r.confidence FROM {source} r "
        f"WHERE labeling_item.id = r.item_id AND {changed}"
    )
    if len(rows) <= _INLINE_ROWS:
        cast_row = "(" + ", ".join(f"CAST(%s AS {t})" for _, t in _REFERENCE_COLUMNS) + ")"
        names = ", ".join(f"column{i + 1} AS {c}" for i, (c, _) in enumerate(_REFERENCE_COLUMNS))
        values = ", ".join([cast_row] * len(rows))
        source = f"(SELECT {names} FROM (VALUES {values}) AS v)"
        db.execute(update.format(source=source), [v for row in rows for v in row])
        return
    table = "reference_refresh"
    db.create_temp_table(table, _REFERENCE_COLUMNS)
    try:
        for chunk in _chunks(rows, 50_000):
            db.copy_rows(table, [c for c, _ in _REFERENCE_COLUMNS], chunk)
        if db.is_postgres():
            db.execute(f"ANALYZE {table}")
        db.execute(update.format(source=table))
    finally:
        db.drop_temp_table(table)


def item_priorities_write(
    *, dataset_id: int, item_ids: npt.NDArray[np.int64], priorities: npt.NDArray[np.float64]
) -> None:
    """Replace a dataset's labelling priorities (active-learning assignment): the given items
    get theirs, every other item none."""
    dataset_id = int(dataset_id)
    db.execute(
        "UPDATE labeling_item SET priority = NULL WHERE dataset_id = %s AND priority IS NOT NULL",
        [dataset_id],
    )
    if not item_ids.size:
        return
    table = "item_priority"
    db.create_temp_table(table, [("item_id", "bigint"), ("priority", "double precision")])
    try:
        rows = zip(item_ids.tolist(), priorities.tolist(), strict=True)
        db.copy_rows(table, ["item_id", "priority"], rows)
        if db.is_postgres():
            db.execute(f"ANALYZE {table}")
        db.execute(
            f"UPDATE labeling_item SET priority = r.priority FROM {table} r "
            "WHERE labeling_item.id = r.item_id AND labeling_item.dataset_id = %s",
            [dataset_id],
        )
    finally:
        db.drop_temp_table(table)


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# ---------------------------------------------------------------------------------------------
# Annotations through the API


def labeller_for_user(*, dataset: Dataset, user: Any) -> Labeller:
    """The labeller identity of a workbench user in a dataset (created on first use)."""
    labeller = Labeller.objects.filter(dataset=dataset, user=user).first()
    if labeller is not None:
        return labeller
    name = user.get_username()
    if Labeller.objects.filter(dataset=dataset, name=name).exclude(user=user).exists():
        name = f"{name} (user {user.pk})"
    try:
        with transaction.atomic():
            return Labeller.objects.create(dataset=dataset, user=user, name=name)
    except IntegrityError:  # the same user's other request created it a moment ago
        return Labeller.objects.get(dataset=dataset, user=user)


@transaction.atomic
def annotations_submit(
    *, dataset: Dataset, user: Any, entries: list[dict[str, Any]]
) -> list[Annotation]:
    """Store the caller's labels (one or many), all or nothing.

    A second answer for the same item replaces the first; the same answer again (a retried
    request) changes nothing. A new label on an item that already has all the labels it needs
    (``annotators_per_item``) is refused with Conflict: the item rows are locked, so two
    labellers racing for the last slot can't both take it. Every change is logged.
    """
    labels = {lab.name: lab for lab in Label.objects.filter(dataset=dataset)}
    item_ids = [e["item"] for e in entries]
    # Locked in id order, so that two bulk requests can't deadlock.
    items = {
        item.pk: item
        for item in Item.objects.select_for_update()
        .filter(dataset=dataset, pk__in=item_ids)
        .order_by("id")
        .only("id", "annotation_count")
    }
    problems: dict[str, list[str]] = {}
    for i, entry in enumerate(entries):
        where = f"Entry {i + 1}: " if len(entries) > 1 else ""
        if entry["item"] not in items:
            problems.setdefault("item", []).append(
                f"{where}there is no item {entry['item']} in this dataset."
            )
        if entry["label"] not in labels:
            problems.setdefault("label", []).append(
                f"{where}unknown label '{entry['label']}'. Labels: {', '.join(labels)}."
            )
    if len(set(item_ids)) != len(item_ids):
        problems.setdefault("item", []).append("The same item appears twice in one request.")
    if problems:
        raise ValidationError(problems)
    labeller = labeller_for_user(dataset=dataset, user=user)
    existing = {
        a.item_id: a
        for a in Annotation.objects.filter(labeller=labeller, item_id__in=item_ids).select_related(
            "label"
        )
    }
    full = [
        item_id
        for item_id in item_ids
        if item_id not in existing
        and items[item_id].annotation_count >= dataset.annotators_per_item
    ]
    if full:
        raise Conflict(
            f"Item {full[0]} already has the {dataset.annotators_per_item} label(s) it needs; "
            "ask next-item for another." + (f" ({len(full)} such items.)" if len(full) > 1 else ""),
            items=full,
        )
    now = timezone.now()
    saved, events = [], []
    for entry in entries:
        label = labels[entry["label"]]
        annotation = existing.get(entry["item"])
        old = ""
        if annotation is None:
            annotation = Annotation.objects.create(
                item_id=entry["item"],
                labeller=labeller,
                label=label,
                source=AnnotationSource.HUMAN,
                time_spent_ms=entry.get("time_spent_ms"),
                created_at=now,
                updated_at=now,
            )
        elif annotation.label_id != label.pk:
            old = annotation.label.name
            annotation.label = label
            annotation.time_spent_ms = entry.get("time_spent_ms", annotation.time_spent_ms)
            annotation.updated_at = now
            annotation.save(update_fields=["label", "time_spent_ms", "updated_at"])
        else:
            saved.append(annotation)
            continue  # the same answer again: nothing changes
        events.append(
            LabelEvent(
                dataset=dataset,
                item_id=entry["item"],
                kind=LabelEvent.Kind.ANNOTATION,
                labeller=labeller,
                actor=user,
                old_label=old,
                new_label=label.name,
                reason=entry.get("reason", ""),
                created_at=now,
            )
        )
        saved.append(annotation)
    LabelEvent.objects.bulk_create(events)
    Reservation.objects.filter(labeller=labeller, item_id__in=item_ids).delete()
    reference_labels_refresh(dataset_id=dataset.pk, item_ids=item_ids)
    return saved


def decision_record(
    *,
    dataset: Dataset,
    item_id: int,
    label: str,
    reviewer: Any,
    note: str = "",
    method: str = Decision.Method.REVIEW,
) -> Decision:
    """A reviewer's final label for an item (see :func:`decisions_record`)."""
    entry = {"item": item_id, "label": label, "note": note}
    return decisions_record(dataset=dataset, reviewer=reviewer, entries=[entry], method=method)[0]


_UNANIMOUS_SQL = """
    SELECT a.item_id, MIN(a.label_id), COUNT(*)
    FROM labeling_annotation a
    WHERE a.labeller_id IN (SELECT id FROM labeling_labeller WHERE dataset_id = %s)
      AND a.source <> %s
      AND NOT EXISTS (SELECT 1 FROM labeling_decision d WHERE d.item_id = a.item_id)
    GROUP BY a.item_id
    HAVING COUNT(*) >= %s AND COUNT(DISTINCT a.label_id) = 1
"""


@transaction.atomic
def decisions_accept_unanimous(
    *, dataset: Dataset, reviewer: Any, min_labels: int | None = None
) -> int:
    """Accept the label of every undecided item on which all its labellers agree (at least
    ``min_labels`` of them: the dataset's overlap, and never fewer than two) as its decision.
    Returns how many items were decided."""
    needed = max(2, min_labels or dataset.annotators_per_item)
    rows = db.fetch_all(_UNANIMOUS_SQL, [dataset.pk, AnnotationSource.PRELABEL.value, needed])
    if not rows:
        return 0
    names = dict(Label.objects.filter(dataset=dataset).values_list("id", "name"))
    now = timezone.now()
    Decision.objects.bulk_create(
        [
            Decision(
                item_id=item_id,
                label_id=label_id,
                reviewer=reviewer,
                method=Decision.Method.CONSENSUS,
                note=f"Unanimous: {count} of {count} labellers.",
            )
            for item_id, label_id, count in rows
        ],
        batch_size=5000,
    )
    old: dict[int, str | None] = {}
    for chunk in _chunks([r[0] for r in rows], 10_000):
        old.update(Item.objects.filter(pk__in=chunk).values_list("id", "reference_label__name"))
    LabelEvent.objects.bulk_create(
        [
            LabelEvent(
                dataset=dataset,
                item_id=item_id,
                kind=LabelEvent.Kind.DECISION,
                actor=reviewer,
                old_label=old.get(item_id) or "",
                new_label=names[label_id],
                reason="Accepted: unanimous labellers.",
                created_at=now,
            )
            for item_id, label_id, _ in rows
        ],
        batch_size=5000,
    )
    reference_labels_write(
        [(item_id, count, label_id, "decision", 1.0) for item_id, label_id, count in rows]
    )
    return len(rows)


@transaction.atomic
def decisions_record(
    *,
    dataset: Dataset,
    reviewer: Any,
    entries: list[dict[str, Any]],
    method: str = Decision.Method.REVIEW,
) -> list[Decision]:
    """Record several decisions, all or nothing, in bulk (a few queries for any number): each
    becomes its item's reference label and goes into the label event log; deciding the same
    again changes nothing. The last entry for an item wins."""
    labels = dict(Label.objects.filter(dataset=dataset).values_list("name", "id"))
    unknown = sorted({e["label"] for e in entries} - set(labels))
    if unknown:
        raise ValidationError(
            {"label": [f"Unknown label '{unknown[0]}'. Labels: {', '.join(labels)}."]}
        )
    wanted = {int(e["item"]): e for e in entries}
    ids = sorted(wanted)
    items: dict[int, tuple[int | None, int]] = {}
    for chunk in _chunks(ids, 10_000):
        # Lock the rows: a concurrent decision or answer on them waits for this one.
        items.update(
            {
                pk: (ref, count)
                for pk, ref, count in Item.objects.select_for_update()
                .filter(dataset=dataset, pk__in=chunk)
                .values_list("id", "reference_label_id", "annotation_count")
            }
        )
    missing = [pk for pk in ids if pk not in items]
    if missing:
        raise ValidationError({"item": [f"There is no item {missing[0]} in this dataset."]})
    existing = {
        d.item_id: d for d in Decision.objects.filter(item_id__in=ids).select_related("label")
    }
    names = {pk: name for name, pk in labels.items()}
    now = timezone.now()
    changed = [
        pk
        for pk in ids
        if not (
            pk in existing
            and existing[pk].label_id == labels[wanted[pk]["label"]]
            and existing[pk].note == wanted[pk].get("note", "")
        )
    ]
    if changed:
        Decision.objects.bulk_create(
            [
                Decision(
                    item_id=pk,
                    label_id=labels[wanted[pk]["label"]],
                    reviewer=reviewer,
                    method=method,
                    note=wanted[pk].get("note", ""),
                )
                for pk in changed
            ],
            update_conflicts=True,
            unique_fields=["item"],
            update_fields=["label", "reviewer", "method", "note", "created_at"],
            batch_size=5000,
        )
        LabelEvent.objects.bulk_create(
            [
                LabelEvent(
                    dataset=dataset,
                    item_id=pk,
                    kind=LabelEvent.Kind.DECISION,
                    actor=reviewer,
                    old_label=names.get(items[pk][0] or 0, ""),
                    new_label=wanted[pk]["label"],
                    reason=wanted[pk].get("note", ""),
                    created_at=now,
                )
                for pk in changed
            ],
            batch_size=5000,
        )
        reference_labels_write(
            [(pk, items[pk][1], labels[wanted[pk]["label"]], "decision", 1.0) for pk in changed]
        )
    decided = {
        d.item_id: d
        for d in Decision.objects.filter(item_id__in=ids).select_related("label", "reviewer")
    }
    order = list(dict.fromkeys(int(e["item"]) for e in entries))
    return [decided[pk] for pk in order]


# ---------------------------------------------------------------------------------------------
# Error tags


MAX_TAG_LENGTH = 64


def _clean_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag.strip():
        raise ValidationError({"tag": ["Give a tag: a short reason such as 'blurry'."]})
    clean = " ".join(tag.split())
    if len(clean) > MAX_TAG_LENGTH:
        raise ValidationError({"tag": [f"A tag has at most {MAX_TAG_LENGTH} characters."]})
    return clean


@transaction.atomic
def item_tags_add(*, dataset: Dataset, item_ids: list[int], tag: Any, user: Any) -> int:
    """Tag items with a reason (error analysis makes a slice of each tag). All the items must
    be the dataset's, else nothing is tagged. Returns how many were newly tagged."""
    clean = _clean_tag(tag)
    wanted = sorted(set(item_ids))
    known = set(Item.objects.filter(dataset=dataset, pk__in=wanted).values_list("id", flat=True))
    missing = [pk for pk in wanted if pk not in known]
    if missing:
        shown = ", ".join(str(pk) for pk in missing[:10]) + ("…" if len(missing) > 10 else "")
        raise ValidationError({"items": [f"Not items of this dataset: {shown}."]})
    before = ItemTag.objects.filter(item_id__in=wanted, tag=clean).count()
    ItemTag.objects.bulk_create(
        [ItemTag(dataset=dataset, item_id=pk, tag=clean, created_by=user) for pk in wanted],
        ignore_conflicts=True,
        batch_size=5000,
    )
    return len(wanted) - before


def item_tag_remove(*, dataset: Dataset, item_id: int, tag: str) -> bool:
    """Remove a tag from an item; False when it didn't have it."""
    deleted, _ = ItemTag.objects.filter(dataset=dataset, item_id=item_id, tag=tag).delete()
    return deleted > 0


# ---------------------------------------------------------------------------------------------
# Augmented items

_AUGMENT_STAGE = [
    ("external_id", "varchar(255)"),
    ("data", "jsonb"),
    ("metadata", "jsonb"),
    ("parent_id", "bigint"),
    ("recipe", "jsonb"),
    ("reference_label_id", "bigint"),
    ("reference_method", "varchar(32)"),
    ("reference_confidence", "double precision"),
]
_AUGMENTED_COLUMNS = [
    "dataset_id",
    "external_id",
    "data",
    "metadata",
    "content_hash",
    "origin",
    "parent_id",
    "recipe",
    "annotation_count",
    "reference_label_id",
    "reference_method",
    "reference_confidence",
    "created_at",
]


def augmented_items_create(*, dataset_id: int, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Store augmented items (origin "augmented", with their parent, recipe and the reference
    label they inherit) by COPY; rows whose external id the dataset already has are left out,
    so a re-run with the same recipe and seed adds nothing. Returns (created, already there)."""
    now = timezone.now()
    if db.is_postgres():
        # Staged, then one INSERT … SELECT that skips known ids (the unique index answers) and
        # hashes the stored JSON as an import does.
        stage = "augment_stage"
        db.create_temp_table(stage, _AUGMENT_STAGE)
        try:
            db.copy_rows(
                stage,
                [c for c, _ in _AUGMENT_STAGE],
                (
                    (
                        r["external_id"],
                        orjson.dumps(r["data"]).decode(),
                        orjson.dumps(r.get("metadata") or {}).decode(),
                        r["parent_id"],
                        orjson.dumps(r["recipe"]).decode(),
                        r.get("reference_label_id"),
                        r.get("reference_method", ""),
                        r.get("reference_confidence"),
                    )
                    for r in rows
                ),
            )
            created = db.execute(
                f"INSERT INTO labeling_item ({', '.join(_AUGMENTED_COLUMNS)}) "
                "SELECT %s, s.external_id, s.data, s.metadata, md5(s.data::text), %s, "
                "s.parent_id, s.recipe, 0, s.reference_label_id, s.reference_method, "
                f"s.reference_confidence, %s FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM "
                "labeling_item i WHERE i.dataset_id = %s AND i.external_id = s.external_id)",
                [dataset_id, Origin.AUGMENTED.value, now, dataset_id],
            )
        finally:
            db.drop_temp_table(stage)
        return created, len(rows) - created
    names = [row["external_id"] for row in rows]
    existing: set[str] = set()
    for start in range(0, len(names), 10_000):
        existing.update(
            Item.objects.filter(
                dataset_id=dataset_id, external_id__in=names[start : start + 10_000]
            ).values_list("external_id", flat=True)
        )
    fresh = [row for row in rows if row["external_id"] not in existing]

    def record(row: dict[str, Any]) -> tuple[Any, ...]:
        data = orjson.dumps(row["data"])
        return (
            dataset_id,
            row["external_id"],
            data.decode(),
            orjson.dumps(row.get("metadata") or {}).decode(),
            _content_hash(data),
            Origin.AUGMENTED.value,
            row["parent_id"],
            orjson.dumps(row["recipe"]).decode(),
            0,
            row.get("reference_label_id"),
            row.get("reference_method", ""),
            row.get("reference_confidence"),
            now,
        )

    created = db.copy_rows("labeling_item", _AUGMENTED_COLUMNS, (record(r) for r in fresh))
    return created, len(rows) - len(fresh)
