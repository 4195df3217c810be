"""`manage.py serve`, the way `make run` starts it: gunicorn with WhiteNoise, a Celery worker
beside it that is started again if it dies, JSON errors under /api/, and a clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token

from labeling.models import Dataset
from tests.processes import database_url, free_port, require_broker, wait_until_serving

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class Served:
    def __init__(self, process: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.process, self.base, self.log = process, base, log

    def request(
        self, path: str, *, data: Any = None, token: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        body = None
        all_headers = dict(headers or {})
        if data is not None:
            body = json.dumps(data).encode()
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(  # noqa: S310 - our own server
            self.base + path, data=body, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def children(self, name: str) -> list[psutil.Process]:
        found = []
        for child in psutil.Process(self.process.pid).children():
            try:
                if name in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:  # exited (a zombie until serve reaps it)
                continue
        return found


def _serve(tmp_path: Path, *args: str) -> Iterator[Served]:
    require_broker()
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
        "WORKBENCH_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "WORKBENCH_WEB_WORKERS": "2",
        "WORKBENCH_WEB_THREADS": "2",
        "WORKBENCH_SHUTDOWN_SECONDS": "10",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_serving(served.base + "/healthz", alive=lambda: process.poll() is None)
        yield served
    finally:
        if process.poll() is None:
            children = psutil.Process(process.pid).children(recursive=True)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            # serve's children stop with it (SIGTERM on its death); wait for them.
            _, alive = psutil.wait_procs(children, timeout=15)
            for child in alive:
                child.kill()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path)


def test_serve_answers_through_gunicorn_with_cached_static_files_and_json_api_errors(
    served: Served,
) -> None:
    status, headers, _ = served.request("/healthz")
    assert status == 200 and headers["Server"].startswith("gunicorn")
    _, _, page = served.request("/login/")
    css = re.search(rb'href="(/static/workbench/app\.[0-9a-f]{12}\.css)"', page)
    assert css, page[:500]
    status, headers, _ = served.request(css.group(1).decode(), headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert "immutable" in headers["Cache-Control"] and headers["Content-Encoding"] == "gzip"

    status, headers, body = served.request(
        "/api/v1/no-such-thing/", headers={"X-Request-ID": "trace-42"}
    )
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "detail": "There is no API endpoint at /api/v1/no-such-thing/.",
        "code": "not_found",
        "request_id": "trace-42",
    }
    assert headers["X-Request-ID"] == "trace-42"
    status, headers, body = served.request("/api/v1/datasets/")
    assert status == 401 and json.loads(body)["detail"]
    # A page that isn't there is a page, not JSON.
    status, headers, body = served.request("/no-such-page/")
    assert status == 404 and b"Not found" in body and "text/html" in headers["Content-Type"]
    # Each 404 is one line in the log, with its request id; no traceback.
    log = served.log.read_text()
    assert "Not Found: /api/v1/no-such-thing/" in log and "[trace-42]" in log
    assert "Traceback" not in log


def test_serve_runs_jobs_restarts_a_dead_worker_and_stops_on_ctrl_c(
    served: Served, dataset: Dataset, upload: Any
) -> None:
    rows = "".join(
        f"i{i},Review {i},{who},{'positive' if (i + n) % 4 else 'negative'}\n"
        for i in range(20)
        for n, who in enumerate(["ann", "bob", "cy"])
    )
    assert upload(dataset, "labels.csv", "id,text,worker,label\n" + rows).status_code == 201
    token = Token.objects.get_or_create(user=dataset.created_by)[0].key

    # The embedded worker dies; serve starts another one, which runs the next job.
    [worker] = served.children("celery")
    worker.kill()
    deadline = time.monotonic() + 30
    while not (fresh := [p for p in served.children("celery") if p.pid != worker.pid]):
        assert time.monotonic() < deadline, served.log.read_text()
        time.sleep(0.2)
    status, _, body = served.request(
        f"/api/v1/datasets/{dataset.pk}/jobs/", data={"kind": "agreement"}, token=token
    )
    assert status == 202, body
    job_id = json.loads(body)["job"]["id"]
    deadline = time.monotonic() + 90
    while (job := json.loads(served.request(f"/api/v1/jobs/{job_id}/", token=token)[2]))[
        "status"
    ] in ("queued", "running"):
        assert time.monotonic() < deadline, served.log.read_text()
        time.sleep(0.3)
    assert job["status"] == "succeeded", job["error"]
    assert job["worker"].startswith("embedded@")

    # Ctrl-C reaches serve (its children run in their own sessions) and stops everything.
    children = psutil.Process(served.process.pid).children(recursive=True)
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=40) == 0, served.log.read_text()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
    assert fresh[0] in gone


def test_serve_dev_runs_the_autoreloading_development_server(tmp_path: Path) -> None:
    for served in _serve(tmp_path, "--dev", "--no-worker"):
        status, headers, _ = served.request("/healthz")
        assert status == 200 and "WSGIServer" in headers["Server"]
