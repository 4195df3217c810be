"""Celery entry points: load by id, call the job runner."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from workbench import jobs


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def run_job(self: object, job_id: int) -> None:
    """Run one Job row (see workbench.jobs)."""
    request = self.request  # type: ignore[attr-defined]
    claim = jobs.job_execute(job_id, worker=request.hostname or "", task_id=request.id or "")
    if claim == jobs.Claim.BUSY:
        # Another worker holds it with a fresh heartbeat (or died a moment ago): look again once
        # the heartbeat would have gone stale.
        raise self.retry(countdown=settings.WORKBENCH_JOB_STALE_SECONDS + 1)  # type: ignore[attr-defined]


@worker_ready.connect
def _reap_on_start(**_: object) -> None:
    jobs.jobs_reap_stale()
