"""Serve the workbench the production way: gunicorn for the web, a Celery worker beside it.

`manage.py serve` (what `make run` starts) collects the static files, then runs two processes
and watches them:

- gunicorn (`workbench/gunicorn_conf.py`): WORKBENCH_WEB_WORKERS processes × WORKBENCH_WEB_THREADS
  threads, static files served by WhiteNoise, compressed and cached;
- a Celery worker for the background jobs (restarted if it dies).

Ctrl-C or SIGTERM stops both gracefully: gunicorn finishes the requests in flight and Celery the
job in hand, each for up to WORKBENCH_SHUTDOWN_SECONDS, and a job cut short is taken up again
by the next worker. `serve --dev` runs Django's autoreloading development server instead, for
working on the code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from workbench import gunicorn_conf


class Command(BaseCommand):
    help = "Serve the workbench: gunicorn and a Celery worker together (--dev: runserver)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default=os.environ.get("WORKBENCH_BIND", "127.0.0.1:8000"),
            help="Address and port to listen on (default 127.0.0.1:8000, or WORKBENCH_BIND).",
        )
        parser.add_argument(
            "--dev",
            action="store_true",
            help="Django's autoreloading development server (for working on the code).",
        )
        parser.add_argument("--workers", type=int, help="Web worker processes.")
        parser.add_argument("--threads", type=int, help="Threads per web worker.")
        parser.add_argument(
            "--no-worker", action="store_true", help="Don't start a background worker."
        )

    def handle(self, *args: Any, addrport: str, dev: bool, **options: Any) -> None:
        if ":" not in addrport:
            addrport = f"127.0.0.1:{addrport}"
        if dev:
            self._serve_dev(addrport, worker=not options["no_worker"])
            return
        self._serve(
            addrport,
            workers=options["workers"] or gunicorn_conf.workers,
            threads=options["threads"] or gunicorn_conf.threads,
            worker=not options["no_worker"],
        )

    def _serve(self, addrport: str, *, workers: int, threads: int, worker: bool) -> None:
        _check_migrated()
        env = {
            **os.environ,
            "WORKBENCH_COLLECTED_STATIC": "1",
            "WORKBENCH_BIND": addrport,
            "WORKBENCH_WEB_WORKERS": str(workers),
            "WORKBENCH_WEB_THREADS": str(threads),
        }
        # Hashed, compressed copies for WhiteNoise; done by a child that has the same settings
        # as the web workers. Quick when nothing changed.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
            env=env,
            cwd=settings.BASE_DIR,
            check=True,
        )
        web_command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:workbench.gunicorn_conf",
            "workbench.wsgi:application",
        ]
        supervisor = _Supervisor(self.stdout.write, self.stderr.write)
        supervisor.start("web", web_command, env, restart=False)
        if worker:
            supervisor.start("worker", _worker_command(), env, restart=True)
        pool = settings.WORKBENCH_DB_POOL_SIZE
        self.stdout.write(
            self.style.SUCCESS(
                f"Workbench at http://{addrport}/ — gunicorn: {workers} worker(s) × {threads} "
                f"thread(s); background jobs: {'1 Celery worker' if worker else 'none'}. "
                "Ctrl-C stops both."
            )
        )
        if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            processes = workers + (1 if worker else 0)
            self.stdout.write(
                f"PostgreSQL connections: at most {processes * pool} "
                f"({processes} processes × WORKBENCH_DB_POOL_SIZE={pool})."
            )
        code = supervisor.run()
        if code:
            raise CommandError(f"The web server stopped unexpectedly (exit code {code}).")

    def _serve_dev(self, addrport: str, *, worker: bool) -> None:
        # The autoreloader runs this command again in a child process (RUN_MAIN): only the
        # outer process starts the worker, once.
        process = None
        if worker and os.environ.get("RUN_MAIN") != "true":
            process = subprocess.Popen(_worker_command())  # noqa: S603
            self.stdout.write(f"Background worker started (pid {process.pid}).")
        try:
            call_command("runserver", addrport)
        finally:
            if process is not None:
                _stop(process, signal.SIGTERM, timeout=10)


def _check_migrated() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    connection.close()
    if pending:
        raise CommandError(
            f"The database misses {len(pending)} migration(s): run `manage.py migrate` first."
        )


def _worker_command() -> list[str]:
    # One job at a time in the worker process itself: the embedded worker needs no more, and a
    # job that brings the process down is retried by the restarted worker (acks_late).
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workbench",
        "worker",
        "--pool=solo",
        "--loglevel=warning",
        "--hostname=embedded@%h",
    ]


def _stop_with_parent() -> None:
    """In the child, before it runs: on Linux, get SIGTERM when `serve` dies, even by SIGKILL,
    so that no orphaned server or worker is left behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _Supervisor:
    """Runs named child processes, each in its own session so that a Ctrl-C reaches only us;
    forwards a graceful stop to all of them; restarts those marked for restart."""

    def __init__(self, out: Any, err: Any) -> None:
        self.out, self.err = out, err
        self.children: dict[str, tuple[subprocess.Popen[bytes], list[str], dict[str, str], bool]]
        self.children = {}
        self.stopping = False
        self.restarts: list[float] = []

    def start(self, name: str, command: list[str], env: dict[str, str], *, restart: bool) -> None:
        process = subprocess.Popen(  # noqa: S603
            command, env=env, start_new_session=True, preexec_fn=_stop_with_parent
        )
        self.children[name] = (process, command, env, restart)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            self.out(f"Stopping (signal {signal.Signals(signum).name}) …")
        self.stopping = True

    def run(self) -> int:
        """Watch the children until a stop signal, or until the web server exits; return
        the web server's exit code when it exited on its own."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        exit_code = 0
        try:
            while not self.stopping:
                time.sleep(0.2)
                for name, (process, command, env, restart) in list(self.children.items()):
                    code = process.poll()
                    if code is None:
                        continue
                    if restart and self._may_restart():
                        self.err(f"The {name} process exited ({code}); starting it again.")
                        self.start(name, command, env, restart=True)
                    else:
                        self.err(f"The {name} process exited ({code}); stopping.")
                        exit_code = code or 1
                        self.stopping = True
        finally:
            self.shutdown()
        return exit_code

    def _may_restart(self) -> bool:
        # At most 5 restarts a minute: a worker that can't start at all is reported, not looped.
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < 60] + [now]
        return len(self.restarts) <= 5

    def shutdown(self) -> None:
        grace = float(os.environ.get("WORKBENCH_SHUTDOWN_SECONDS", "30"))
        for process, *_ in self.children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # gunicorn and Celery: graceful stop
        deadline = time.monotonic() + grace + 5
        for process, *_ in self.children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
