"""Job kinds of the labeling app."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from labeling.models import ImportBatch
from workbench.jobs import Progress, job_kind
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


@job_kind("import", description="Import a file into a dataset.", validate=_validate_import)
def run_import(job: Job, progress: Progress) -> dict[str, Any]:
    """Import the file of the batch named in the job's parameters."""
    from labeling.services import import_execute

    batch = ImportBatch.objects.select_related("dataset").get(pk=job.params["import_batch"])
    return import_execute(batch=batch, progress=progress)
