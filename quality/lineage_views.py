"""The lineage page: each dataset version with the jobs that read exactly that data, the model
runs they made or were trained on it, and the reports; then the work on live data since the
newest version. A job read a version when the dataset's state it recorded on starting (item
count, highest item id, annotation count, last label event) equals the version's."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from labeling.versions import job_versions, versions_of
from quality.models import ModelRun
from quality.views import RESULT_PAGES, _staff_dataset
from workbench.models import Job


@login_required
@require_http_methods(["GET"])
def lineage_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = _staff_dataset(request, dataset_id)
    versions = list(versions_of(dataset_id=dataset.pk))
    jobs = list(
        Job.objects.filter(dataset=dataset).select_related("created_by").order_by("-id")[:500]
    )
    read = job_versions(dataset.pk, jobs, versions=versions)
    runs = list(ModelRun.objects.filter(dataset=dataset).select_related("job").order_by("-id"))
    runs_by_job: dict[int, list[ModelRun]] = {}
    for run in runs:
        if run.job_id:
            runs_by_job.setdefault(run.job_id, []).append(run)

    def entry(job: Job) -> dict[str, Any]:
        page = RESULT_PAGES.get(job.kind)
        return {
            "job": job,
            "kind": job.kind.replace("_", " "),
            "runs": runs_by_job.get(job.pk, []),
            "page": page if page and job.status == Job.Status.SUCCEEDED else None,
        }

    groups = [
        {
            "version": v,
            "jobs": [
                entry(j) for j in jobs if read[j.pk] == v.number and j.kind != "freeze_version"
            ],
            "trained": [r for r in runs if r.trained_on in (str(v.number), f"v{v.number}")],
        }
        for v in versions
    ]
    live = [entry(j) for j in jobs if read[j.pk] is None and j.kind != "freeze_version"]
    return render(
        request,
        "quality/lineage.html",
        {
            "dataset": dataset,
            "groups": groups,
            "live": live,
            "uploaded": [r for r in runs if not r.job_id],
        },
    )
