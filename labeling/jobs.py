"""Job kinds of the labeling app."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from labeling.models import ImportBatch, Item
from workbench.jobs import Progress, job_kind, params_checked
from workbench.models import Job


def _validate_import(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    batch_id = params.get("import_batch")
    if (
        not isinstance(batch_id, int)
        or not ImportBatch.objects.filter(pk=batch_id, dataset=dataset).exists()
    ):
        raise ValidationError(
            {"params": ["Imports start by uploading a file to /api/v1/datasets/{id}/imports/."]}
        )
    return {"import_batch": batch_id}


@job_kind(
    "import",
    description="Import a file into a dataset.",
    validate=_validate_import,
    owners_only=True,
)
def run_import(job: Job, progress: Progress) -> dict[str, Any]:
    """Import the file of the batch named in the job's parameters."""
    from labeling.services import import_execute

    batch = ImportBatch.objects.select_related("dataset").get(pk=job.params["import_batch"])
    return import_execute(batch=batch, progress=progress)


NOTE_MAX_LENGTH = 2000


def _validate_freeze(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    note = params.get("note", "")
    if not isinstance(note, str) or len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [f"A note is text of at most {NOTE_MAX_LENGTH} characters."]
    if dataset is None or not Item.objects.filter(dataset=dataset).exists():
        errors["dataset"] = ["The dataset has no items yet: there is nothing to freeze."]
    cleaned = {"note": note.strip() if isinstance(note, str) else note}
    return params_checked(params, {"note"}, errors, cleaned)


@job_kind(
    "freeze_version",
    description="Freeze the dataset into a new immutable version.",
    validate=_validate_freeze,
)
def run_freeze_version(job: Job, progress: Progress) -> dict[str, Any]:
    """Freeze the job's dataset into a new version (its note in the job's parameters)."""
    from labeling.versions import version_freeze

    assert job.dataset is not None  # noqa: S101 - freeze jobs are created on a dataset
    version = version_freeze(
        dataset=job.dataset,
        note=job.params.get("note", ""),
        created_by_id=job.created_by_id,
        job_id=job.pk,
        progress=progress,
    )
    return {
        "version": version.number,
        "digest": version.digest,
        "items": version.item_count,
        "file": version.file.name,
    }
