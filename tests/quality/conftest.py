"""Fixtures of the quality tests."""

from __future__ import annotations

from typing import Any

import pytest

from labeling.models import Dataset


@pytest.fixture
def run_job(api: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Start a job through the API and run it eagerly; returns the finished job's JSON."""
    settings.CELERY_TASK_ALWAYS_EAGER = True

    def run(dataset: Dataset, kind: str = "agreement", **params: Any) -> dict[str, Any]:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/v1/datasets/{dataset.pk}/jobs/",
                {"kind": kind, "params": params},
                format="json",
            )
        assert response.status_code == 202, response.json()
        job: dict[str, Any] = api.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()
        return job

    return run
