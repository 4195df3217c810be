"""The job runner: validation, claiming, cancel, and stale jobs — in-process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

import tests.jobkinds  # noqa: F401 - registers test_sleep
from labeling.models import Dataset
from tests.conftest import client_for
from workbench import jobs
from workbench.models import Job


def test_unknown_and_unavailable_kinds(dataset: Dataset, api: Any) -> None:
    url = f"/api/v1/datasets/{dataset.pk}/jobs/"
    response = api.post(url, {"kind": "teleport", "params": {}}, format="json")
    assert response.status_code == 400
    assert "Unknown job kind 'teleport'" in str(response.json())
    response = api.post(url, {"kind": "drift"}, format="json")
    assert response.status_code == 400
    assert "current" in response.json()  # a known kind: its parameters are checked
    response = api.post(url, {"kind": "import", "params": {"import_batch": 12345}}, format="json")
    assert response.status_code == 400
    assert not Job.objects.exists()


def test_job_runs_eagerly_and_records_lineage(
    dataset: Dataset, api: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/datasets/{dataset.pk}/jobs/",
            {"kind": "test_sleep", "params": {"seconds": 0.2}},
            format="json",
        )
    assert response.status_code == 202
    job_id = response.json()["job"]["id"]
    body = api.get(f"/api/v1/jobs/{job_id}/").json()
    assert (body["status"], body["progress"], body["attempts"]) == ("succeeded", 1.0, 1)
    assert body["result"] == {"slept": 0.2, "attempt": 1}
    assert body["code_version"] and body["dataset_state"]["items"] == 0
    assert body["started_at"] and body["finished_at"] and body["duration_seconds"] >= 0.2


def test_expected_failure_is_reported(dataset: Dataset) -> None:
    job = Job.objects.create(kind="test_sleep", params={"fail": True}, dataset=dataset)
    jobs.job_execute(job.pk, worker="test")
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "Asked to fail.")


def test_a_finished_job_is_never_run_again(dataset: Dataset) -> None:
    job = Job.objects.create(kind="test_sleep", params={"seconds": 0}, dataset=dataset)
    assert jobs.job_execute(job.pk, worker="a") == jobs.Claim.DONE
    job.refresh_from_db()
    finished = job.finished_at
    assert jobs.job_execute(job.pk, worker="b") == jobs.Claim.DONE
    job.refresh_from_db()
    assert (job.attempts, job.finished_at, job.worker) == (1, finished, "a")


def test_a_running_job_with_a_fresh_heartbeat_is_busy(dataset: Dataset) -> None:
    job = Job.objects.create(
        kind="test_sleep",
        dataset=dataset,
        status="running",
        heartbeat_at=timezone.now(),
        attempts=1,
    )
    assert jobs.job_claim(job.pk, worker="b") == jobs.Claim.BUSY


def test_a_stale_running_job_is_taken_over_then_given_up(dataset: Dataset, settings: Any) -> None:
    settings.WORKBENCH_JOB_MAX_ATTEMPTS = 2
    old = timezone.now() - timedelta(seconds=settings.WORKBENCH_JOB_STALE_SECONDS + 5)
    job = Job.objects.create(
        kind="test_sleep", dataset=dataset, status="running", heartbeat_at=old, attempts=1
    )
    assert jobs.job_claim(job.pk, worker="b") == jobs.Claim.CLAIMED
    Job.objects.filter(pk=job.pk).update(heartbeat_at=old)
    assert jobs.job_claim(job.pk, worker="c") == jobs.Claim.DONE
    job.refresh_from_db()
    assert job.status == "failed" and "stopped" in job.error


def test_reading_a_stale_job_reports_it_failed(dataset: Dataset, api: Any, settings: Any) -> None:
    old = timezone.now() - timedelta(seconds=settings.WORKBENCH_JOB_STALE_SECONDS + 1)
    job = Job.objects.create(
        kind="test_sleep",
        dataset=dataset,
        status="running",
        heartbeat_at=old,
        started_at=old,
        attempts=1,
    )
    body = api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "failed"
    assert "worker running this job stopped" in body["error"]


def test_cancel(dataset: Dataset, api: Any, annotator: Any, outsider: Any) -> None:
    job = Job.objects.create(kind="test_sleep", dataset=dataset)
    assert client_for(annotator).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 403
    # Annotators label blind: job results (reports, labels) are for owners and reviewers.
    assert client_for(annotator).get(f"/api/v1/jobs/{job.pk}/").status_code == 403
    assert client_for(annotator).get("/api/v1/jobs/").json()["results"] == []
    assert client_for(outsider).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    response = api.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.json()["status"] == "cancelled"
    assert jobs.job_execute(job.pk, worker="w") == jobs.Claim.DONE  # never starts
    again = api.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert again.status_code == 400 and "already cancelled" in again.json()["detail"]


def test_progress_stops_a_cancelled_job(dataset: Dataset) -> None:
    job = Job.objects.create(kind="test_sleep", dataset=dataset, status="cancelled")
    progress = jobs.Progress(job.pk, min_interval=0)
    with pytest.raises(jobs.JobCancelled):
        progress(1, 2)


def test_rerun(
    dataset: Dataset, api: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    job = Job.objects.create(
        kind="test_sleep", params={"seconds": 0}, dataset=dataset, status="failed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/jobs/{job.pk}/rerun/")
    assert response.status_code == 202
    new = Job.objects.get(pk=response.json()["id"])
    assert (new.status, new.params) == ("succeeded", {"seconds": 0})
    listed = api.get("/api/v1/jobs/").json()["results"]
    assert {j["id"] for j in listed} == {job.pk, new.pk}
