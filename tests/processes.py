"""Helpers for tests that start the workbench's own processes (gunicorn, Celery workers)
against the test database."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection


def database_url() -> str:
    """The test database as a DATABASE_URL, for a child process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def require_broker() -> None:
    """Skip (fail in CI) when CELERY_BROKER_URL names a Redis that doesn't answer."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        return
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as exc:
        if os.environ.get("WORKBENCH_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"Redis is not reachable at CELERY_BROKER_URL: {exc}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(url: str, timeout: float = 60, alive: object = None) -> None:
    """Poll ``url`` until it answers (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if callable(alive) and not alive():
                raise RuntimeError(f"The server exited before answering {url}") from None
            time.sleep(0.2)
    raise TimeoutError(f"Nothing answered at {url} within {timeout} s")
