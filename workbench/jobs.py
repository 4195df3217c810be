"""The job runner every background computation uses.

A job kind is a function ``run(job, progress) -> result`` registered with :func:`job_kind`.
:func:`job_create` stores a ``Job`` row and queues it after the transaction commits;
:func:`job_execute` (called by the Celery task, or inline for small work) claims the row, runs the
kind, and records the outcome. Claiming is idempotent: a finished job is never run again, and a
"running" job is taken over only when its heartbeat has gone stale (its worker died). A heartbeat
thread keeps the row fresh while the kind works, so a job never stays "running" after its worker
is gone: a redelivered message takes it over, or :func:`jobs_reap_stale` marks it failed.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from workbench.models import Job

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = float(os.environ.get("WORKBENCH_JOB_HEARTBEAT_SECONDS", "10"))


class JobCancelled(Exception):
    """Raised inside a running job when someone cancelled it."""


class JobError(Exception):
    """An expected failure; its message is shown to the user as the job's error."""


class Progress:
    """Records progress on the job row; raises JobCancelled once the job is cancelled."""

    def __init__(self, job_id: int, min_interval: float = 0.5) -> None:
        self.job_id = job_id
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, done: float, total: float | None = None, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self.min_interval and (total is None or done < total):
            return
        self._last = now
        fraction = min(max(done / total if total else done, 0.0), 1.0)
        updated = Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
            progress=fraction, progress_message=message[:255], heartbeat_at=timezone.now()
        )
        if not updated:
            raise JobCancelled


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[[Job, Progress], dict[str, Any]]
    description: str
    validate: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None
    # Kinds that change the dataset's content (imports, augmentation) are for its owners;
    # reviewers run the analyses.
    owners_only: bool = False


_KINDS: dict[str, JobKind] = {}

# The job kinds of the public API; those not registered yet answer with a clear 400.
PUBLIC_KINDS = (
    "import",
    "agreement",
    "label_issues",
    "baseline_model",
    "active_learning",
    "slices",
    "augment",
    "drift",
    "data_quality",
    "freeze_version",
)


def job_kind(
    name: str,
    *,
    description: str,
    validate: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None,
    owners_only: bool = False,
) -> Callable[
    [Callable[[Job, Progress], dict[str, Any]]], Callable[[Job, Progress], dict[str, Any]]
]:
    """Register a job kind."""

    def register(
        run: Callable[[Job, Progress], dict[str, Any]],
    ) -> Callable[[Job, Progress], dict[str, Any]]:
        _KINDS[name] = JobKind(
            name=name,
            run=run,
            description=description,
            validate=validate,
            owners_only=owners_only,
        )
        return run

    return register


def kind_for_owners_only(kind: str) -> bool:
    """Whether only a dataset's owners may start jobs of this kind."""
    return kind in _KINDS and _KINDS[kind].owners_only


def load_job_kinds() -> None:
    for module in ["labeling.jobs", "quality.jobs", *settings.WORKBENCH_EXTRA_JOB_MODULES]:
        importlib.import_module(module)


@functools.cache
def code_version() -> str:
    """The code's git commit (or WORKBENCH_CODE_VERSION where there is no git checkout)."""
    if version := os.environ.get("WORKBENCH_CODE_VERSION"):
        return version
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def params_unknown(params: dict[str, Any], allowed: Any, errors: dict[str, list[str]]) -> None:
    """Refuse parameters a job kind doesn't take (under ``errors["params"]``)."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        errors["params"] = [f"Unknown parameter(s): {', '.join(unknown)}."]


def params_checked(
    params: dict[str, Any], allowed: Any, errors: dict[str, list[str]], cleaned: dict[str, Any]
) -> dict[str, Any]:
    """A job kind's cleaned parameters, once unknown ones are refused too; else a 400 with
    every problem."""
    params_unknown(params, allowed, errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def job_validate(*, kind: str, dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Check that a kind exists and its parameters are valid; return the cleaned parameters."""
    if kind not in _KINDS:
        available = ", ".join(sorted(k for k in _KINDS if k in PUBLIC_KINDS)) or "none"
        if kind in PUBLIC_KINDS:
            raise ValidationError(
                {"kind": [f"Jobs of kind '{kind}' are not available yet. Available: {available}."]}
            )
        raise ValidationError({"kind": [f"Unknown job kind '{kind}'. Available: {available}."]})
    if not isinstance(params, dict):
        raise ValidationError({"params": ["Must be a JSON object."]})
    validate = _KINDS[kind].validate
    return validate(dataset, params) if validate else params


