"""A controllable job kind for testing the runner with real workers (loaded by the worker
through WORKBENCH_EXTRA_JOB_MODULES=tests.jobkinds)."""

from __future__ import annotations

import time
from typing import Any

from workbench.jobs import JobError, Progress, job_kind
from workbench.models import Job


@job_kind("test_sleep", description="Sleep, reporting progress (tests only).")
def run_sleep(job: Job, progress: Progress) -> dict[str, Any]:
    seconds = float(job.params.get("seconds", 1))
    if job.params.get("first_attempt_only") and job.attempts > 1:
        seconds = 0
    if job.params.get("fail"):
        raise JobError("Asked to fail.")
    steps = max(int(seconds / 0.1), 1)
    for step in range(steps):
        time.sleep(seconds / steps)
        progress(step + 1, steps, f"step {step + 1} of {steps}")
    return {"slept": seconds, "attempt": job.attempts}
