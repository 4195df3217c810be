"""Gunicorn's settings for the workbench (`gunicorn -c python:workbench.gunicorn_conf
workbench.wsgi`), from the environment; `manage.py serve` starts gunicorn with this file.

Threaded workers (gthread): a request holds a thread only while it is being answered, so keep-
alive connections and slow clients cost nothing. Each worker process holds at most
WORKBENCH_DB_POOL_SIZE database connections (settings.py), so WORKBENCH_WEB_THREADS defaults to
that size: no thread ever waits for a connection.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def default_workers() -> int:
    """One process per core, at least two (one can restart while the other answers)."""
    return max(2, min(os.cpu_count() or 1, 8))


bind = [os.environ.get("WORKBENCH_BIND", "127.0.0.1:8000")]
worker_class = "gthread"
workers = _int("WORKBENCH_WEB_WORKERS", default_workers())
threads = _int("WORKBENCH_WEB_THREADS", _int("WORKBENCH_DB_POOL_SIZE", 4))
# A worker that stops answering its master for this long is replaced. Long answers (streamed
# exports) run in threads and don't block that heartbeat.
timeout = _int("WORKBENCH_WEB_TIMEOUT", 120)
graceful_timeout = _int("WORKBENCH_SHUTDOWN_SECONDS", 30)
keepalive = 5
# Replace each worker after this many requests (with jitter), so that memory stays bounded.
max_requests = _int("WORKBENCH_WEB_MAX_REQUESTS", 20_000)
max_requests_jitter = max_requests // 10
backlog = 2048
# Workers' heartbeat files in memory, not on a disk that may stall (gunicorn's advice).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
forwarded_allow_ips = os.environ.get("WORKBENCH_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("WORKBENCH_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms [%({x-request-id}o)s]'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "workbench-web"