def job_create(
    *,
    kind: str,
    params: dict[str, Any],
    dataset: Any = None,
    created_by: Any = None,
    run_inline: bool = False,
) -> Job:
    """Store a job and run it: inline (small work) or on a worker after the commit."""
    params = job_validate(kind=kind, dataset=dataset, params=params)
    job = Job.objects.create(kind=kind, params=params, dataset=dataset, created_by=created_by)
    if run_inline:
        job_execute(job.pk, worker=f"inline@{socket.gethostname()}")
        job.refresh_from_db()
    else:
        from workbench.tasks import run_job

        transaction.on_commit(lambda: run_job.delay(job.pk))
    return job


class Claim(Enum):
    CLAIMED = "claimed"
    DONE = "done"  # finished already, or nothing to do
    BUSY = "busy"  # another worker seems to be running it: look again later


def _dataset_state(job: Job) -> dict[str, Any]:
    if job.dataset_id is None:
        return {}
    from labeling.selectors import dataset_state

    return dataset_state(dataset_id=job.dataset_id)


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.WORKBENCH_JOB_STALE_SECONDS)


def job_claim(job_id: int, *, worker: str, task_id: str = "") -> Claim:
    """Take a job for running, at most one worker at a time."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return Claim.DONE
        now = timezone.now()
        if job.status == Job.Status.RUNNING:
            if job.heartbeat_at and job.heartbeat_at >= _stale_before():
                return Claim.BUSY
            if job.attempts >= settings.WORKBENCH_JOB_MAX_ATTEMPTS:
                _fail_lost(job)
                return Claim.DONE
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.worker = worker[:255]
        job.celery_task_id = task_id[:64]
        job.code_version = code_version()
        job.dataset_state = _dataset_state(job)
        job.progress = 0.0
        job.save(
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "heartbeat_at",
                "worker",
                "celery_task_id",
                "code_version",
                "dataset_state",
                "progress",
            ]
        )
    return Claim.CLAIMED


def _fail_lost(job: Job) -> None:
    job.status = Job.Status.FAILED
    since = job.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S") if job.heartbeat_at else "its start"
    job.error = (
        f"The worker running this job stopped (no heartbeat since {since} UTC, after "
        f"{job.attempts} attempt(s)). Run the job again."
    )
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def jobs_reap_stale() -> int:
    """Mark running jobs whose worker stopped sending heartbeats as failed; return how many."""
    stale = list(
        Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=_stale_before()).values_list(
            "pk", flat=True
        )[:100]
    )
    reaped = 0
    for job_id in stale:
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job_id)
            if job.status == Job.Status.RUNNING and job.heartbeat_at < _stale_before():
                _fail_lost(job)
                reaped += 1
    return reaped


class _Heartbeat(threading.Thread):
    def __init__(self, job_id: int) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # the database may be busy (SQLite): beat again later
                    log.debug("heartbeat for job %s skipped", self.job_id, exc_info=True)
        finally:
            connection.close()


def _finish(job_id: int, **fields: Any) -> None:
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        finished_at=timezone.now(), **fields
    )


def job_execute(job_id: int, *, worker: str, task_id: str = "") -> Claim:
    """Claim a job, run its kind and record the outcome (succeeded / failed / cancelled)."""
    claim = job_claim(job_id, worker=worker, task_id=task_id)
    if claim != Claim.CLAIMED:
        return claim
    job = Job.objects.select_related("dataset").get(pk=job_id)
    kind = _KINDS.get(job.kind)
    if kind is None:
        _finish(job_id, status=Job.Status.FAILED, error=f"Unknown job kind '{job.kind}'.")
        return Claim.DONE
    heartbeat = _Heartbeat(job_id)
    heartbeat.start()
    try:
        result = kind.run(job, Progress(job_id))
    except JobCancelled:
        log.info("job %s cancelled", job_id)
    except JobError as exc:
        _finish(job_id, status=Job.Status.FAILED, error=str(exc))
    except Exception as exc:
        log.exception("job %s failed", job_id)
        _finish(
            job_id,
            status=Job.Status.FAILED,
            error=f"Internal error ({type(exc).__name__}): {exc}"[:2000],
        )
    else:
        _finish(
            job_id,
            status=Job.Status.SUCCEEDED,
            progress=1.0,
            result=result,
            progress_message="Done",
        )
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
    return Claim.DONE


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued or running job; a running one stops at its next progress report."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            raise ValidationError({"detail": f"The job has already {locked.status}."})
        locked.status = Job.Status.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "finished_at"])
    return locked


def job_rerun(*, job: Job, created_by: Any) -> Job:
    """Start a new job with the same kind, dataset and parameters."""
    return job_create(kind=job.kind, params=job.params, dataset=job.dataset, created_by=created_by)
