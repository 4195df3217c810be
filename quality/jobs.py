"""Job kinds of the quality app."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from labeling.models import ConsensusMethod
from workbench.jobs import Progress, job_kind
from workbench.models import Job


def _validate_agreement(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    method = params.get("consensus_method", dataset.consensus_method)
    if method not in ConsensusMethod.values:
        errors["consensus_method"] = [
            f"Unknown method '{method}'. Choose one of: {', '.join(ConsensusMethod.values)}."
        ]
    cleaned["consensus_method"] = method
    min_shared = params.get("min_shared", 10)
    if not isinstance(min_shared, int) or isinstance(min_shared, bool) or min_shared < 1:
        errors["min_shared"] = ["A whole number of shared items, at least 1."]
    cleaned["min_shared"] = min_shared
    unknown = sorted(set(params) - {"consensus_method", "min_shared"})
    if unknown:
        errors["params"] = [f"Unknown parameter(s): {', '.join(unknown)}."]
    if errors:
        raise ValidationError(errors)
    return cleaned


@job_kind(
    "agreement",
    description="Measure labeller agreement and fit the consensus labels.",
    validate=_validate_agreement,
)
def run_agreement(job: Job, progress: Progress) -> dict[str, Any]:
    """Agreement report and consensus for the job's dataset."""
    from quality.services import agreement_run

    assert job.dataset is not None  # noqa: S101 - agreement jobs are created on a dataset
    return agreement_run(dataset=job.dataset, job_id=job.pk, params=job.params, progress=progress)
