"""Jobs on a real Celery worker process: over Redis + PostgreSQL in CI (CELERY_BROKER_URL,
DATABASE_URL), over the embedded filesystem broker + SQLite on a newcomer's machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.conf import settings as django_settings
from django.db import connection

import tests.jobkinds  # noqa: F401 - registers test_sleep here too
from labeling.models import Dataset, ImportBatch, Item
from workbench.celery import app
from workbench.models import Job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, media: Path, log: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "WORKBENCH_MEDIA_ROOT": str(media),
            "WORKBENCH_EXTRA_JOB_MODULES": "tests.jobkinds",
            "WORKBENCH_JOB_HEARTBEAT_SECONDS": "0.5",
            "WORKBENCH_JOB_STALE_SECONDS": str(STALE_SECONDS),
            "WORKBENCH_JOB_MAX_ATTEMPTS": "2",
        }
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workbench",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=info",
                f"--hostname=test-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("The worker did not start:\n" + log.read_text())
            time.sleep(0.2)

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill_all(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_all()


@pytest.fixture
def start_worker(tmp_path: Path, settings: Any) -> Iterator[Callable[[], Worker]]:
    if os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        import redis

        try:
            redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).ping()
        except redis.ConnectionError as exc:
            if os.environ.get("WORKBENCH_REQUIRE_SERVICES"):
                raise
            pytest.skip(f"Redis is not reachable at CELERY_BROKER_URL: {exc}")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.WORKBENCH_JOB_STALE_SECONDS = STALE_SECONDS
    app.control.purge()
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(tmp_path / "media", tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(job_id: int, statuses: tuple[str, ...], timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {Job.objects.get(pk=job_id).status}, not {statuses}")


def test_import_runs_on_the_worker_with_progress(
    start_worker: Callable[[], Worker], dataset: Dataset, upload: Any, settings: Any, api: Any
) -> None:
    worker = start_worker()
    settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES = 0
    rows = "".join(f"i{i},Review number {i},web,W{i % 7},positive\n" for i in range(30_000))
    response = upload(dataset, "big.csv", "id,text,source,worker,label\n" + rows)
    assert response.status_code == 202, response.json()
    job_id = response.json()["job"]["id"]
    seen_progress = set()
    deadline = time.monotonic() + 120
    while (job := Job.objects.get(pk=job_id)).status in ("queued", "running"):
        seen_progress.add(round(job.progress, 2))
        assert time.monotonic() < deadline, worker.log.read_text()
        time.sleep(0.05)
    assert job.status == "succeeded", (job.error, worker.log.read_text())
    assert job.worker.startswith("test-") and job.attempts == 1
    assert Item.objects.filter(dataset=dataset).count() == 30_000
    batch = ImportBatch.objects.get(pk=response.json()["import_batch"]["id"])
    assert (batch.status, batch.annotation_count) == ("succeeded", 30_000)
    assert any(0 < p < 1 for p in seen_progress), seen_progress
    body = api.get(f"/api/v1/datasets/{dataset.pk}/imports/{batch.pk}/").json()
    assert body["status"] == "succeeded" and body["item_count"] == 30_000


def test_a_failing_background_import_changes_nothing(
    start_worker: Callable[[], Worker], dataset: Dataset, upload: Any, settings: Any
) -> None:
    start_worker()
    settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES = 0
    rows = "".join(f"i{i},text,{'positive' if i != 9000 else 'bogus'}\n" for i in range(10_000))
    response = upload(dataset, "bad.csv", "id,text,label\n" + rows)
    assert response.status_code == 202
    job = wait_for(response.json()["job"]["id"], ("failed", "succeeded"))
    assert job.status == "failed" and "Row 9001" in job.error and "bogus" in job.error
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and batch.errors[0]["row"] == 9001
    assert not Item.objects.exists()


def test_cancel_a_running_job(
    start_worker: Callable[[], Worker], dataset: Dataset, api: Any
) -> None:
    start_worker()
    job_id = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/",
        {"kind": "test_sleep", "params": {"seconds": 30}},
        format="json",
    ).json()["job"]["id"]
    wait_for(job_id, ("running",))
    assert api.post(f"/api/v1/jobs/{job_id}/cancel/").json()["status"] == "cancelled"
    # The worker stops at its next progress report and is free for the next job.
    nxt = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/",
        {"kind": "test_sleep", "params": {"seconds": 0.1}},
        format="json",
    ).json()["job"]["id"]
    assert wait_for(nxt, ("succeeded",), timeout=20).status == "succeeded"
    assert Job.objects.get(pk=job_id).status == "cancelled"


def test_a_killed_worker_process_gets_its_job_retried(
    start_worker: Callable[[], Worker], dataset: Dataset, api: Any
) -> None:
    worker = start_worker()
    job_id = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/",
        {"kind": "test_sleep", "params": {"seconds": 60, "first_attempt_only": True}},
        format="json",
    ).json()["job"]["id"]
    wait_for(job_id, ("running",))
    for child in worker.children():
        child.kill()  # the pool process dies mid-job; Celery requeues the message
    job = wait_for(job_id, ("succeeded", "failed"), timeout=60)
    assert (job.status, job.attempts) == ("succeeded", 2), (job.error, worker.log.read_text())
    assert job.result == {"slept": 0, "attempt": 2}


def test_a_dead_worker_never_leaves_a_job_running(
    start_worker: Callable[[], Worker], dataset: Dataset, api: Any
) -> None:
    worker = start_worker()
    job_id = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/",
        {"kind": "test_sleep", "params": {"seconds": 60}},
        format="json",
    ).json()["job"]["id"]
    wait_for(job_id, ("running",))
    worker.kill_all()  # the whole worker is gone, nobody will redeliver soon
    time.sleep(STALE_SECONDS + 1)
    body = api.get(f"/api/v1/jobs/{job_id}/").json()
    assert body["status"] == "failed"
    assert "stopped" in body["error"]


def test_slice_and_augmentation_jobs_on_the_worker(
    start_worker: Callable[[], Worker], dataset: Dataset, upload: Any, api: Any
) -> None:
    start_worker()
    labels = ["positive", "negative", "neutral"]
    rows = "".join(
        f"i{i},Review {i},{'web' if i % 3 else 'app'},{labels[i % 3]}\n" for i in range(300)
    )
    assert upload(dataset, "r.csv", "id,text,source,label\n" + rows).status_code == 201
    predictions = [
        {
            "external_id": f"i{i}",
            "probabilities": [0.8 if k == (i % 3 if i % 5 else 0) else 0.1 for k in range(3)],
        }
        for i in range(300)
    ]
    run = api.post(
        f"/api/v1/datasets/{dataset.pk}/model-runs/",
        {"name": "m", "version": "1", "predictions": predictions},
        format="json",
    )
    assert run.status_code == 201, run.json()
    base = f"/api/v1/datasets/{dataset.pk}"
    slices = api.post(f"{base}/jobs/", {"kind": "slices", "params": {}}, format="json")
    job = wait_for(slices.json()["job"]["id"], ("succeeded", "failed"))
    assert job.status == "succeeded", job.error
    table = api.get(f"{base}/slices/").json()
    assert table["overall"]["n_items"] == 300
    assert any(r["slice"] == "source = app" for r in table["rows"])

    augment = api.post(
        f"{base}/jobs/",
        {
            "kind": "augment",
            "params": {"recipe": "typo", "target": {"label": "negative"}, "seed": 3, "variants": 2},
        },
        format="json",
    )
    job = wait_for(augment.json()["job"]["id"], ("succeeded", "failed"))
    assert job.status == "succeeded", job.error
    assert job.result["created"] == 200
    assert Item.objects.filter(dataset=dataset, origin="augmented").count() == 200


def test_a_killed_augmentation_is_retried_without_duplicates(
    start_worker: Callable[[], Worker], dataset: Dataset, upload: Any, api: Any, settings: Any
) -> None:
    worker = start_worker()
    settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES = 10**9
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "near",
        "the",
        "river",
        "bank",
    ]
    rows = "".join(
        f"i{i},{' '.join(words[i % 7 :] + words[: i % 7])},positive\n" for i in range(30_000)
    )
    assert upload(dataset, "big.csv", "id,text,label\n" + rows).status_code == 201
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/",
        {
            "kind": "augment",
            "params": {
                "recipe": "char_noise",
                "target": {"label": "positive"},
                "seed": 5,
                "variants": 4,
            },
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["job"]["id"]
    deadline = time.monotonic() + 60
    # Kill the pool process once some chunks are in, before the job ends.
    while Item.objects.filter(dataset=dataset, origin="augmented").count() == 0:
        assert time.monotonic() < deadline, worker.log.read_text()
        time.sleep(0.02)
    killed = Job.objects.get(pk=job_id).status == "running"
    if killed:
        for child in worker.children():
            child.kill()
    job = wait_for(job_id, ("succeeded", "failed"), timeout=120)
    assert job.status == "succeeded", (job.error, worker.log.read_text())
    assert Item.objects.filter(dataset=dataset, origin="augmented").count() == 120_000
    assert job.result["created"] + job.result["already_there"] == 120_000
    if killed:  # the retry found the first attempt's chunks and added none twice
        assert job.attempts == 2 and job.result["already_there"] > 0, job.result
