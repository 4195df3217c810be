"""Workbench benchmarks: figures and ratios against bare baselines measured in the same run.

    .venv/bin/python bench/run.py               # 1,000,000 rows (several minutes)
    .venv/bin/python bench/run.py --quick       # 20,000 rows, a smoke run (under a minute)
    .venv/bin/python bench/run.py --rows 200000 --keep

Nothing is asserted: the script prints what it measured (see bench/README.md). A small mode of the
same script (``--child import``) runs one import in a fresh process so that its peak RSS can be
read on its own; ``--child agreement-job`` and ``--child agreement-bare`` do the same for the
agreement job and its bare baseline.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import io
import itertools
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/workbench_bench"
RESULT_PREFIX = "BENCH_RESULT "

# Label Studio 1.23 measured on a 2-core machine like ours (the README's Performance section).
LS_IMPORT_100K_S = 42.0
LS_EXPORT_100K_S = 302.0
LS_PAGE_MS = (260.0, 1100.0)

# Issue #3: next-item and submit each under 20 ms (median, one client) on a 1,000,000-item dataset.
LABELLING_TARGET_MS = 20.0
PAGE_LOAD_TARGET_MS = 300.0
CHROMIUM = "/usr/bin/chromium"
LABELLING_LABELS = ["positive", "negative", "neutral"]
SECTIONS = (
    "import",
    "export",
    "parquet",
    "api",
    "labelling",
    "page",
    "agreement",
    "label_issues",
    "slices",
    "versions",
)

COLUMNS = ["id", "text", "source", "device", "country", "score", "collected_at"]
WORDS = (  # noqa: SIM905 - a word list reads best as one string
    "the a an this that product service delivery app screen battery price support order refund "
    "quality box colour size fit update login page crash slow fast great good bad terrible okay "
    "love hate works broken again never always really very quite late early friendly rude staff "
    "store online website call email wait hours days weeks recommend return replace cheap "
    "expensive value easy hard simple confusing clear helpful useless new old version feature "
    "bug fixed still after before when because but and or not no yes thanks please I we they "
    'it was is are were be been arrived damaged perfect, excellent, awful, fine, meh, "quoted"'
).split()
SOURCES = ("web", "app", "email", "call-centre", "survey")
DEVICES = ("desktop", "mobile", "tablet", "kiosk")
COUNTRIES = (  # noqa: SIM905
    "US GB DE FR ES IT NL SE PL BR MX IN JP KR CN AU CA ZA NG EG TR AR CL NZ IE PT NO FI DK BE"
).split()


# ---------------------------------------------------------------------------------------------
# Environment, database


def configure_env(tmp: Path) -> None:
    """Everything Django reads at import time, set before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "workbench.settings"
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ["WORKBENCH_DATA_DIR"] = str(tmp / "data")
    os.environ["WORKBENCH_MEDIA_ROOT"] = str(tmp / "media")
    os.environ["WORKBENCH_STATIC_ROOT"] = str(tmp / "static")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    os.environ["DJANGO_SECRET_KEY"] = "bench-only-not-secret"  # noqa: S105
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["WORKBENCH_CODE_VERSION"] = "bench"  # the job runner would otherwise call git
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Jobs are run in-process by job_execute: the message import_create queues goes to an
    # in-memory broker, never to a real worker.
    for name in ("REDIS_URL", "CELERY_TASK_ALWAYS_EAGER"):
        os.environ.pop(name, None)
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def django_setup() -> None:
    import django

    django.setup()


def db_name() -> str:
    return urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")


def is_bench_db() -> bool:
    """Only a database whose name ends in 'bench' is emptied by the script."""
    return db_name().endswith("bench")


def ensure_database() -> bool:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = db_name()
    with psycopg.connect(
        make_conninfo(os.environ["DATABASE_URL"], dbname="postgres"), autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return not exists


def migrate() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ.copy(),
        check=True,
    )
    return time.perf_counter() - start


def empty_bench_data() -> None:
    """Remove every dataset and job (the bench database only); the schema stays. Items are
    named apart: labeling_item has no foreign key to its dataset, so CASCADE does not reach it
    (the items of earlier runs would stay, and every scan of the table would read them)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("TRUNCATE labeling_dataset, labeling_item, workbench_job CASCADE")
        conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")


def pg_connect() -> Any:
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"])


def schema_missing() -> list[str]:
    """Tables, indexes and constraints the models declare but the database lacks: a database
    migrated before a migration was rewritten (``migrate`` sees nothing to do)."""
    from django.apps import apps
    from django.db import connection

    missing = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in apps.get_models():
            meta = model._meta
            if meta.app_label not in ("labeling", "workbench") or not meta.managed or meta.proxy:
                continue
            if meta.db_table not in tables:
                missing.append(f"table {meta.db_table}")
                continue
            names = set(connection.introspection.get_constraints(cursor, meta.db_table))
            missing += [
                f"{obj.name} on {meta.db_table}"
                for obj in [*meta.indexes, *meta.constraints]
                if obj.name not in names
            ]
    return missing


def recreate_database() -> None:
    """Drop and create the (bench) database again; migrate() follows."""
    import psycopg
    from django.db import connections
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    connections.close_all()
    with psycopg.connect(
        make_conninfo(os.environ["DATABASE_URL"], dbname="postgres"), autocommit=True
    ) as conn:
        name = sql.Identifier(db_name())
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


# ---------------------------------------------------------------------------------------------
# Data


def write_csv(path: Path, rows: int, seed: int = 20240101) -> int:
    """A deterministic CSV of short texts with 5 metadata columns, written as it is generated."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    year = 365 * 86400
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        block: list[list[str]] = []
        for i in range(1, rows + 1):
            text = " ".join(rng.choices(WORDS, k=rng.randint(6, 28)))
            when = start + timedelta(seconds=rng.randrange(year))
            block.append(
                [
                    str(i),
                    text.capitalize() + ".",
                    rng.choice(SOURCES),
                    rng.choice(DEVICES),
                    rng.choice(COUNTRIES),
                    f"{rng.random():.3f}",
                    when.isoformat(),
                ]
            )
            if len(block) == 10_000:
                writer.writerows(block)
                block.clear()
        writer.writerows(block)
    return path.stat().st_size


# ---------------------------------------------------------------------------------------------
# Bare baselines


def copy_baseline(path: Path) -> float:
    """Seconds for a raw COPY of the CSV file into a bare table (text columns, no indexes)."""
    cols = ", ".join(f"{c} text" for c in COLUMNS)
    with pg_connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        conn.execute(f"CREATE TABLE bench_copy_baseline ({cols})")
        conn.commit()
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_copy_baseline FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - start
        count = conn.execute("SELECT count(*) FROM bench_copy_baseline").fetchone()[0]
        conn.execute("DROP TABLE bench_copy_baseline")
        conn.commit()
    return elapsed if count else float("nan")


def parquet_baseline(dataset_id: int, path: Path) -> tuple[float, int]:
    """Plain SELECT (server-side cursor) → pyarrow table → Parquet, same schema and chunking."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from labeling.exporting import parquet_schema

    schema = parquet_schema()
    types = [schema.field(i).type for i in range(len(schema) - 1)]
    ann_type = schema.field("annotations").type
    rows = 0
    start = time.perf_counter()
    with (
        pg_connect() as conn,
        conn.cursor(name="bench_parquet") as cur,
        pq.ParquetWriter(path, schema, compression="zstd") as writer,
    ):
        cur.execute(
            "SELECT i.external_id, i.data::text, i.metadata::text, i.origin, i.import_batch_id, "
            "p.external_id, i.recipe::text, l.name, NULLIF(i.reference_method, ''), "
            "i.reference_confidence "
            "FROM labeling_item i LEFT JOIN labeling_item p ON p.id = i.parent_id "
            "LEFT JOIN labeling_label l ON l.id = i.reference_label_id "
            "WHERE i.dataset_id = %s ORDER BY i.id",
            [dataset_id],
        )
        while chunk := cur.fetchmany(5000):
            columns = list(zip(*chunk, strict=True))
            arrays = [pa.array(col, type=t) for col, t in zip(columns, types, strict=True)]
            arrays.append(pa.array([[] for _ in chunk], type=ann_type))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += len(chunk)
    return time.perf_counter() - start, rows


# ---------------------------------------------------------------------------------------------
# Child: one import through the real path, in its own process


def bench_user() -> Any:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench")
    return user


def child_import(csv_path: Path, rows: int, profile: str | None) -> None:
    django_setup()
    import psutil
    from django.core.files import File

    from labeling import services
    from labeling.models import ImportBatch
    from workbench.jobs import job_execute
    from workbench.models import Job

    rss_setup = psutil.Process().memory_info().rss
    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}  # peak RSS (KB) so far, before/after each phase

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            peaks[f"before {name}"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
                peaks[f"after {name}"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        return wrapper

    # Phase timers around module-level functions the import calls (no code is changed; a
    # function that has been renamed is simply not timed).
    for attr, name in (
        ("_store_upload", "store_upload"),
        ("_import_write", "write_items"),
        ("reference_labels_refresh", "reference_refresh"),
        ("_import", "import_total"),
    ):
        if callable(getattr(services, attr, None)):
            setattr(services, attr, timed(name, getattr(services, attr)))

    user = bench_user()
    dataset = services.dataset_create(name=f"bench import {rows:,}", created_by=user)
    profiler = None
    sql_times: dict[str, list[float]] = {}

    def sql_timer(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            entry = sql_times.setdefault(" ".join(sql.split())[:110], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    wrapper: Any = contextlib.nullcontext()
    if profile:
        import cProfile

        from django.db import connection

        wrapper = connection.execute_wrapper(sql_timer)
        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    with wrapper:
        with csv_path.open("rb") as fh:
            batch, job = services.import_create(
                dataset=dataset,
                upload=File(fh, name="bench.csv"),
                uploaded_by=user,
                file_format="csv",
            )
        created = time.perf_counter()
        job_execute(job.pk, worker="bench")
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    job = Job.objects.get(pk=job.pk)
    batch = ImportBatch.objects.get(pk=batch.pk)
    if "import_total" in phases:
        phases["read_parse_stage"] = (
            phases["import_total"]
            - phases.get("write_items", 0.0)
            - phases.get("reference_refresh", 0.0)
        )
    result = {
        "dataset_id": dataset.pk,
        "rows": rows,
        "seconds": elapsed,
        "import_create_seconds": created - start,
        "job_status": job.status,
        "job_error": job.error,
        "items": batch.item_count,
        "inline": job.worker != "bench",
        "phases": phases,
        "peaks": peaks,
        "sql_top": sorted(
            ([sql, n, secs] for sql, (n, secs) in sql_times.items()), key=lambda e: -e[2]
        )[:12],
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child_import(csv_path: Path, rows: int, tmp: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "import",
        "--tmp",
        str(tmp),
        "--csv",
        str(csv_path),
        "--rows",
        str(rows),
    ]
    proc = subprocess.run(
        cmd, env=os.environ.copy(), stdout=subprocess.PIPE, text=True, check=False
    )
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode or not lines:
        sys.stdout.write(proc.stdout)
        raise SystemExit(f"The import child ({rows:,} rows) failed (exit {proc.returncode}).")
    result = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    result["rusage_children_kb"] = children_kb
    if result["job_status"] != "succeeded" or result["items"] != rows:
        raise SystemExit(f"The import of {rows:,} rows did not succeed: {result}")
    return result


# ---------------------------------------------------------------------------------------------
# Parent measurements (in this process, after django.setup())


def export_to(fmt: str, dataset_id: int, out: Path | None) -> tuple[float, int]:
    from labeling.exporting import export_stream
    from labeling.models import Dataset
    from labeling.selectors import export_chunks

    start = time.perf_counter()
    ds = Dataset.objects.get(pk=dataset_id)
    size = 0
    with (out or Path(os.devnull)).open("wb") as fh:
        for chunk in export_stream(
            fmt,
            export_chunks(dataset=ds),
            data_fields=ds.data_fields,
            metadata_fields=ds.metadata_fields,
        ):
            fh.write(chunk)
            size += len(chunk)
    return time.perf_counter() - start, size


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), times


def api_pages(dataset_id: int, rows: int, repeat: int) -> dict[str, Any]:
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=bench_user())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/v1/datasets/{dataset_id}/items/"

    def get(query: str) -> Any:
        response = client.get(url + query)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}{query} → {response.status_code}: {response.content!r}")
        return response

    first = get("").json()
    assert len(first["results"]) == 100, "page size 100 expected"
    next_cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
    decoded = base64.b64decode(next_cursor).decode()
    assert decoded == f"p={first['results'][-1]['id']}", f"unexpected cursor {decoded!r}"

    page = min(5000, rows // 100)
    with pg_connect() as conn:
        after_id, expect_id = (
            r[0]
            for r in conn.execute(
                "SELECT id FROM labeling_item WHERE dataset_id = %s ORDER BY id OFFSET %s LIMIT 2",
                [dataset_id, (page - 1) * 100 - 1],
            ).fetchall()
        )
    cursor = base64.b64encode(f"p={after_id}".encode()).decode()
    deep_query = "?" + urlencode({"cursor": cursor})
    deep = get(deep_query).json()
    assert deep["results"][0]["id"] == expect_id, "constructed cursor landed on the wrong page"
    first_ms, first_all = median_ms(lambda: get(""), repeat)
    deep_ms, deep_all = median_ms(lambda: get(deep_query), repeat)
    return {
        "page": page,
        "first_ms": first_ms,
        "deep_ms": deep_ms,
        "first_all": first_all,
        "deep_all": deep_all,
    }


# ---------------------------------------------------------------------------------------------
# Labelling (issue #3): next-item + submit through the REST API, one client and many


def labelling_dataset(n: int) -> tuple[Any, float]:
    """A dataset of n items that need 3 labels each, none labelled yet; the items are written
    with one INSERT … SELECT generate_series (the real table, its indexes and constraints)."""
    from django.db import connection, transaction

    from labeling import services

    dataset = services.dataset_create(
        name=f"bench labelling {n:,}",
        created_by=bench_user(),
        labels=LABELLING_LABELS,
        annotators_per_item=3,
    )
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO labeling_item (dataset_id, external_id, data, metadata, content_hash, "
            "origin, annotation_count, reference_method, created_at) "
            "SELECT %s, g::text, "
            "jsonb_build_object('text', 'Review ' || g || ': ' || md5(g::text) || ' ' "
            "|| md5((g + 1)::text) || '.'), "
            "jsonb_build_object('source', (ARRAY['web', 'app', 'email'])[1 + g %% 3]), "
            "md5(g::text), 'imported', 0, '', now() FROM generate_series(1, %s) AS g",
            [dataset.pk, n],
        )
    services.dataset_update(dataset=dataset, data_fields=["text"], metadata_fields=["source"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE labeling_item")
    return dataset, time.perf_counter() - start


def labelling_users(dataset: Any, count: int) -> list[tuple[Any, str]]:
    """`count` users, annotators of the dataset, with their API tokens."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from labeling import services

    users = []
    for i in range(1, count + 1):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-labeller-{i}")
        services.membership_set(dataset=dataset, username=user.username, role="annotator")
        token, _ = Token.objects.get_or_create(user=user)
        users.append((user, token.key))
    return users


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class PairLog:
    """Times (ms) of next-item, submit and the pair, and the statuses seen."""

    def __init__(self) -> None:
        self.next_ms: list[float] = []
        self.submit_ms: list[float] = []
        self.pair_ms: list[float] = []
        self.statuses: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1

    def extend(self, other: PairLog) -> None:
        self.next_ms += other.next_ms
        self.submit_ms += other.submit_ms
        self.pair_ms += other.pair_ms
        for key, n in other.statuses.items():
            self.statuses[key] = self.statuses.get(key, 0) + n

    def summary(self) -> dict[str, Any]:
        if not self.pair_ms:
            raise SystemExit(f"No pair was timed ({self.statuses}): is the dataset too small?")
        return {
            "pairs": len(self.pair_ms),
            "pair_median": statistics.median(self.pair_ms),
            "pair_p95": pct(self.pair_ms, 95),
            "next_median": statistics.median(self.next_ms),
            "next_p95": pct(self.next_ms, 95),
            "submit_median": statistics.median(self.submit_ms),
            "submit_p95": pct(self.submit_ms, 95),
            "statuses": dict(sorted(self.statuses.items())),
        }


def label_pairs(
    request: Callable[[str, str, Any], tuple[int, bytes]],
    dataset_id: int,
    pairs: int,
    seed: int,
    log: PairLog | None,
) -> None:
    """`pairs` rounds of GET next-item then POST the label (skipped when nothing is left).

    ``request(method, path, json_body)`` returns (status, body). A 409 on submit (the item
    filled up meanwhile) is counted apart; any other unexpected status stops the benchmark."""
    rng = random.Random(seed)
    next_path = f"/api/v1/datasets/{dataset_id}/next-item/"
    post_path = f"/api/v1/datasets/{dataset_id}/annotations/"
    for _ in range(pairs):
        start = time.perf_counter()
        status, body = request("GET", next_path, None)
        got = time.perf_counter()
        if status == 204:
            if log is not None:
                log.count("next-item 204")
            continue
        if status != 200:
            raise SystemExit(f"GET {next_path} → {status}: {body[:300]!r}")
        item_id = json.loads(body)["item"]["id"]
        label = rng.choices(LABELLING_LABELS, weights=(5, 3, 2))[0]
        entry = {"item": item_id, "label": label, "time_spent_ms": 500}
        status, body = request("POST", post_path, entry)
        done = time.perf_counter()
        if status not in (201, 409):
            raise SystemExit(f"POST {post_path} → {status}: {body[:300]!r}")
        if log is not None:
            log.next_ms.append((got - start) * 1000)
            log.submit_ms.append((done - got) * 1000)
            log.pair_ms.append((done - start) * 1000)
            log.count(f"submit {status}")


def labelling_single(dataset: Any, token: str, pairs: int, warmup: int) -> dict[str, Any]:
    """One client, in-process (DRF APIClient, token auth): pairs after a warm-up, and a bare
    baseline, the median GET of one item (auth, membership, one row) by the same client."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from labeling.models import Item

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    def request(method: str, path: str, body: Any) -> tuple[int, bytes]:
        post = method == "POST"
        response = client.post(path, body, format="json") if post else client.get(path)
        return response.status_code, response.content

    label_pairs(request, dataset.pk, warmup, seed=1, log=None)
    log = PairLog()
    label_pairs(request, dataset.pk, pairs, seed=2, log=log)
    item_id = Item.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True)[0]
    detail = f"/api/v1/datasets/{dataset.pk}/items/{item_id}/"
    item_ms, _ = median_ms(lambda: request("GET", detail, None), 50)
    # One more pair, untimed, to count the SQL queries of each request.
    queries: list[int] = []

    def counted(method: str, path: str, body: Any) -> tuple[int, bytes]:
        with CaptureQueriesContext(connection) as ctx:
            result = request(method, path, body)
        queries.append(len(ctx.captured_queries))
        return result

    label_pairs(counted, dataset.pk, 1, seed=3, log=None)
    return {**log.summary(), "item_get_median": item_ms, "queries": queries}


def child_serve() -> None:
    """Serve workbench.wsgi.application on a free port of 127.0.0.1 with Django's threaded
    development server classes (wsgiref + ThreadingMixIn, a thread per connection, HTTP/1.1
    keep-alive); print the port, then serve until killed."""
    django_setup()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    from workbench.wsgi import application

    class Handler(WSGIRequestHandler):
        disable_nagle_algorithm = True  # small writes must not wait for delayed ACKs

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Handler)
    server.set_app(application)
    print(RESULT_PREFIX + json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


@contextlib.contextmanager
def labelling_server(tmp: Path) -> Iterator[tuple[int, int]]:
    """The child server (``--child serve``) in its own process; yields its port and pid."""
    log_path = tmp / "server.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "serve", "--tmp", str(tmp)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=log)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if not line.startswith(RESULT_PREFIX):
            proc.wait(timeout=10)
            raise SystemExit(
                f"The benchmark server did not start (exit {proc.returncode}):\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        yield json.loads(line.removeprefix(RESULT_PREFIX))["port"], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_snapshot(server_pid: int) -> dict[str, Any]:
    """The time and the CPU seconds so far: the server process, this process (the clients),
    the PostgreSQL backends of the bench database (when the server is on this machine), the
    whole machine (busy = not idle, not iowait)."""
    import psutil

    server = psutil.Process(server_pid).cpu_times()
    own = resource.getrusage(resource.RUSAGE_SELF)
    title = f" {db_name()} "  # a backend's title: "postgres: 15/main: user dbname host(port) …"
    postgres = {  # by pid: a backend that ends between two snapshots is not counted
        proc.pid: proc.info["cpu_times"].user + proc.info["cpu_times"].system
        for proc in psutil.process_iter(["name", "cmdline", "cpu_times"])
        if (proc.info["name"] or "").startswith("postgres")
        and proc.info["cpu_times"]
        and title in " ".join(proc.info["cmdline"] or ()) + " "
    }
    machine = psutil.cpu_times()
    return {
        "time": time.perf_counter(),
        "server": server.user + server.system,
        "clients": own.ru_utime + own.ru_stime,
        "postgres": postgres,
        "busy": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
    }


def labelling_concurrent(
    port: int, server_pid: int, dataset_id: int, tokens: list[str], pairs: int, warmup: int
) -> dict[str, Any]:
    """One thread per labeller, each with its own keep-alive HTTP connection: a warm-up, then
    all start together and do `pairs` pairs. Pairs/s = all timed pairs / wall time (from the
    start to when the last client is done). The CPU times of the server, the clients, the
    database backends and the machine are read at both ends."""
    import http.client
    import threading

    snapshots: list[dict[str, Any]] = []
    barrier = threading.Barrier(
        len(tokens), action=lambda: snapshots.append(cpu_snapshot(server_pid))
    )
    logs = [PairLog() for _ in tokens]
    reconnects = [0] * len(tokens)
    errors: list[BaseException] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Token {tokens[k]}", "Accept": "application/json"}

        def request(method: str, path: str, body: Any) -> tuple[int, bytes]:
            if body is None:
                conn.request(method, path, headers=headers)
            else:
                data = json.dumps(body).encode()
                conn.request(
                    method, path, body=data, headers={**headers, "Content-Type": "application/json"}
                )
            response = conn.getresponse()
            payload = response.read()
            if response.will_close:
                reconnects[k] += 1
            return response.status, payload

        try:
            label_pairs(request, dataset_id, warmup, seed=100 + k, log=None)
            barrier.wait()
            label_pairs(request, dataset_id, pairs, seed=200 + k, log=logs[k])
            barrier.wait()  # the end snapshot, while the server's connections are still open
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"A labelling client failed: {errors[0]!r}")
    total = PairLog()
    for log in logs:
        total.extend(log)
    start, end = snapshots
    wall = end["time"] - start["time"]
    n = len(total.pair_ms)
    cpu = {key: (end[key] - start[key]) * 1000 / n for key in ("server", "clients", "busy")}
    cpu["postgres"] = (
        sum(secs - start["postgres"].get(pid, 0.0) for pid, secs in end["postgres"].items())
        * 1000
        / n
    )
    return {
        **total.summary(),
        "cpu_ms": cpu,
        "busy_pct": (end["busy"] - start["busy"]) / (end["time"] - start["time"]) * 100,
        "wall_s": wall,
        "pairs_per_s": len(total.pair_ms) / wall,
        "reconnects": sum(reconnects),
        "per_client_median": [statistics.median(log.pair_ms) for log in logs],
    }


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def next_item_explain(dataset: Any, user: Any) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the query next-item uses to pick an item for `user`:
    captured while next_item_reserve runs once, then explained (twice, the second reported)
    inside a transaction that is rolled back (it locks a row: FOR UPDATE SKIP LOCKED)."""
    from django.db import connection, transaction

    from labeling.assignment import next_item_reserve
    from labeling.models import Reservation

    # Without a live reservation next_item_reserve takes the claiming path, not the resume one.
    Reservation.objects.filter(labeller__dataset=dataset, labeller__user=user).delete()
    captured: list[tuple[str, Any]] = []

    def capture(execute: Callable[..., Any], sql: str, params: Any, *args: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, *args)

    with connection.execute_wrapper(capture):
        start = time.perf_counter()
        next_item_reserve(dataset=dataset, user=user)
        call_ms = (time.perf_counter() - start) * 1000
    claims = [(sql, params) for sql, params in captured if "SKIP LOCKED" in sql]
    if not claims:
        raise SystemExit("next_item_reserve ran no SELECT … FOR UPDATE SKIP LOCKED query.")
    sql, params = claims[0]
    with transaction.atomic(), connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            raw = cursor.fetchone()[0]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        text = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    nodes = list(plan_nodes(plan["Plan"]))
    scans = [n for n in nodes if "Scan" in n["Node Type"]]
    assignment_scan = next((n for n in scans if n.get("Index Name") == "item_assignment_idx"), None)
    return {
        "call_ms": call_ms,
        "queries": len(captured),
        "execution_ms": plan["Execution Time"],
        "planning_ms": plan["Planning Time"],
        "hit": plan["Plan"].get("Shared Hit Blocks", 0),
        "read": plan["Plan"].get("Shared Read Blocks", 0),
        "scans": [
            f"{n['Node Type']} {n.get('Index Name') or n.get('Relation Name', '')} "
            f"(rows {n.get('Actual Rows', 0):,}, loops {n.get('Actual Loops', 0):,})"
            for n in scans
        ],
        "assignment_scan": assignment_scan["Node Type"] if assignment_scan else None,
        "walked": assignment_scan["Actual Rows"] * assignment_scan["Actual Loops"]
        if assignment_scan
        else None,
        "seq_scans": [n.get("Relation Name", "?") for n in scans if n["Node Type"] == "Seq Scan"],
        "sql": sql,
        "text": text,
    }


def labelling(tmp: Path, n: int, quick: bool, clients: int, show_plan: bool) -> dict[str, Any]:
    from django.db.models import Count

    from labeling.models import Item

    pairs_single = 100 if quick else 300
    pairs_each = 30 if quick else 100
    warmup = 10
    out: dict[str, Any] = {"n": n, "clients": clients}
    dataset, out["create_s"] = labelling_dataset(n)
    users = labelling_users(dataset, clients)
    # First, while no one else has labelled anything: a labeller alone ahead of the others.
    out["ahead"] = labeller_ahead(dataset, min(5000, n // 4))
    say(
        f"   dataset {dataset.pk}: {n:,} items (3 labels each needed, labels "
        f"{', '.join(LABELLING_LABELS)}) inserted in {out['create_s']:.1f} s; "
        f"{clients} annotator users"
    )

    out["single"] = s = labelling_single(dataset, users[0][1], pairs_single, warmup)
    say(
        f"   1 client (in-process APIClient), {s['pairs']} pairs after {warmup} warm-up: "
        f"pair {s['pair_median']:.1f} ms median, p95 {s['pair_p95']:.1f}"
    )
    say(
        f"      next-item {s['next_median']:.1f} ms median (p95 {s['next_p95']:.1f}) = "
        f"{s['next_median'] / LABELLING_TARGET_MS:.2f} of the {LABELLING_TARGET_MS:.0f} ms target;"
        f" submit {s['submit_median']:.1f} ms median (p95 {s['submit_p95']:.1f}) = "
        f"{s['submit_median'] / LABELLING_TARGET_MS:.2f} of it"
    )
    say(
        f"      baseline GET one item {s['item_get_median']:.1f} ms median; "
        f"statuses {s['statuses']}; SQL queries: next-item {s['queries'][0]}, submit "
        f"{s['queries'][-1]}"
    )

    out["server"] = (
        "Django's threaded development server (django.core.servers.basehttp: wsgiref + "
        "ThreadingMixIn, keep-alive), 1 process — not a production server"
    )
    with labelling_server(tmp) as (port, pid):
        tokens = [key for _, key in users]
        out["multi"] = m = labelling_concurrent(port, pid, dataset.pk, tokens, pairs_each, warmup)
    say(f"   {clients} clients over HTTP to 127.0.0.1:{port}, {out['server']}")
    say(
        f"      {m['pairs']} pairs ({pairs_each} each after {warmup} warm-up) in "
        f"{m['wall_s']:.1f} s = {m['pairs_per_s']:.0f} pairs/s; pair {m['pair_median']:.1f} ms "
        f"median, p95 {m['pair_p95']:.1f}"
    )
    say(
        f"      next-item {m['next_median']:.1f} ms median (p95 {m['next_p95']:.1f}); submit "
        f"{m['submit_median']:.1f} ms median (p95 {m['submit_p95']:.1f}); statuses "
        f"{m['statuses']}; reconnects {m['reconnects']}"
    )
    cpu = m["cpu_ms"]
    say(
        f"      CPU per pair: server process {cpu['server']:.1f} ms, clients "
        f"{cpu['clients']:.1f} ms, PostgreSQL backends {cpu['postgres']:.1f} ms, anything else "
        f"{cpu['busy'] - cpu['server'] - cpu['clients'] - cpu['postgres']:.1f} ms; machine busy "
        f"{m['busy_pct']:.0f}% of {os.cpu_count()} CPUs"
    )
    say(
        "      per-client pair medians: "
        + ", ".join(f"{v:.1f}" for v in m["per_client_median"])
        + " ms"
    )
    counts = dict(
        Item.objects.filter(dataset=dataset, annotation_count__gt=0)
        .values_list("annotation_count")
        .annotate(n=Count("id"))
        .order_by("annotation_count")
    )
    over = Item.objects.filter(dataset=dataset, annotation_count__gt=3).count()
    say(f"      items by annotation_count: {counts}; over 3: {over}")

    out["explain"] = e = next_item_explain(dataset, users[0][0])
    say_explain(f"next-item query for {users[0][0].username}", e, show_plan)

    a = out["ahead"]
    say(
        f"   a labeller {a['k']:,} items ahead (labelled alone, written by SQL, measured before "
        f"the others started): next_item_reserve {a['median_ms']:.1f} ms median of "
        f"{len(a['times'])}"
    )
    say_explain(f"next-item query for {a['user']}", a["explain"], show_plan)
    return out


def say_explain(title: str, e: dict[str, Any], show_plan: bool) -> None:
    say(
        f"   {title} (EXPLAIN ANALYZE, BUFFERS): {e['execution_ms']:.2f} ms execution, "
        f"{e['planning_ms']:.2f} ms planning, shared buffers hit {e['hit']:,} read {e['read']:,}; "
        f"next_item_reserve {e['call_ms']:.1f} ms, {e['queries']} queries"
    )
    say(
        "      item_assignment_idx: "
        + (
            f"used ({e['assignment_scan']}, {e['walked']:,} entries walked)"
            if e["assignment_scan"]
            else "NOT USED"
        )
        + (f"; Seq Scan on {', '.join(e['seq_scans'])}" if e["seq_scans"] else "; no Seq Scan")
    )
    for line in e["scans"]:
        say(f"      {line}")
    if show_plan or not e["assignment_scan"] or e["seq_scans"] or e["execution_ms"] > 5:
        say("      plan:")
        for line in e["text"].splitlines():
            say(f"        {line}")


def labeller_ahead(dataset: Any, k: int) -> dict[str, Any]:
    """next-item for a labeller who has labelled k items of a fresh dataset alone (its first
    labeller, say; each item needs 3 labels). Their annotations are written by SQL (with the
    items' annotation_count), then ANALYZE; next_item_reserve is then timed 10 times, each
    without a live reservation, and its query explained. The other labellers then start on
    these k items (breadth-first), which the single-client figures don't mind: no walk."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from labeling import services
    from labeling.assignment import next_item_reserve
    from labeling.models import Label, Reservation

    user, _ = get_user_model().objects.get_or_create(username="bench-labeller-ahead")
    services.membership_set(dataset=dataset, username=user.username, role="annotator")
    labeller = services.labeller_for_user(dataset=dataset, user=user)
    label = Label.objects.filter(dataset=dataset, name=LABELLING_LABELS[0]).get()
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH todo AS (SELECT id FROM labeling_item WHERE dataset_id = %s "
            "AND annotation_count = 0 ORDER BY id LIMIT %s), "
            "ins AS (INSERT INTO labeling_annotation (item_id, labeller_id, label_id, source, "
            "time_spent_ms, created_at, updated_at) "
            "SELECT id, %s, %s, 'human', 500, now(), now() FROM todo RETURNING item_id) "
            "UPDATE labeling_item SET annotation_count = annotation_count + 1 "
            "WHERE id IN (SELECT item_id FROM ins)",
            [dataset.pk, k, labeller.pk, label.pk],
        )
        # As autovacuum would soon: with the statistics of before the insert the planner
        # takes this labeller for one with no labels and may pick a quadratic anti-join.
        cursor.execute("ANALYZE labeling_annotation")
        cursor.execute("ANALYZE labeling_item")
    times = []
    for _ in range(10):
        Reservation.objects.filter(labeller=labeller).delete()
        start = time.perf_counter()
        next_item_reserve(dataset=dataset, user=user)
        times.append((time.perf_counter() - start) * 1000)
    explain = next_item_explain(dataset, user)
    Reservation.objects.filter(labeller=labeller).delete()
    return {
        "k": k,
        "user": user.username,
        "times": times,
        "median_ms": statistics.median(times),
        "explain": explain,
    }


# ---------------------------------------------------------------------------------------------
# Agreement + consensus: the agreement job against the bare numpy/library computation


AGREEMENT_CLASSES = 10
AGREEMENT_LABELLERS = 200
AGREEMENT_TARGET = 2.0  # job / bare, seconds and peak memory


def agreement_sizes(quick: bool) -> tuple[int, int]:
    """(items, annotations): 300,000 and 1,000,000, or 1/20 of them with --quick. A third of
    the items get 4 labels, the rest 3."""
    items = 15_000 if quick else 300_000
    return items, items * 10 // 3


def agreement_arrays(n_items: int, n_annotations: int, seed: int = 20240601) -> dict[str, Any]:
    """Synthetic crowd labels: each item labelled by 3 or 4 of the labellers (drawn without
    replacement), each labeller right with their own accuracy (0.5–0.95), the true class drawn
    from a skewed prior, a wrong answer uniform over the other classes. Indices, not ids."""
    import numpy as np

    k, n_labellers = AGREEMENT_CLASSES, AGREEMENT_LABELLERS
    rng = np.random.default_rng(seed)
    fours = n_annotations - 3 * n_items
    if not 0 <= fours <= n_items:
        raise SystemExit(f"{n_annotations:,} annotations can't be 3 or 4 on {n_items:,} items")
    per_item = np.full(n_items, 3)
    per_item[rng.choice(n_items, fours, replace=False)] = 4
    draws = rng.integers(0, n_labellers, (n_items, 4))
    while True:  # redraw the rows with a labeller twice: 4 distinct labellers per item
        ordered = np.sort(draws, axis=1)
        twice = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not twice.any():
            break
        draws[twice] = rng.integers(0, n_labellers, (int(twice.sum()), 4))
    item = np.repeat(np.arange(n_items), per_item)
    labeller = draws[np.arange(4)[None, :] < per_item[:, None]]
    accuracy = rng.uniform(0.5, 0.95, n_labellers)
    prior = 0.7 ** np.arange(k)
    prior /= prior.sum()
    truth = rng.choice(k, n_items, p=prior)
    right = rng.random(item.size) < accuracy[labeller]
    wrong = (truth[item] + rng.integers(1, k, item.size)) % k
    return {
        "item": item,
        "labeller": labeller,
        "label": np.where(right, truth[item], wrong),
        "time_ms": rng.integers(500, 20_000, item.size),
        "truth": truth,
        "prior": prior,
        "accuracy": accuracy,
    }


def agreement_dataset(tmp: Path, n_items: int, n_annotations: int) -> dict[str, Any]:
    """The dataset the agreement job reads: 10 labels c0…c9, n_items items (one INSERT … SELECT
    generate_series, metadata "source" with 3 values), 200 labellers w000…, the annotations by
    COPY (source 'imported'), annotation_count from a GROUP BY, then VACUUM ANALYZE. The same
    arrays (item id, labeller id, class code) go to an .npz for the bare baseline."""
    import numpy as np
    from django.db import connection, transaction

    from labeling import services
    from labeling.models import Label, Labeller

    start = time.perf_counter()
    names = [f"c{i}" for i in range(AGREEMENT_CLASSES)]
    dataset = services.dataset_create(
        name=f"bench agreement {n_annotations:,}",
        created_by=bench_user(),
        labels=names,
        annotators_per_item=3,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO labeling_item (dataset_id, external_id, data, metadata, content_hash, "
            "origin, annotation_count, reference_method, created_at) "
            "SELECT %s, g::text, "
            "jsonb_build_object('text', 'Review ' || g || ': ' || md5(g::text) || '.'), "
            "jsonb_build_object('source', (ARRAY['web', 'app', 'email'])[1 + g %% 3]), "
            "md5(g::text), 'imported', 0, '', now() FROM generate_series(1, %s) AS g",
            [dataset.pk, n_items],
        )
        cursor.execute(
            "SELECT id FROM labeling_item WHERE dataset_id = %s ORDER BY id", [dataset.pk]
        )
        item_pk = np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)
    services.dataset_update(dataset=dataset, data_fields=["text"], metadata_fields=["source"])
    labels = list(
        Label.objects.filter(dataset=dataset).order_by("position", "id").values_list("id", "name")
    )
    if [name for _, name in labels] != names:
        raise SystemExit(f"Labels came back as {labels}, not in the order {names}.")
    label_pk = np.array([pk for pk, _ in labels], dtype=np.int64)
    labellers = Labeller.objects.bulk_create(
        [Labeller(dataset=dataset, name=f"w{i:03d}") for i in range(AGREEMENT_LABELLERS)]
    )
    labeller_pk = np.array([w.pk for w in labellers], dtype=np.int64)
    items_s = time.perf_counter() - start

    gen_start = time.perf_counter()
    arrays = agreement_arrays(n_items, n_annotations)
    item_ids = item_pk[arrays["item"]]
    labeller_ids = labeller_pk[arrays["labeller"]]
    codes = arrays["label"]
    npz = tmp / "agreement.npz"
    np.savez(
        npz,
        item=item_ids,
        labeller=labeller_ids,
        label=codes,
        truth=arrays["truth"],
        k=AGREEMENT_CLASSES,
    )
    gen_s = time.perf_counter() - gen_start

    copy_start = time.perf_counter()
    when = "2024-06-01 12:00:00+00"
    rows = zip(
        item_ids.tolist(),
        labeller_ids.tolist(),
        label_pk[codes].tolist(),
        arrays["time_ms"].tolist(),
        strict=True,
    )
    with pg_connect() as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY labeling_annotation (item_id, labeller_id, label_id, source, "
                "time_spent_ms, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            block: list[str] = []
            for i, w, lab, ms in rows:
                block.append(f"{i}\t{w}\t{lab}\timported\t{ms}\t{when}\t{when}\n")
                if len(block) == 100_000:
                    copy.write("".join(block))
                    block.clear()
            copy.write("".join(block))
        copy_s = time.perf_counter() - copy_start
        count_start = time.perf_counter()
        conn.execute(
            "UPDATE labeling_item i SET annotation_count = c.n FROM "
            "(SELECT a.item_id, count(*) AS n FROM labeling_annotation a "
            "JOIN labeling_labeller l ON l.id = a.labeller_id WHERE l.dataset_id = %s "
            "GROUP BY a.item_id) c WHERE i.id = c.item_id",
            [dataset.pk],
        )
        conn.commit()
        stored = conn.execute(
            "SELECT count(*), sum(annotation_count) FROM labeling_item WHERE dataset_id = %s",
            [dataset.pk],
        ).fetchone()
        conn.commit()
        # As autovacuum would soon after such a write (and not during the timed job).
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) labeling_item, labeling_annotation")
        count_s = time.perf_counter() - count_start
    if stored != (n_items, n_annotations):
        raise SystemExit(
            f"Agreement data: expected {n_items:,} items, {n_annotations:,} labels; "
            f"the database has {stored}"
        )
    # What an import leaves: every item's reference label by majority vote (not measured).
    ref_start = time.perf_counter()
    services.reference_labels_refresh(dataset_id=dataset.pk)
    ref_s = time.perf_counter() - ref_start
    per_item = np.bincount(arrays["item"], minlength=n_items)
    return {
        "dataset_id": dataset.pk,
        "ref_s": ref_s,
        "npz": npz,
        "items": n_items,
        "annotations": n_annotations,
        "with_4": int(np.count_nonzero(per_item == 4)),
        "prior": arrays["prior"].tolist(),
        "accuracy": (float(arrays["accuracy"].min()), float(arrays["accuracy"].max())),
        "labels_right": float(np.mean(codes == arrays["truth"][arrays["item"]])),
        "items_s": items_s,
        "gen_s": gen_s,
        "copy_s": copy_s,
        "count_s": count_s,
        "setup_s": time.perf_counter() - start,
    }


def phase_timer(
    phases: dict[str, float], peaks: dict[str, int]
) -> Callable[[str, Callable[..., Any]], Callable[..., Any]]:
    """``timed(name, fn)``: fn wrapped so that its seconds add up in ``phases[name]`` and the
    peak RSS (VmHWM, KB) after it goes to ``peaks[name]`` (kept in the order of the last
    return)."""

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
                peaks.pop(name, None)  # kept in the order of the last return
                peaks[name] = peak_rss_kb()

        return wrapper

    return timed


@contextlib.contextmanager
def timers_around(
    timed: Callable[[str, Callable[..., Any]], Callable[..., Any]],
    targets: list[tuple[Any, str, str]],
) -> Iterator[None]:
    """Wrap ``getattr(obj, attr)`` with ``timed(name, …)`` for each (obj, attr, name) of a
    module, class or instance, and put the originals back on exit. No code is changed; a
    function that has been renamed is simply not timed."""
    saved: list[tuple[Any, str, bool, Any]] = []
    try:
        for obj, attr, name in targets:
            if callable(getattr(obj, attr, None)):
                own = vars(obj)
                saved.append((obj, attr, attr in own, own.get(attr)))
                setattr(obj, attr, timed(name, getattr(obj, attr)))
        yield
    finally:
        for obj, attr, had, old in reversed(saved):
            if had:
                setattr(obj, attr, old)
            else:
                delattr(obj, attr)


def sql_timer(sql_times: dict[str, list[float]]) -> Callable[..., Any]:
    """A ``connection.execute_wrapper`` that counts and times each SQL statement (its first 110
    characters) in sql_times."""

    def timer(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            entry = sql_times.setdefault(" ".join(sql.split())[:110], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    return timer


def sql_top(sql_times: dict[str, list[float]], n: int = 12) -> list[list[Any]]:
    """The n statements that took longest: [sql, count, seconds]."""
    rows = [[sql, count, secs] for sql, (count, secs) in sql_times.items()]
    return sorted(rows, key=lambda e: -e[2])[:n]


def say_profile(what: str, top_sql: list[list[Any]], prof_path: Path) -> None:
    """The slowest SQL a child recorded and its cProfile (top 30 cumulative, top 20 own)."""
    import pstats

    say("   slowest SQL through Django (count, seconds; COPY not included):")
    for sql, count, secs in top_sql:
        say(f"   {secs:8.2f} s {count:6d}×  {sql}")
    say(f"   profile of {what} (top 30 by cumulative time):")
    pstats.Stats(str(prof_path)).sort_stats("cumulative").print_stats(30)
    say(f"   profile of {what} (top 20 by own time):")
    pstats.Stats(str(prof_path)).sort_stats("tottime").print_stats(20)


def peak_rss_kb() -> int:
    """This process's peak RSS (KB): VmHWM, the high-water mark of its own address space.
    ru_maxrss of a child started by subprocess (vfork + exec) also counts the parent's peak at
    the exec, so it is reported beside it but not used."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def warm_imports_agreement() -> None:
    """The libraries the computation uses, imported before any clock starts (their import is
    not the computation): the bare child and the job child both call this."""
    import krippendorff  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import scipy.sparse  # noqa: F401
    from statsmodels.stats import inter_rater, proportion  # noqa: F401

    from quality.analysis import agreement, consensus  # noqa: F401


def child_agreement_bare(npz: Path) -> None:
    """The bare computation on the job's arrays: the items × classes value counts
    (np.bincount) → krippendorff.alpha (nominal); statsmodels fleiss_kappa on the items with the
    modal label count; quality.analysis.consensus.dawid_skene and majority_vote (defaults as the
    job: majority-vote ties go to the more reliable labellers, here their Dawid–Skene
    accuracy)."""
    import psutil

    warm_imports_agreement()
    import krippendorff
    import numpy as np
    from statsmodels.stats.inter_rater import fleiss_kappa

    from quality.analysis.consensus import dawid_skene, majority_vote

    data = np.load(npz)
    items, labellers, labels = data["item"], data["labeller"], data["label"]
    truth, k = data["truth"], int(data["k"])
    rss_setup = psutil.Process().memory_info().rss
    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}  # peak RSS (KB) so far, after each phase
    start = last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases[name] = now - last
        peaks[name] = peak_rss_kb()
        last = time.perf_counter()

    item_ids, item_index = np.unique(items, return_inverse=True)
    counts = np.bincount(item_index * k + labels, minlength=item_ids.size * k).reshape(-1, k)
    lap("value_counts")
    alpha = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
    lap("krippendorff")
    sizes = counts.sum(axis=1)
    raters = int(np.bincount(sizes).argmax())
    fleiss = float(fleiss_kappa(counts[sizes == raters].astype(np.float64), method="fleiss"))
    lap("fleiss")
    ds = dawid_skene(items, labellers, labels, k)
    lap("dawid_skene")
    votes = majority_vote(
        items,
        labels,
        labeller_ids=labellers,
        reliability=(ds.labeller_ids, ds.labeller_accuracy()),
    )
    lap("majority_vote")
    elapsed = time.perf_counter() - start
    same = int(np.count_nonzero(votes.labels == ds.consensus.labels))
    result = {
        "seconds": elapsed,
        "phases": phases,
        "peaks": peaks,
        "alpha": alpha,
        "fleiss": fleiss,
        "fleiss_raters": raters,
        "items": int(item_ids.size),
        "annotations": int(items.size),
        "majority_vote_vs_dawid_skene": same / votes.item_ids.size,
        "majority_vote_right": float(np.mean(votes.labels == truth)),
        "dawid_skene_right": float(np.mean(ds.consensus.labels == truth)),
        "dawid_skene_iterations": ds.iterations,
        "dawid_skene_converged": ds.converged,
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak_rss_kb(),
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def child_agreement_job(dataset_id: int, method: str, profile: str | None) -> None:
    """The agreement job as the worker runs it: a Job row (kind "agreement", the method), then
    workbench.jobs.job_execute. The functions agreement_run calls are timed by wrappers (no code
    is changed; a function that has been renamed is simply not timed)."""
    django_setup()
    import psutil

    warm_imports_agreement()
    from django.db import connection
    from django.db.models import Count

    import quality.selectors
    import quality.services
    from labeling.models import Dataset, Item
    from workbench.jobs import job_execute, job_validate
    from workbench.models import Job

    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}  # peak RSS (KB) so far, after each timed function
    timed = phase_timer(phases, peaks)

    for module, attr in (
        (quality.services, "agreement_run"),
        (quality.services, "annotation_frame"),
        (quality.services, "agreement_report"),
        (quality.services, "krippendorff_alpha"),
        (quality.services, "slice_agreement"),
        (quality.selectors, "metadata_groups"),
        (quality.services, "majority_vote"),
        (quality.services, "dawid_skene"),
        (quality.services, "frame_records"),
        (quality.services, "_consensus_store"),
        (quality.services, "dawid_skene_apply"),
        (quality.services, "_reference_store"),
        (quality.services, "reference_labels_write"),
    ):
        if callable(getattr(module, attr, None)):
            setattr(module, attr, timed(attr, getattr(module, attr)))
    # The commit of agreement_run's transaction runs the deferred foreign-key checks of the
    # rewritten reference labels (Django's constraints are DEFERRABLE INITIALLY DEFERRED).
    connection.commit = timed("commit", connection.commit)

    dataset = Dataset.objects.get(pk=dataset_id)
    params = job_validate(kind="agreement", dataset=dataset, params={"consensus_method": method})
    job = Job.objects.create(kind="agreement", dataset=dataset, params=params)
    rss_setup = psutil.Process().memory_info().rss
    sql_times: dict[str, list[float]] = {}
    wrapper: Any = contextlib.nullcontext()
    profiler = None
    if profile:
        import cProfile

        wrapper = connection.execute_wrapper(sql_timer(sql_times))
        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    with wrapper:
        job_execute(job.pk, worker="bench")
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    peak = peak_rss_kb()
    job = Job.objects.get(pk=job.pk)
    methods = dict(
        Item.objects.filter(dataset_id=dataset_id)
        .values_list("reference_method")
        .annotate(n=Count("id"))
        .order_by("reference_method")
    )
    res = job.result or {}
    result = {
        "seconds": elapsed,
        "job_status": job.status,
        "job_error": job.error,
        "phases": phases,
        "peaks": peaks,
        "consensus": res.get("consensus"),
        "alpha": (res.get("alpha") or {}).get("value"),
        "fleiss": (res.get("fleiss") or {}).get("value"),
        "counts": res.get("counts"),
        "result_kb": len(json.dumps(res)) // 1024,
        "reference_methods": methods,
        "sql_top": sql_top(sql_times),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak,
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(kind: str, tmp: Path, *extra: str) -> dict[str, Any]:
    """Run ``bench/run.py --child <kind>`` and return its RESULT_PREFIX line, decoded."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--tmp", str(tmp)]
    proc = subprocess.run(
        [*cmd, *extra], env=os.environ.copy(), stdout=subprocess.PIPE, text=True, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode or not lines:
        sys.stdout.write(proc.stdout)
        raise SystemExit(f"The {kind} child failed (exit {proc.returncode}).")
    return json.loads(lines[-1].removeprefix(RESULT_PREFIX))


def agreement(tmp: Path, quick: bool, profile: bool) -> dict[str, Any]:
    n_items, n_annotations = agreement_sizes(quick)
    data = agreement_dataset(tmp, n_items, n_annotations)
    say(
        f"   dataset {data['dataset_id']}: {n_items:,} items ({data['with_4']:,} with 4 labels, "
        f"the rest 3), {AGREEMENT_LABELLERS} labellers (accuracy "
        f"{data['accuracy'][0]:.2f}–{data['accuracy'][1]:.2f}), {AGREEMENT_CLASSES} classes "
        f"(prior {data['prior'][0]:.2f} … {data['prior'][-1]:.3f}), {n_annotations:,} labels "
        f"({data['labels_right']:.1%} right)"
    )
    say(
        f"   setup (not measured): {data['setup_s']:.1f} s = items+labels+labellers "
        f"{data['items_s']:.1f} s, arrays+npz {data['gen_s']:.1f} s, COPY annotations "
        f"{data['copy_s']:.1f} s, annotation_count + VACUUM ANALYZE {data['count_s']:.1f} s, "
        f"reference labels by majority vote (as an import leaves them) {data['ref_s']:.1f} s"
    )
    bare = run_child("agreement-bare", tmp, "--npz", str(data["npz"]))
    ph = bare["phases"]
    say(
        f"   bare: {bare['seconds']:.2f} s, peak {mb(bare['rss_peak_kb'])} "
        f"({mb(bare['rss_setup_kb'])} after imports + npz) = "
        + ", ".join(f"{name} {secs:.2f}" for name, secs in ph.items())
    )
    say(
        f"      alpha {bare['alpha']:.4f}, Fleiss {bare['fleiss']:.4f} ({bare['fleiss_raters']} "
        f"raters); Dawid–Skene {bare['dawid_skene_iterations']} iterations "
        f"(converged {bare['dawid_skene_converged']}); right vs the true class: majority vote "
        f"{bare['majority_vote_right']:.1%}, Dawid–Skene {bare['dawid_skene_right']:.1%}; "
        f"MV = DS on {bare['majority_vote_vs_dawid_skene']:.1%}"
    )
    jobs = {}
    # The default method first (the references an import left mostly stay), then Dawid-Skene
    # (every item's reference label is rewritten: method and confidence change).
    for method in ("majority_vote", "dawid_skene"):
        jobs[method] = agreement_job(tmp, data, bare, method, profile)
    return {"data": data, "bare": bare, "jobs": jobs}


def agreement_job(
    tmp: Path, data: dict[str, Any], bare: dict[str, Any], method: str, profile: bool
) -> dict[str, Any]:
    """One agreement job (child process) with the given consensus method, and what it did."""
    prof_path = tmp / f"agreement-{method}.prof"
    if profile:
        os.environ["BENCH_PROFILE"] = str(prof_path)
    try:
        job = run_child(
            "agreement-job", tmp, "--dataset", str(data["dataset_id"]), "--method", method
        )
    finally:
        os.environ.pop("BENCH_PROFILE", None)
    if job["job_status"] != "succeeded":
        raise SystemExit(
            f"The agreement job did not succeed ({job['job_status']}): {job['job_error']}"
        )
    say(
        f"   job ({method}): {job['seconds']:.2f} s, peak {mb(job['rss_peak_kb'])} "
        f"({mb(job['rss_setup_kb'])} after setup); result {job['result_kb']:,} KB of JSON"
    )
    jp = job["phases"]
    run_s = jp.get("agreement_run", job["seconds"])
    read_s = jp.get("annotation_frame", 0.0)
    write_s = jp.get("_reference_store", 0.0)
    io_s = read_s + write_s + jp.get("commit", 0.0)  # read the labels, write the references
    known = (
        "annotation_frame",
        "agreement_report",
        "krippendorff_alpha",
        "metadata_groups",
        "slice_agreement",
        "majority_vote",
        "dawid_skene",
        "frame_records",
        "dawid_skene_apply",
        "_consensus_store",
        "_reference_store",
        "commit",
    )
    say(
        "      "
        + ", ".join(f"{name} {jp[name]:.2f}" for name in known if name in jp)
        + f", rest of agreement_run {run_s - sum(jp.get(n, 0.0) for n in known):.2f}"
        + f", job_execute around it {job['seconds'] - run_s:.2f} s"
    )
    c = job["consensus"] or {}
    say(
        f"      alpha {job['alpha']:.4f}, Fleiss {job['fleiss']:.4f}; consensus "
        f"{c.get('method')}: {c.get('items', 0):,} items, MV = DS on "
        f"{c.get('majority_vote_vs_dawid_skene') or 0:.1%}, mean confidence "
        f"{c.get('mean_confidence') or 0:.3f}, DS {c.get('dawid_skene_iterations')} iterations "
        f"(converged {c.get('dawid_skene_converged')}); reference_method of the items "
        f"{job['reference_methods']}"
    )
    say(
        f"      job without reading the labels and writing the reference labels "
        f"(annotation_frame, _reference_store, commit): {job['seconds'] - io_s:.2f} s "
        f"(= {(job['seconds'] - io_s) / bare['seconds']:.2f}× bare)"
    )
    for who, peaks in (("bare", bare["peaks"]), ("job", job["peaks"])):
        say(
            f"      peak RSS of the {who} after (in order): "
            + ", ".join(f"{name} {mb(kb)}" for name, kb in peaks.items())
        )
    if profile:
        say_profile("job_execute", job["sql_top"], prof_path)
    return job


# ---------------------------------------------------------------------------------------------
# Label issues (issue #5): the label-issue job against the bare cleanlab call on the same arrays,
# the upload of the predictions through the API, and the baseline-model job


LABEL_ISSUES_CLASSES = 10
LABEL_ISSUES_FLIPPED = 0.10  # the share of given labels planted wrong
LABEL_ISSUES_TARGET = 1.5  # job seconds / bare find_label_issues seconds
LABEL_ISSUES_TOP = 1000  # precision of the first issues by rank (what a reviewer sees first)
BASELINE_CLASSES = 5
BASELINE_FOLDS = 5
# TF-IDF + logistic regression on 50k short texts took ~28 s on a machine like ours.
DESIGN_BASELINE_50K_S = 28.0
# The baseline texts: a class's own words make up a fifth of a text, another class's words a
# few, the rest is shared (WORDS and the function words below).
BASELINE_TOPICS = (
    "invoice charged billing payment refund card bank overcharged subscription fee receipt "
    "discount coupon price paid",
    "delivery courier parcel shipping tracking arrived package postman dispatch warehouse "
    "doorstep lost delayed carrier address",
    "stitching fabric material durable flimsy sturdy torn zipper seams quality colour faded "
    "shrunk texture finish",
    "agent support helpline chat ticket manager apology callback escalated representative "
    "queue hold answered resolved complaint",
    "app login password crash update screen button notification sync offline version "
    "install settings account loading",
)
BASELINE_FILLER = (  # noqa: SIM905
    "the a an this that it was is are and or but not very really so just"
).split()


def label_issues_sizes(quick: bool) -> tuple[int, int]:
    """(items of the label-issue job, texts of the baseline model): 100,000 and 50,000, or
    1/10 of them with --quick."""
    return (10_000, 5_000) if quick else (100_000, 50_000)


def label_issues_arrays(n: int, seed: int = 20240705) -> dict[str, Any]:
    """Out-of-sample-like predictions with planted label errors: a true class per item (skewed
    prior 0.85^class), ~10% of the given labels flipped to another class (uniform), and
    probabilities from a noisy softmax: normal(0, 1) logits, +uniform(1.5, 6) on the true class
    and +uniform(0, 1.5) on the next class (classes that overlap), so the model is right on
    ~88% of the items and not always sure."""
    import numpy as np

    k = LABEL_ISSUES_CLASSES
    rng = np.random.default_rng(seed)
    prior = 0.85 ** np.arange(k)
    prior /= prior.sum()
    truth = rng.choice(k, n, p=prior)
    flipped = rng.random(n) < LABEL_ISSUES_FLIPPED
    labels = np.where(flipped, (truth + rng.integers(1, k, n)) % k, truth)
    rows = np.arange(n)
    logits = rng.normal(0.0, 1.0, (n, k))
    logits[rows, truth] += rng.uniform(1.5, 6.0, n)
    logits[rows, (truth + 1) % k] += rng.uniform(0.0, 1.5, n)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return {"truth": truth, "label": labels, "flipped": flipped, "probs": probs}


def baseline_texts(n: int, seed: int = 20240706) -> dict[str, Any]:
    """n short texts (8–12 words) in 5 classes (prior 0.3, 0.25, 0.2, 0.15, 0.1): each word is
    one of the class's 15 words (20%), of any class's (7%), a function word (33%) or one of
    WORDS (40%); then 5% of the labels are flipped to another class. Deterministic."""
    import numpy as np

    k = BASELINE_CLASSES
    rng = np.random.default_rng(seed)
    topics = [t.split() for t in BASELINE_TOPICS]
    truth = rng.choice(k, n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    lengths = rng.integers(8, 13, n)
    draws = rng.random(int(lengths.sum()))
    picks = rng.integers(0, 1 << 30, (int(lengths.sum()), 2))
    texts = []
    at = 0
    for c, length in zip(truth.tolist(), lengths.tolist(), strict=True):
        words = []
        for u, (a, b) in zip(
            draws[at : at + length], picks[at : at + length].tolist(), strict=True
        ):
            if u < 0.20:
                words.append(topics[c][a % len(topics[c])])
            elif u < 0.27:
                other = topics[a % k]
                words.append(other[b % len(other)])
            elif u < 0.60:
                words.append(BASELINE_FILLER[a % len(BASELINE_FILLER)])
            else:
                words.append(WORDS[a % len(WORDS)])
        at += length
        texts.append(" ".join(words).capitalize() + ".")
    flipped = rng.random(n) < 0.05
    labels = np.where(flipped, (truth + rng.integers(1, k, n)) % k, truth)
    return {"texts": texts, "truth": truth, "label": labels, "flipped": flipped}


def single_label_dataset(
    name: str,
    label_names: list[str],
    codes: Any,
    texts: list[str] | None = None,
    text_sql: tuple[str, list[Any]] | None = None,
    items_sql: tuple[str, list[Any]] | None = None,
    metadata_fields: list[str] | None = None,
) -> dict[str, Any]:
    """A dataset as an import of items with one label each leaves it: its items (one INSERT …
    SELECT generate_series, or unnest of the texts), one Labeller "imported", the labels
    (class codes into label_names) written by COPY, reference_labels_refresh, then VACUUM
    ANALYZE. ``text_sql``: the SQL of each item's text in terms of ``g`` (generate_series) and
    its parameters, instead of "Review g: md5(g)."; ``items_sql``: a whole INSERT of the items
    instead (parameters: the dataset id, these, the number of items; external ids 1…n) and
    ``metadata_fields`` its metadata fields. Returns the dataset id, the item ids (in the order
    of codes) and the label ids."""
    import numpy as np
    from django.db import connection, transaction

    from labeling import services
    from labeling.models import Label, Labeller

    n = int(codes.size)
    start = time.perf_counter()
    dataset = services.dataset_create(name=name, created_by=bench_user(), labels=label_names)
    with transaction.atomic(), connection.cursor() as cursor:
        if items_sql is not None:
            cursor.execute(items_sql[0], [dataset.pk, *items_sql[1], n])
        elif texts is None:
            text, text_params = text_sql or ("'Review ' || g || ': ' || md5(g::text) || '.'", [])
            cursor.execute(
                "INSERT INTO labeling_item (dataset_id, external_id, data, metadata, "
                "content_hash, origin, annotation_count, reference_method, created_at) "
                f"SELECT %s, g::text, jsonb_build_object('text', {text}), "
                "'{}'::jsonb, md5(g::text), 'imported', 0, '', now() "
                "FROM generate_series(1, %s) AS g",
                [dataset.pk, *text_params, n],
            )
        else:
            cursor.execute(
                "INSERT INTO labeling_item (dataset_id, external_id, data, metadata, "
                "content_hash, origin, annotation_count, reference_method, created_at) "
                "SELECT %s, g.ord::text, jsonb_build_object('text', g.t), '{}'::jsonb, "
                "md5(g.t), 'imported', 0, '', now() "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS g(t, ord)",
                [dataset.pk, texts],
            )
        cursor.execute(
            "SELECT id FROM labeling_item WHERE dataset_id = %s ORDER BY external_id::int",
            [dataset.pk],
        )
        item_pk = np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)
    services.dataset_update(
        dataset=dataset, data_fields=["text"], metadata_fields=metadata_fields or []
    )
    labels = list(
        Label.objects.filter(dataset=dataset).order_by("position", "id").values_list("id", "name")
    )
    if [label for _, label in labels] != label_names:
        raise SystemExit(f"Labels came back as {labels}, not in the order {label_names}.")
    label_pk = np.array([pk for pk, _ in labels], dtype=np.int64)
    labeller = Labeller.objects.create(dataset=dataset, name="imported")
    items_s = time.perf_counter() - start

    copy_start = time.perf_counter()
    when = "2024-07-01 12:00:00+00"
    with pg_connect() as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY labeling_annotation (item_id, labeller_id, label_id, source, "
                "time_spent_ms, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            block: list[str] = []
            for item, label in zip(item_pk.tolist(), label_pk[codes].tolist(), strict=True):
                block.append(f"{item}\t{labeller.pk}\t{label}\timported\t\\N\t{when}\t{when}\n")
                if len(block) == 100_000:
                    copy.write("".join(block))
                    block.clear()
            copy.write("".join(block))
        conn.commit()
    copy_s = time.perf_counter() - copy_start
    # What an import leaves: every item's reference label (here its one label), then the
    # statistics autovacuum would soon gather (not during the timed work).
    ref_start = time.perf_counter()
    services.reference_labels_refresh(dataset_id=dataset.pk)
    with pg_connect() as conn:
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) labeling_item, labeling_annotation")
        same = conn.execute(
            "SELECT count(*) FROM labeling_item i JOIN labeling_annotation a ON a.item_id = i.id "
            "WHERE i.dataset_id = %s AND a.label_id = i.reference_label_id",
            [dataset.pk],
        ).fetchone()[0]
    ref_s = time.perf_counter() - ref_start
    if same != n:
        raise SystemExit(f"{name}: {same:,} of {n:,} items have their label as reference label.")
    return {
        "dataset_id": dataset.pk,
        "item_pk": item_pk,
        "label_pk": label_pk,
        "items_s": items_s,
        "copy_s": copy_s,
        "ref_s": ref_s,
    }


def predictions_upload(dataset_id: int, item_pk: Any, probs: Any, profile: bool) -> dict[str, Any]:
    """POST the predictions to /api/v1/datasets/{id}/model-runs/ in-process (DRF APIClient,
    token auth of the dataset's owner), the JSON body encoded beforehand (the client's work, not
    timed). The functions the view calls are timed by wrappers and put back afterwards."""
    from django.db import connection
    from rest_framework.authtoken.models import Token
    from rest_framework.parsers import JSONParser
    from rest_framework.test import APIClient

    import quality.api
    import quality.services
    import workbench.db
    from quality.analysis import label_issues as li

    encode_start = time.perf_counter()
    body = json.dumps(
        {
            "name": "bench model",
            "version": "1",
            "trained_on": "5-fold cross-validation (synthetic)",
            "predictions": [
                {"item": pk, "probabilities": row}
                for pk, row in zip(item_pk.tolist(), probs.tolist(), strict=True)
            ],
        }
    ).encode()
    encode_s = time.perf_counter() - encode_start
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=bench_user())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/v1/datasets/{dataset_id}/model-runs/"
    phases: dict[str, float] = {}
    timed = phase_timer(phases, {})
    targets = [
        (JSONParser, "parse", "parse JSON"),
        (quality.api.ModelRunInputSerializer, "is_valid", "serializer is_valid"),
        (quality.services, "model_run_create", "model_run_create"),
        (quality.services, "_item_ids_for", "_item_ids_for"),
        (quality.services, "_probability_matrix", "_probability_matrix"),
        (quality.services, "model_run_store", "model_run_store"),
        (li, "normalise_probabilities", "normalise_probabilities"),
        (workbench.db, "copy_rows", "copy_rows"),
        (connection, "commit", "commit"),
    ]
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    with timers_around(timed, targets):
        if profiler is not None:
            profiler.enable()
        start = time.perf_counter()
        response = client.post(url, data=body, content_type="application/json")
        elapsed = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
    if response.status_code != 201:
        raise SystemExit(f"POST {url} → {response.status_code}: {response.content[:500]!r}")
    run = response.json()
    if run.get("prediction_count") != item_pk.size:
        raise SystemExit(f"The model run holds {run.get('prediction_count')} predictions: {run}")
    return {
        "seconds": elapsed,
        "encode_s": encode_s,
        "body_mb": len(body) / 2**20,
        "rows": int(item_pk.size),
        "run_id": run["id"],
        "renormalised": run.get("renormalised_count"),
        "phases": phases,
        "profiler": profiler,
    }


def warm_imports_label_issues() -> None:
    """What the label-issue computation uses, imported before any clock starts (cleanlab alone
    costs seconds): the bare child and the job child both call this."""
    import cleanlab.count
    import cleanlab.dataset
    import cleanlab.filter
    import cleanlab.internal.constants
    import cleanlab.rank  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    from quality.analysis import label_issues  # noqa: F401


def child_label_issues_bare(npz: Path, tmp: Path) -> None:
    """The bare cleanlab call the target names, on the job's arrays:
    cleanlab.filter.find_label_issues(labels, probs, filter_by="prune_by_noise_rate",
    n_jobs=1), timed once in a fresh process as the job calls it once; then
    get_label_quality_scores, and each once more (warm). The flagged rows go to an .npy."""
    import psutil

    warm_imports_label_issues()
    import numpy as np
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    data = np.load(npz)
    labels, probs, flipped = data["label"], data["probs"], data["flipped"]
    rss_setup = psutil.Process().memory_info().rss
    start = time.perf_counter()
    mask = find_label_issues(
        labels, probs, filter_by="prune_by_noise_rate", n_jobs=1, verbose=False
    )
    elapsed = time.perf_counter() - start
    peak_find = peak_rss_kb()
    start = time.perf_counter()
    scores = get_label_quality_scores(labels, probs)
    scores_s = time.perf_counter() - start
    start = time.perf_counter()
    again = find_label_issues(
        labels, probs, filter_by="prune_by_noise_rate", n_jobs=1, verbose=False
    )
    again_s = time.perf_counter() - start
    start = time.perf_counter()
    get_label_quality_scores(labels, probs)
    scores_again_s = time.perf_counter() - start
    flagged = np.flatnonzero(mask)
    np.save(tmp / "label-issues-bare.npy", flagged)
    hits = int(np.count_nonzero(flipped[flagged]))
    worst = np.argsort(scores, kind="stable")[: flagged.size]
    result = {
        "seconds": elapsed,
        "scores_s": scores_s,
        "again_s": again_s,
        "scores_again_s": scores_again_s,
        "same_again": bool(np.array_equal(mask, again)),
        "flagged": int(flagged.size),
        "planted": int(np.count_nonzero(flipped)),
        "precision": hits / max(flagged.size, 1),
        "recall": hits / max(int(np.count_nonzero(flipped)), 1),
        # The same number of items taken by the lowest label quality score instead.
        "scores_precision": float(np.mean(flipped[worst])) if worst.size else 0.0,
        "model_accuracy": float(np.mean(probs.argmax(axis=1) == data["truth"])),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_find_kb": peak_find,
        "rss_peak_kb": peak_rss_kb(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def child_label_issues_job(dataset_id: int, run_id: int, profile: str | None) -> None:
    """The label-issue job as the worker runs it: a Job row (kind "label_issues", the model
    run), then workbench.jobs.job_execute. The functions label_issues_run and find_issues call
    are timed by wrappers (no code is changed)."""
    django_setup()
    import psutil

    warm_imports_label_issues()
    import cleanlab.count
    import cleanlab.dataset
    import cleanlab.filter
    import cleanlab.rank
    from django.db import connection

    import quality.selectors
    import quality.services
    from labeling.models import Dataset
    from quality.analysis import label_issues as li
    from workbench.jobs import job_execute, job_validate
    from workbench.models import Job

    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}
    targets = [
        (quality.services, "label_issues_run"),
        (quality.selectors, "model_run_probabilities"),
        (quality.selectors, "reference_codes"),
        (li, "find_issues"),
        (li, "normalise_probabilities"),
        (li, "_check_labels"),
        (cleanlab.count, "compute_confident_joint"),
        (cleanlab.count, "calibrate_confident_joint"),
        (cleanlab.filter, "find_label_issues"),
        (cleanlab.rank, "get_self_confidence_for_each_label"),
        (li, "_label_issue_frame"),
        (li, "_health"),
        (quality.selectors, "decided_items"),
        (li.IssueReport, "to_dict"),
        (quality.services, "_label_issues_store"),
        # The commit of the job's writes (the LabelIssue rows), then the job row's.
        (connection, "commit"),
    ]
    dataset = Dataset.objects.get(pk=dataset_id)
    params = job_validate(kind="label_issues", dataset=dataset, params={"model_run": run_id})
    job = Job.objects.create(kind="label_issues", dataset=dataset, params=params)
    rss_setup = psutil.Process().memory_info().rss
    sql_times: dict[str, list[float]] = {}
    wrapper: Any = contextlib.nullcontext()
    profiler = None
    if profile:
        import cProfile

        wrapper = connection.execute_wrapper(sql_timer(sql_times))
        profiler = cProfile.Profile()
    with timers_around(phase_timer(phases, peaks), [(o, a, a) for o, a in targets]), wrapper:
        if profiler is not None:
            profiler.enable()
        start = time.perf_counter()
        job_execute(job.pk, worker="bench")
        elapsed = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    peak = peak_rss_kb()
    job = Job.objects.get(pk=job.pk)
    res = job.result or {}
    report = res.get("report") or {}
    result = {
        "job_id": job.pk,
        "seconds": elapsed,
        "job_status": job.status,
        "job_error": job.error,
        "phases": phases,
        "peaks": peaks,
        "issues": res.get("issues"),
        "by_type": res.get("by_type"),
        "items": res.get("items"),
        "health_score": report.get("health_score"),
        "estimated_label_issues": report.get("estimated_label_issues"),
        "result_kb": len(json.dumps(res)) // 1024,
        "sql_top": sql_top(sql_times),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


class ProgressLog:
    """Every progress call of a job (before the job runner's throttling): seconds since the
    log started, done, total, message."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.calls: list[tuple[float, float, float | None, str]] = []

    def wrap(self, cls: type) -> type:
        log = self

        class Logged(cls):  # type: ignore[valid-type, misc]
            def __call__(self, done: float, total: float | None = None, message: str = "") -> None:
                log.calls.append((time.perf_counter() - log.start, done, total, message))
                super().__call__(done, total, message)

        return Logged


def child_baseline_job(dataset_id: int, folds: int) -> None:
    """The baseline-model job as the worker runs it (kind "baseline_model", the folds), timed
    around job_execute; its progress messages give the time of each fold."""
    django_setup()
    import psutil

    import quality.analysis.baseline as baseline
    import quality.selectors
    import quality.services
    import workbench.db
    import workbench.jobs
    from labeling.models import Dataset
    from workbench.jobs import job_execute, job_validate
    from workbench.models import Job

    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}
    targets = [
        (quality.services, "baseline_run"),
        (quality.selectors, "labelled_items"),
        (quality.services, "_baseline_inputs"),
        (baseline, "cross_validated_probabilities"),
        (baseline, "_prepare_text"),
        (baseline, "_tfidf"),
        (baseline, "_svd_features"),
        (baseline, "_cross_validate"),
        (quality.services, "model_run_store"),
        (workbench.db, "copy_rows"),
    ]
    dataset = Dataset.objects.get(pk=dataset_id)
    params = job_validate(kind="baseline_model", dataset=dataset, params={"folds": folds})
    job = Job.objects.create(kind="baseline_model", dataset=dataset, params=params)
    rss_setup = psutil.Process().memory_info().rss
    log = ProgressLog()
    progress_cls = workbench.jobs.Progress
    workbench.jobs.Progress = log.wrap(progress_cls)  # job_execute looks it up at call time
    try:
        with timers_around(phase_timer(phases, peaks), [(o, a, a) for o, a in targets]):
            log.start = start = time.perf_counter()
            job_execute(job.pk, worker="bench")
            elapsed = time.perf_counter() - start
    finally:
        workbench.jobs.Progress = progress_cls
    job = Job.objects.get(pk=job.pk)
    res = job.result or {}
    result = {
        "seconds": elapsed,
        "job_status": job.status,
        "job_error": job.error,
        "phases": phases,
        "peaks": peaks,
        "progress": log.calls,
        "model_run": res.get("model_run"),
        "kind": res.get("kind"),
        "items": res.get("items"),
        "folds": res.get("folds"),
        "accuracy": res.get("accuracy"),
        "log_loss": res.get("log_loss"),
        "fold_metrics": res.get("fold_metrics"),
        "feature_shape": res.get("feature_shape"),
        "notes": res.get("notes"),
        "params": res.get("params"),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak_rss_kb(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def precision_recall(flagged: Any, planted: Any) -> tuple[float, float]:
    """Precision and recall of the flagged rows (indices) against the planted mask."""
    import numpy as np

    hits = int(np.count_nonzero(planted[flagged]))
    return hits / max(flagged.size, 1), hits / max(int(np.count_nonzero(planted)), 1)


def label_issues(tmp: Path, quick: bool, profile: bool) -> dict[str, Any]:
    """Setup, upload, bare call and job of the label-issue measurement; what each did."""
    import numpy as np

    from quality.models import LabelIssue, ModelRun
    from quality.selectors import model_run_probabilities

    n, _ = label_issues_sizes(quick)
    k = LABEL_ISSUES_CLASSES
    gen_start = time.perf_counter()
    arrays = label_issues_arrays(n)
    gen_s = time.perf_counter() - gen_start
    names = [f"c{i}" for i in range(k)]
    data = single_label_dataset(f"bench label issues {n:,}", names, arrays["label"])
    item_pk = data["item_pk"]
    npz = tmp / "label-issues.npz"
    np.savez(npz, item=item_pk, **arrays)
    flipped = arrays["flipped"]
    say(
        f"   dataset {data['dataset_id']}: {n:,} items, {k} classes (prior 0.85^class), one "
        f"imported label each, {int(flipped.sum()):,} of them ({flipped.mean():.1%}) flipped to "
        f"another class; the model's top class is the true one on "
        f"{np.mean(arrays['probs'].argmax(axis=1) == arrays['truth']):.1%} of the items"
    )
    say(
        f"   setup (not measured): items + labels {data['items_s']:.1f} s, arrays + npz "
        f"{gen_s:.1f} s, COPY labels {data['copy_s']:.1f} s, reference_labels_refresh + VACUUM "
        f"ANALYZE {data['ref_s']:.1f} s"
    )

    up = predictions_upload(data["dataset_id"], item_pk, arrays["probs"], profile)
    say(
        f"   upload: POST …/model-runs/ with {n:,} predictions, {up['body_mb']:.1f} MB of JSON "
        f"(encoded beforehand in {up['encode_s']:.1f} s): {up['seconds']:.2f} s = "
        f"{fmt_rate(n, up['seconds'])}; 201, prediction_count {n:,}, renormalised "
        f"{up['renormalised']}"
    )
    ph = up["phases"]
    create_s = ph.get("model_run_create", 0.0)
    store_s = ph.get("model_run_store", 0.0)
    in_create = ("_item_ids_for", "_probability_matrix", "model_run_store", "commit")
    in_store = ("normalise_probabilities", "copy_rows")
    outside = ("parse JSON", "serializer is_valid", "model_run_create")
    say(
        "      "
        + ", ".join(f"{name} {ph[name]:.2f}" for name in outside if name in ph)
        + f", rest of the request {up['seconds'] - sum(ph.get(n, 0.0) for n in outside):.2f} s"
    )
    say(
        f"      model_run_create {create_s:.2f} s = "
        + ", ".join(f"{name} {ph[name]:.2f}" for name in in_create if name in ph)
        + f", rest {create_s - sum(ph.get(n, 0.0) for n in in_create):.2f}; model_run_store = "
        + ", ".join(f"{name} {ph[name]:.2f}" for name in in_store if name in ph)
        + f" (COPY quality_prediction), rest {store_s - sum(ph.get(n, 0.0) for n in in_store):.2f}"
    )
    if up["profiler"] is not None:
        import pstats

        say("   profile of the upload request (top 25 by cumulative time):")
        pstats.Stats(up["profiler"]).sort_stats("cumulative").print_stats(25)
    stored_ids, stored = model_run_probabilities(model_run=ModelRun.objects.get(pk=up["run_id"]))
    same = bool(np.array_equal(stored_ids, item_pk) and np.array_equal(stored, arrays["probs"]))
    say(f"      stored probabilities identical to the arrays of the bare call: {same}")

    bare = run_child("label-issues-bare", tmp, "--npz", str(npz))
    say(
        f"   bare: find_label_issues {bare['seconds']:.3f} s (again, warm: {bare['again_s']:.3f}"
        f" s), get_label_quality_scores {bare['scores_s']:.3f} s (again "
        f"{bare['scores_again_s']:.3f} s); peak {mb(bare['rss_peak_kb'])} "
        f"({mb(bare['rss_setup_kb'])} after imports + npz)"
    )
    say(
        f"      flagged {bare['flagged']:,} of {n:,}: precision {bare['precision']:.3f}, recall "
        f"{bare['recall']:.3f} against the {bare['planted']:,} flipped labels; the "
        f"{bare['flagged']:,} lowest label quality scores: precision "
        f"{bare['scores_precision']:.3f}"
    )

    prof_path = tmp / "label-issues-job.prof"
    if profile:
        os.environ["BENCH_PROFILE"] = str(prof_path)
    try:
        job = run_child(
            "label-issues-job",
            tmp,
            "--dataset",
            str(data["dataset_id"]),
            "--run",
            str(up["run_id"]),
        )
    finally:
        os.environ.pop("BENCH_PROFILE", None)
    if job["job_status"] != "succeeded":
        raise SystemExit(
            f"The label-issue job did not succeed ({job['job_status']}): {job['job_error']}"
        )
    say(
        f"   job: {job['seconds']:.2f} s = {job['seconds'] / bare['seconds']:.2f}× bare, peak "
        f"{mb(job['rss_peak_kb'])} ({mb(job['rss_setup_kb'])} after setup); {job['issues']:,} "
        f"issues {job['by_type']}; health {job['health_score']:.3f}; result "
        f"{job['result_kb']:,} KB of JSON"
    )
    jp = job["phases"]
    run_s = jp.get("label_issues_run", job["seconds"])
    find_s = jp.get("find_issues", 0.0)
    inside = (
        "normalise_probabilities",
        "_check_labels",
        "compute_confident_joint",
        "calibrate_confident_joint",
        "find_label_issues",
        "get_self_confidence_for_each_label",
        "_label_issue_frame",
        "_health",
    )
    outside = (
        "model_run_probabilities",
        "reference_codes",
        "find_issues",
        "decided_items",
        "_label_issues_store",
        "to_dict",
    )
    say(
        "      label_issues_run "
        f"{run_s:.2f} s = "
        + ", ".join(f"{name} {jp[name]:.3f}" for name in outside if name in jp)
        + f", rest (the issue frame's filtering, labels, progress) "
        f"{run_s - sum(jp.get(name, 0.0) for name in outside):.3f}; "
        f"job_execute around it {job['seconds'] - run_s:.3f} s (commit of the issues "
        f"{jp.get('commit', 0.0):.3f} s all told)"
    )
    say(
        f"      find_issues {find_s:.3f} s = "
        + ", ".join(f"{name} {jp[name]:.3f}" for name in inside if name in jp)
        + f", rest {find_s - sum(jp.get(name, 0.0) for name in inside):.3f}"
    )
    say(
        "      peak RSS of the job after (in order): "
        + ", ".join(f"{name} {mb(kb)}" for name, kb in job["peaks"].items())
    )
    if profile:
        say_profile("the label-issue job_execute", job["sql_top"], prof_path)

    # What the job flagged, against the planted flips (and the bare call's flags).
    rows = list(
        LabelIssue.objects.filter(job_id=job["job_id"], issue_type="label")
        .order_by("rank")
        .values_list("item_id", "suggested_label_id")
    )
    flagged = np.searchsorted(item_pk, np.array([r[0] for r in rows], dtype=np.int64))
    suggested = np.array([r[1] for r in rows], dtype=np.int64)
    precision, recall = precision_recall(flagged, flipped)
    top = flagged[:LABEL_ISSUES_TOP]
    top_precision, _ = precision_recall(top, flipped)
    true_flags = flipped[flagged]
    suggestion_right = (
        float(
            np.mean(suggested[true_flags] == data["label_pk"][arrays["truth"][flagged[true_flags]]])
        )
        if true_flags.any()
        else 0.0
    )
    bare_flags = np.load(tmp / "label-issues-bare.npy")
    same_flags = bool(np.array_equal(np.sort(flagged), bare_flags))
    say(
        f"   flagged by the job: {flagged.size:,} items; precision {precision:.3f}, recall "
        f"{recall:.3f} against the {int(flipped.sum()):,} flipped labels; precision of the "
        f"first {top.size:,} by rank {top_precision:.3f}; suggested label = the true class on "
        f"{suggestion_right:.1%} of the flagged flips; same items as the bare call: {same_flags}"
    )
    return {
        "n": n,
        "upload": {key: value for key, value in up.items() if key != "profiler"},
        "bare": bare,
        "job": job,
        "precision": precision,
        "recall": recall,
        "top_precision": top_precision,
        "suggestion_right": suggestion_right,
        "same_flags": same_flags,
        "flagged": int(flagged.size),
        "planted": int(flipped.sum()),
    }


def baseline_model(tmp: Path, quick: bool) -> dict[str, Any]:
    """Setup of the text dataset (not measured) and the baseline-model job in a child."""
    import numpy as np

    from quality.models import ModelRun
    from quality.selectors import model_run_probabilities

    _, n = label_issues_sizes(quick)
    gen_start = time.perf_counter()
    texts = baseline_texts(n)
    gen_s = time.perf_counter() - gen_start
    names = [f"topic{i}" for i in range(BASELINE_CLASSES)]
    data = single_label_dataset(
        f"bench baseline {n:,}", names, texts["label"], texts=texts["texts"]
    )
    words = np.array([t.count(" ") + 1 for t in texts["texts"]])
    say(
        f"   dataset {data['dataset_id']}: {n:,} short texts ({words.mean():.1f} words on "
        f"average, {words.min()}–{words.max()}), {BASELINE_CLASSES} classes, one imported label "
        f'each ({texts["flipped"].mean():.1%} flipped); e.g. "{texts["texts"][0]}"'
    )
    say(
        f"   setup (not measured): texts {gen_s:.1f} s, items + labels {data['items_s']:.1f} s, "
        f"COPY labels {data['copy_s']:.1f} s, reference_labels_refresh + VACUUM ANALYZE "
        f"{data['ref_s']:.1f} s"
    )
    job = run_child(
        "baseline-job", tmp, "--dataset", str(data["dataset_id"]), "--folds", str(BASELINE_FOLDS)
    )
    if job["job_status"] != "succeeded":
        raise SystemExit(
            f"The baseline job did not succeed ({job['job_status']}): {job['job_error']}"
        )
    # Per fold: from the previous progress message to the fold's own.
    marks = [(t, msg) for t, _, _, msg in job["progress"]]
    fold_s: list[float] = []
    features_at = next((t for t, msg in marks if msg.startswith("features ready")), None)
    last = features_at
    for t, msg in marks:
        if msg.startswith("fold ") and last is not None:
            fold_s.append(t - last)
            last = t
    storing_at = next((t for t, msg in marks if msg.startswith("Storing")), None)
    jp = job["phases"]
    say(
        f"   job: {job['seconds']:.1f} s, peak {mb(job['rss_peak_kb'])} "
        f"({mb(job['rss_setup_kb'])} after setup); {job['items']:,} items, kind {job['kind']}, "
        f"{job['folds']} folds; accuracy {job['accuracy']:.3f}, log loss {job['log_loss']:.3f}; "
        f"features {job['feature_shape']}"
    )
    if features_at is not None:
        say(
            f"      reading + TF-IDF + SVD until 'features ready' {features_at:.1f} s; folds "
            + ", ".join(f"{s:.1f}" for s in fold_s)
            + " s"
            + (
                f"; storing the model run {job['seconds'] - storing_at:.1f} s"
                if storing_at is not None
                else ""
            )
        )
    say(
        "      "
        + ", ".join(f"{name} {secs:.2f}" for name, secs in jp.items())
        + f"; job_execute around baseline_run {job['seconds'] - jp.get('baseline_run', 0):.2f} s"
    )
    folds_text = ", ".join(f"{f['accuracy']:.3f}" for f in job["fold_metrics"] or [])
    say(f"      held-out accuracy per fold: {folds_text}; notes {job['notes']}")
    # The stored out-of-sample probabilities against the true classes (before the flips).
    ids, probs = model_run_probabilities(model_run=ModelRun.objects.get(pk=job["model_run"]))
    order = np.searchsorted(data["item_pk"], ids)
    truth_right = float(np.mean(probs.argmax(axis=1) == texts["truth"][order]))
    say(
        f"      top class = the true class (before the 5% flips) on {truth_right:.1%} of the items;"
        f" peak RSS after (in order): "
        + ", ".join(f"{name} {mb(kb)}" for name, kb in job["peaks"].items())
    )
    return {"n": n, "job": job, "fold_s": fold_s, "truth_right": truth_right}


# ---------------------------------------------------------------------------------------------
# Slices and augmentation (issue #6): the slice-analysis job against the bare slice_masks +
# slice_table on the same arrays, slice discovery, and the augmentation job against the bare
# augment_texts


SLICES_CLASSES = 5
SLICES_LABELLERS = 50
SLICES_TARGET_S = 10.0  # the slice table of 1,000,000 items; discovery on 100,000 rows
SLICES_CATEGORIES = {  # 5 categorical fields, 3 to 20 values
    "region": ("emea", "amer", "apac", "latam", "anz"),
    "device": ("desktop", "mobile", "tablet"),
    "channel": ("web", "app", "email", "chat", "phone", "store", "partner", "social"),
    "language": ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ja", "ko", "zh"),
    "product": tuple(f"p{i:02d}" for i in range(1, 21)),
}
SLICES_NUMBERS = ("score", "duration_s", "price", "latency_ms")  # floats
SLICES_COUNT = "prior_reports"  # a whole number, 0 on 60% of the items
SLICES_FIELDS = [*SLICES_CATEGORIES, *SLICES_NUMBERS, SLICES_COUNT]
# The model is much worse on one conjunction of two fields: discovery should put it first.
SLICES_PLANTED = (("region", "apac"), ("device", "tablet"))
SLICES_MODEL_RIGHT = (
    0.90,
    0.40,
)  # chance the model's top class is the true one: elsewhere, planted
AUGMENT_RECIPE = "word_swap"


def slices_sizes(quick: bool) -> tuple[int, int, int]:
    """(items of the slice table, rows of the discovery, texts of the augmentation):
    1,000,000, 100,000 and 100,000, or 1/10 of them with --quick."""
    return (100_000, 10_000, 10_000) if quick else (1_000_000, 100_000, 100_000)


def slices_items_sql(
    *, key: str = "g::text", batch: bool = False, shifted: dict[str, str] | None = None
) -> str:
    """The INSERT … SELECT generate_series of the slice dataset's items: 10 metadata fields
    drawn from 16-bit pieces h1…h13 of md5(k) and md5(k || 'b') (deterministic), and a text of
    1–8 copies of a hash (45–270 characters). Parameters: the dataset id, each categorical
    field's values (an array), the number of items. ``key``: each item's external id k in
    terms of g (also what is hashed); ``batch``: the items go to an import batch, whose id is a
    parameter after the dataset id; ``shifted``: SQL in terms of h1…h13 instead of some
    fields' own (a categorical field's keeps its array parameter)."""
    pieces = [
        f"('x' || substr({column}, {at}, 4))::bit(16)::int AS h{n}"
        for n, (column, at) in enumerate(
            [("m1", 1 + 4 * i) for i in range(8)] + [("m2", 1 + 4 * i) for i in range(5)],
            start=1,
        )
    ]
    values = {
        field: f"(%s::text[])[1 + h{n} %% {len(values)}]"
        for n, (field, values) in enumerate(SLICES_CATEGORIES.items(), start=1)
    }
    values |= {
        "score": "round(h6 / 65535.0, 4)",
        "duration_s": "round(1 + (h7 / 65535.0) ^ 2 * 600, 1)",
        "price": "round(exp(h8 / 65535.0 * 7), 2)",
        "latency_ms": "round(20 + h9 / 65535.0 * 480 + h10 %% 50, 1)",
        SLICES_COUNT: "CASE WHEN h11 %% 10 < 6 THEN 0 ELSE 1 + h12 %% 9 END",
    }
    metadata = ", ".join(f"'{field}', {sql}" for field, sql in (values | (shifted or {})).items())
    return (
        "INSERT INTO labeling_item (dataset_id, "
        + ("import_batch_id, " if batch else "")
        + "external_id, data, metadata, content_hash, origin, annotation_count, "
        "reference_method, created_at) "
        + ("SELECT %s, %s, k, " if batch else "SELECT %s, k, ")
        + "jsonb_build_object('text', 'Ticket ' || g || ': ' || repeat(m2 || ' ', 1 + h13 %% 8)), "
        f"jsonb_build_object({metadata}), m1, 'imported', 0, '', now() "
        f"FROM (SELECT g, k, m1, m2, {', '.join(pieces)} FROM (SELECT g, {key} AS k, "
        f"md5({key}) AS m1, md5({key} || 'b') AS m2 FROM generate_series(1, %s) AS g) AS t) AS s"
    )


def slices_labels(n: int, seed: int = 20240801) -> dict[str, Any]:
    """Two labels per item by two different labellers of 50, each right with their own
    accuracy (0.85–0.98: two labels agree on ~84% of the items, so HLP ≈ 0.84), the true class
    from a skewed prior (0.7^class), a wrong answer uniform over the other classes. Indices."""
    import numpy as np

    k, n_labellers = SLICES_CLASSES, SLICES_LABELLERS
    rng = np.random.default_rng(seed)
    prior = 0.7 ** np.arange(k)
    prior /= prior.sum()
    truth = rng.choice(k, n, p=prior)
    first = rng.integers(0, n_labellers, n)
    second = (first + rng.integers(1, n_labellers, n)) % n_labellers
    item = np.repeat(np.arange(n), 2)
    labeller = np.column_stack([first, second]).reshape(-1)
    accuracy = rng.uniform(0.85, 0.98, n_labellers)
    right = rng.random(item.size) < accuracy[labeller]
    wrong = (truth[item] + rng.integers(1, k, item.size)) % k
    return {
        "item": item,
        "labeller": labeller,
        "label": np.where(right, truth[item], wrong),
        "truth": truth,
        "accuracy": accuracy,
    }


def slices_probabilities(truth: Any, planted: Any, seed: int = 20240802) -> Any:
    """A model's probabilities (n × 5): a noisy softmax whose top class is the true one with
    chance 0.90, 0.40 on the planted conjunction, another class (uniform) otherwise."""
    import numpy as np

    k = SLICES_CLASSES
    rng = np.random.default_rng(seed)
    n = truth.size
    right = rng.random(n) < np.where(planted, SLICES_MODEL_RIGHT[1], SLICES_MODEL_RIGHT[0])
    top = np.where(right, truth, (truth + rng.integers(1, k, n)) % k)
    logits = rng.normal(0.0, 1.0, (n, k))
    logits[np.arange(n), top] += rng.uniform(2.0, 5.0, n)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def slices_dataset(tmp: Path, n: int) -> dict[str, Any]:
    """The dataset of the slice job: labels c0…c4, n items (slices_items_sql), 50 labellers
    w00…w49, two labels per item by COPY (source 'imported'), annotation_count from a GROUP BY,
    reference_labels_refresh, a model run of n × 5 probabilities (model_run_store, worse on the
    planted conjunction), then VACUUM ANALYZE. The job's own input frame (slice_frame, read
    once here) with the reference and predicted class codes goes to a Parquet file, the labels
    (item id, labeller id, class code, sorted as annotation_frame sorts them) to an .npz."""
    import numpy as np
    from django.db import connection, transaction

    from labeling import services
    from labeling.models import Label, Labeller
    from quality.selectors import slice_frame
    from quality.services import model_run_store

    start = time.perf_counter()
    names = [f"c{i}" for i in range(SLICES_CLASSES)]
    dataset = services.dataset_create(
        name=f"bench slices {n:,}", created_by=bench_user(), labels=names, annotators_per_item=2
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            slices_items_sql(), [dataset.pk, *[list(v) for v in SLICES_CATEGORIES.values()], n]
        )
        cursor.execute(
            "SELECT id FROM labeling_item WHERE dataset_id = %s ORDER BY id", [dataset.pk]
        )
        item_pk = np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)
    services.dataset_update(dataset=dataset, data_fields=["text"], metadata_fields=SLICES_FIELDS)
    labels = list(
        Label.objects.filter(dataset=dataset).order_by("position", "id").values_list("id", "name")
    )
    if [name for _, name in labels] != names:
        raise SystemExit(f"Labels came back as {labels}, not in the order {names}.")
    label_pk = np.array([pk for pk, _ in labels], dtype=np.int64)
    labellers = Labeller.objects.bulk_create(
        [Labeller(dataset=dataset, name=f"w{i:02d}") for i in range(SLICES_LABELLERS)]
    )
    labeller_pk = np.array([w.pk for w in labellers], dtype=np.int64)
    items_s = time.perf_counter() - start

    copy_start = time.perf_counter()
    arrays = slices_labels(n)
    item_ids = item_pk[arrays["item"]]
    labeller_ids = labeller_pk[arrays["labeller"]]
    codes = arrays["label"]
    when = "2024-08-01 12:00:00+00"
    with pg_connect() as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY labeling_annotation (item_id, labeller_id, label_id, source, "
                "time_spent_ms, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            block: list[str] = []
            for i, w, lab in zip(
                item_ids.tolist(), labeller_ids.tolist(), label_pk[codes].tolist(), strict=True
            ):
                block.append(f"{i}\t{w}\t{lab}\timported\t\\N\t{when}\t{when}\n")
                if len(block) == 100_000:
                    copy.write("".join(block))
                    block.clear()
            copy.write("".join(block))
        conn.execute(
            "UPDATE labeling_item i SET annotation_count = c.n FROM "
            "(SELECT a.item_id, count(*) AS n FROM labeling_annotation a "
            "JOIN labeling_labeller l ON l.id = a.labeller_id WHERE l.dataset_id = %s "
            "GROUP BY a.item_id) c WHERE i.id = c.item_id",
            [dataset.pk],
        )
        conn.commit()
    copy_s = time.perf_counter() - copy_start
    # What an import leaves: every item's reference label by majority vote (not measured).
    ref_start = time.perf_counter()
    services.reference_labels_refresh(dataset_id=dataset.pk)
    ref_s = time.perf_counter() - ref_start

    run_start = time.perf_counter()
    frame = slice_frame(dataset=dataset, fields=SLICES_FIELDS, text_fields=["text"])
    if not np.array_equal(frame["item_id"].to_numpy(), item_pk):
        raise SystemExit("slice_frame did not return the items in the order of their ids.")
    planted = np.ones(n, dtype=bool)
    for field, value in SLICES_PLANTED:
        planted &= (frame[field] == value).to_numpy(dtype=bool)
    probs = slices_probabilities(arrays["truth"], planted)
    run = model_run_store(
        dataset=dataset,
        created_by=bench_user(),
        name="bench slices model",
        item_ids=item_pk,
        probabilities=probs,
        trained_on="synthetic, worse on " + " and ".join(f"{f} = {v}" for f, v in SLICES_PLANTED),
    )
    run_s = time.perf_counter() - run_start
    vacuum_start = time.perf_counter()
    # As autovacuum would soon after such writes (and not during the timed job). The labellers
    # too: with no statistics on their 50 new rows, PostgreSQL expects one labeller and reads
    # the labels by 50 bitmap scans of the whole annotation table (3 times slower than one scan).
    with pg_connect() as conn:
        conn.autocommit = True
        conn.execute(
            "VACUUM (ANALYZE) labeling_item, labeling_annotation, labeling_labeller, "
            "quality_prediction"
        )
    vacuum_s = time.perf_counter() - vacuum_start

    files_start = time.perf_counter()
    position = np.full(int(label_pk.max()) + 1, -1, dtype=np.int64)
    position[label_pk] = np.arange(label_pk.size)
    reference = frame["reference"].to_numpy(dtype=np.int64)
    frame["reference_code"] = np.where(reference > 0, position[reference], -1)
    frame["prediction"] = probs.argmax(axis=1)
    parquet = tmp / "slices.parquet"
    frame.to_parquet(parquet, index=False)
    order = np.lexsort((labeller_ids, item_ids))
    npz = tmp / "slices.npz"
    np.savez(npz, item=item_ids[order], labeller=labeller_ids[order], label=codes[order])
    files_s = time.perf_counter() - files_start

    ref_code = frame["reference_code"].to_numpy()
    model_right = frame["prediction"].to_numpy() == ref_code
    pairs = codes.reshape(-1, 2)
    return {
        "dataset_id": dataset.pk,
        "run_id": run.pk,
        "parquet": parquet,
        "npz": npz,
        "items": n,
        "annotations": int(codes.size),
        "accuracy": (float(arrays["accuracy"].min()), float(arrays["accuracy"].max())),
        "labels_right": float(np.mean(codes == arrays["truth"][arrays["item"]])),
        "labels_agree": float(np.mean(pairs[:, 0] == pairs[:, 1])),
        "reference_right": float(np.mean(ref_code == arrays["truth"])),
        "planted": int(planted.sum()),
        "model_right": float(np.mean(model_right)),
        "model_right_planted": float(np.mean(model_right[planted])),
        "text_length": (float(frame["len(text)"].min()), float(frame["len(text)"].max())),
        "items_s": items_s,
        "copy_s": copy_s,
        "ref_s": ref_s,
        "run_s": run_s,
        "vacuum_s": vacuum_s,
        "files_s": files_s,
        "setup_s": time.perf_counter() - start,
    }


def warm_imports_slices() -> None:
    """What the slice analysis uses, imported before any clock starts: the bare child and the
    job child both call this."""
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401
    import scipy.sparse  # noqa: F401
    from statsmodels.stats import proportion  # noqa: F401

    from quality.analysis import agreement, slices  # noqa: F401


def slice_rows_digest(rows: list[dict[str, Any]]) -> str:
    """The table's rows in order (slice, sizes, counts), hashed: the job's and the bare
    computation's must match."""
    import hashlib

    key = [
        [
            r["slice"],
            r["n_items"],
            r["accuracy_n"],
            r["correct"],
            r["hlp_n"],
            round(float(r["hlp_agree"]), 6),
        ]
        for r in rows
    ]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


def planted_first(discovered: list[dict[str, Any]]) -> bool:
    """Whether the first discovered slice is the planted conjunction, no more, no less."""
    wanted = {f"{field} = {value}" for field, value in SLICES_PLANTED}
    return bool(discovered) and set(discovered[0]["predicates"]) == wanted


def child_slices_bare(parquet: Path, npz: Path, discover_rows: int) -> None:
    """The bare computation on the job's own input: quality.analysis.slices.slice_masks on the
    metadata frame as slice_frame returns it (the 10 fields as object columns of str, not the
    Arrow-backed str dtype pandas reads back from Parquet; len(text)) with the job's defaults,
    then slice_table with the items (reference, prediction) and the labels; then
    discover_slices(max_level=3, top_k=10) on the first ``discover_rows`` rows of the 10
    fields, errors = prediction ≠ reference."""
    import psutil

    warm_imports_slices()
    import numpy as np
    import pandas as pd

    from quality.analysis import slices as sl

    frame = pd.read_parquet(parquet)
    for field in SLICES_FIELDS:  # Python str objects, as query_frame hands them to the job
        frame[field] = frame[field].astype(object)
    data = np.load(npz)
    annotations = pd.DataFrame(
        {"item": data["item"], "labeller": data["labeller"], "label": data["label"]}
    )
    items = pd.DataFrame(
        {
            "item": frame["item_id"].to_numpy(dtype=np.int64),
            "reference": frame["reference_code"].to_numpy(dtype=np.int64),
            "prediction": frame["prediction"].to_numpy(dtype=np.int64),
            "decided": frame["decided"].to_numpy(dtype=bool),
        }
    )
    metadata = frame.drop(
        columns=["item_id", "reference", "decided", "reference_code", "prediction"]
    )
    rss_setup = psutil.Process().memory_info().rss
    start = time.perf_counter()
    slices = sl.slice_masks(
        metadata, fields=[*SLICES_FIELDS, "len(text)"], numeric_bins=4, max_values=30
    )
    masks_s = time.perf_counter() - start
    start = time.perf_counter()
    table = sl.slice_table(items, annotations, slices, min_items=30, min_labels=30)
    table_s = time.perf_counter() - start
    peak_table = peak_rss_kb()
    result_table = table.to_dict()

    features = metadata[SLICES_FIELDS].iloc[:discover_rows]
    reference = items["reference"].to_numpy()[:discover_rows]
    prediction = items["prediction"].to_numpy()[:discover_rows]
    known = (reference >= 0) & (prediction >= 0)
    errors = np.where(known, (prediction != reference).astype(np.float64), np.nan)
    start = time.perf_counter()
    found = sl.discover_slices(features, errors, max_level=3, top_k=10)
    discover_s = time.perf_counter() - start
    discovered = [d.to_dict() for d in found]
    result = {
        "masks_s": masks_s,
        "table_s": table_s,
        "seconds": masks_s + table_s,
        "slices": len(slices),
        "rows": len(result_table["rows"]),
        "digest": slice_rows_digest(result_table["rows"]),
        "overall": result_table["overall"],
        "discover_s": discover_s,
        "discover_rows": len(features),
        "discover_error_rate": float(np.nanmean(errors)),
        "discovered": [
            {key: d[key] for key in ("name", "predicates", "size", "error_rate", "score")}
            for d in discovered
        ],
        "planted_first": planted_first(discovered),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_table_kb": peak_table,
        "rss_peak_kb": peak_rss_kb(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def child_slices_job(dataset_id: int, run_id: int, level: int, profile: str | None) -> None:
    """The slices job as the worker runs it: a Job row (kind "slices", the 10 fields, the text
    field, discovery off or up to ``level``), then workbench.jobs.job_execute. The functions
    slices_run calls are timed by wrappers (no code is changed)."""
    django_setup()
    import psutil

    warm_imports_slices()
    import numpy as np
    from django.db import connection

    import quality.selectors
    import quality.services
    import workbench.db
    import workbench.jobs
    from labeling.models import Dataset
    from quality.analysis import slices as sl
    from workbench.jobs import job_execute, job_validate
    from workbench.models import Job

    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}
    targets = [
        (quality.services, "slices_run"),
        (quality.services, "annotation_frame"),
        (workbench.db, "query_columns"),
        (quality.selectors, "slice_frame"),
        (workbench.db, "query_frame"),
        (quality.selectors, "model_run_probabilities"),
        (quality.selectors, "tagged_items"),
        (sl, "slice_masks"),
        (sl, "_field_buckets"),
        (sl, "_numbers"),
        (sl, "_value_buckets"),
        (sl, "_number_buckets"),
        (sl, "_length_buckets"),
        (sl, "_slices_of"),
        (sl, "discover_slices"),
        (sl, "slice_table"),
        (sl, "_item_counts"),
        (sl, "_leave_one_out_credit"),
        (sl, "_table_frame"),
        (sl.SliceTable, "to_dict"),
        (np, "packbits"),
        (np, "savez_compressed"),
        (quality.services.default_storage, "save"),
        # job_claim's counts of the dataset's items and labels, recorded with the job.
        (workbench.jobs, "_dataset_state"),
        # Stores the result (JSON) in the job row and commits.
        (workbench.jobs, "_finish"),
    ]
    params = {"model_run": run_id, "fields": SLICES_FIELDS, "text_fields": ["text"]}
    params |= {"discover": True, "max_level": level} if level else {"discover": False}
    dataset = Dataset.objects.get(pk=dataset_id)
    params = job_validate(kind="slices", dataset=dataset, params=params)
    job = Job.objects.create(kind="slices", dataset=dataset, params=params)
    rss_setup = psutil.Process().memory_info().rss
    sql_times: dict[str, list[float]] = {}
    wrapper: Any = contextlib.nullcontext()
    profiler = None
    if profile:
        import cProfile

        wrapper = connection.execute_wrapper(sql_timer(sql_times))
        profiler = cProfile.Profile()
    with timers_around(phase_timer(phases, peaks), [(o, a, a) for o, a in targets]), wrapper:
        if profiler is not None:
            profiler.enable()
        start = time.perf_counter()
        job_execute(job.pk, worker="bench")
        elapsed = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    peak = peak_rss_kb()
    job = Job.objects.get(pk=job.pk)
    res = job.result or {}
    rows = res.get("rows") or []
    discovered = res.get("discovered") or []
    members = res.get("members_file")
    result = {
        "job_id": job.pk,
        "seconds": elapsed,
        "job_status": job.status,
        "job_error": job.error,
        "phases": phases,
        "peaks": peaks,
        "params": params,
        "rows": len(rows),
        "digest": slice_rows_digest([r for r in rows if r.get("source") != "discovered"]),
        "overall": res.get("overall"),
        "top": [
            {key: r.get(key) for key in ("slice", "accuracy", "hlp", "gap", "share")}
            for r in rows[:3]
        ],
        "discovered": [
            {key: d[key] for key in ("name", "predicates", "size", "error_rate", "score")}
            for d in discovered
        ],
        "planted_first": planted_first(discovered),
        "members_kb": (quality.services.default_storage.size(members) // 1024 if members else None),
        "result_kb": len(json.dumps(res)) // 1024,
        "sql_top": sql_top(sql_times),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def augment_text_sql() -> tuple[str, list[Any]]:
    """Each item's text for single_label_dataset: 10–14 words of WORDS, the word k of item g
    drawn by md5(g:k), capitalised, with a full stop."""
    words = [w.strip(',"') for w in WORDS]
    return (
        "(SELECT initcap(left(t, 1)) || substr(t, 2) || '.' FROM (SELECT string_agg("
        "(%s::text[])[1 + ('x' || substr(md5(g || ':' || k), 1, 4))::bit(16)::int %% %s], ' ' "
        "ORDER BY k) AS t FROM generate_series(1, 10 + g %% 5) AS k) AS w)",
        [words, len(words)],
    )


def warm_imports_augment() -> None:
    """What the augmentation uses, imported before any clock starts (bare and job child)."""
    import numpy  # noqa: F401
    import orjson  # noqa: F401
    import pandas  # noqa: F401

    from quality.analysis import augment  # noqa: F401


def variants_digest(pairs: Iterator[tuple[int, str]]) -> str:
    """(parent item id, new text) pairs in order, hashed: the job's and the bare call's must
    match."""
    import hashlib

    digest = hashlib.sha256()
    for parent, text in pairs:
        digest.update(f"{parent}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def child_augment_bare(parquet: Path) -> None:
    """The bare call on the job's texts: quality.analysis.augment.augment_texts(texts, ids,
    "word_swap", seed=1) once in a fresh process, then once more (warm)."""
    import psutil

    warm_imports_augment()
    import pandas as pd

    from quality.analysis.augment import augment_texts

    frame = pd.read_parquet(parquet)
    texts = frame["text"].tolist()
    ids = frame["item"].to_numpy()
    rss_setup = psutil.Process().memory_info().rss
    start = time.perf_counter()
    made = augment_texts(texts, ids, AUGMENT_RECIPE, seed=1)
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    augment_texts(texts, ids, AUGMENT_RECIPE, seed=1)
    again_s = time.perf_counter() - start
    id_list = ids.tolist()
    result = {
        "seconds": elapsed,
        "again_s": again_s,
        "variants": len(made),
        "changed": sum(v.text != texts[v.parent] for v in made),
        "digest": variants_digest((id_list[v.parent], v.text) for v in made),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak_rss_kb(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def child_augment_job(dataset_id: int) -> None:
    """The augmentation job as the worker runs it: a Job row (kind "augment", word_swap on
    every item of label c0, seed 1, one variant), then workbench.jobs.job_execute. The
    functions augment_run calls are timed by wrappers (no code is changed)."""
    django_setup()
    import psutil

    warm_imports_augment()
    from django.db import connection

    import labeling.services
    import quality.services
    import workbench.db
    import workbench.jobs
    from labeling.models import Dataset, Item
    from quality.analysis import augment as aug
    from workbench.jobs import job_execute, job_validate
    from workbench.models import Job

    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}
    targets = [
        (quality.services, "augment_run"),
        (quality.services, "augment_targets"),
        (quality.services, "augment_generate"),
        (aug, "augment_records"),
        (aug, "augment_texts"),
        (labeling.services, "augmented_items_create"),
        (workbench.db, "copy_rows"),
        (workbench.db, "execute"),
        (connection, "commit"),
    ]
    dataset = Dataset.objects.get(pk=dataset_id)
    params = job_validate(
        kind="augment",
        dataset=dataset,
        params={"recipe": AUGMENT_RECIPE, "target": {"label": "c0"}, "seed": 1, "variants": 1},
    )
    job = Job.objects.create(kind="augment", dataset=dataset, params=params)
    rss_setup = psutil.Process().memory_info().rss
    sql_times: dict[str, list[float]] = {}
    log = ProgressLog()  # a progress call per chunk of parents: the time of each chunk
    progress_cls = workbench.jobs.Progress
    workbench.jobs.Progress = log.wrap(progress_cls)  # job_execute looks it up at call time
    try:
        with (
            timers_around(phase_timer(phases, peaks), [(o, a, a) for o, a in targets]),
            connection.execute_wrapper(sql_timer(sql_times)),
        ):
            log.start = start = time.perf_counter()
            job_execute(job.pk, worker="bench")
            elapsed = time.perf_counter() - start
    finally:
        workbench.jobs.Progress = progress_cls
    peak = peak_rss_kb()
    job = Job.objects.get(pk=job.pk)
    res = job.result or {}
    rows = (
        Item.objects.filter(dataset_id=dataset_id, origin="augmented")
        .order_by("parent_id")
        .values_list("parent_id", "data")
    )
    result = {
        "seconds": elapsed,
        "job_status": job.status,
        "job_error": job.error,
        "phases": phases,
        "peaks": peaks,
        "parents": res.get("parents"),
        "created": res.get("created"),
        "already_there": res.get("already_there"),
        "digest": variants_digest((p, d["text"]) for p, d in rows.iterator(chunk_size=5000)),
        "progress": log.calls,
        "sql_top": sql_top(sql_times, 5),
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def slices_job(tmp: Path, data: dict[str, Any], level: int, profile: bool) -> dict[str, Any]:
    """One slices job (child process), discovery off (level 0) or up to ``level``."""
    prof_path = tmp / f"slices-job-{level}.prof"
    if profile:
        os.environ["BENCH_PROFILE"] = str(prof_path)
    try:
        job = run_child(
            "slices-job",
            tmp,
            "--dataset",
            str(data["dataset_id"]),
            "--run",
            str(data["run_id"]),
            "--level",
            str(level),
        )
    finally:
        os.environ.pop("BENCH_PROFILE", None)
    if job["job_status"] != "succeeded":
        raise SystemExit(
            f"The slices job did not succeed ({job['job_status']}): {job['job_error']}"
        )
    what = f"discovery up to level {level}" if level else "no discovery"
    say(
        f"   job ({what}): {job['seconds']:.2f} s, peak {mb(job['rss_peak_kb'])} "
        f"({mb(job['rss_setup_kb'])} after setup); {job['rows']:,} rows in the table; result "
        f"{job['result_kb']:,} KB of JSON, members file {job['members_kb']:,} KB"
    )
    jp = job["phases"]
    run_s = jp.get("slices_run", job["seconds"])
    outside = (
        "annotation_frame",
        "slice_frame",
        "model_run_probabilities",
        "tagged_items",
        "slice_masks",
        "discover_slices",
        "slice_table",
        "to_dict",
        "packbits",
        "savez_compressed",
        "save",
    )
    say(
        f"      slices_run {run_s:.2f} s = "
        + ", ".join(f"{name} {jp[name]:.2f}" for name in outside if name in jp)
        + f", rest {run_s - sum(jp.get(name, 0.0) for name in outside):.2f}; job_execute "
        f"around it {job['seconds'] - run_s:.2f} s (job_claim's _dataset_state, counting the "
        f"items and labels, {jp.get('_dataset_state', 0.0):.2f} s; _finish, storing the "
        f"result, {jp.get('_finish', 0.0):.2f} s)"
    )
    masks_s = jp.get("slice_masks", 0.0)
    table_s = jp.get("slice_table", 0.0)
    say(
        f"      reading: query_columns (annotation_frame's COPYs) {jp.get('query_columns', 0):.2f}"
        f", query_frame (slice_frame's COPY) {jp.get('query_frame', 0):.2f} s; slice_masks "
        f"{masks_s:.2f} s = _field_buckets {jp.get('_field_buckets', 0):.2f}"
        + (" (with discover_slices' own calls; " if level else " (")
        + f"_numbers {jp.get('_numbers', 0):.2f}, _value_buckets "
        f"{jp.get('_value_buckets', 0):.2f}, _number_buckets "
        f"{jp.get('_number_buckets', 0):.2f}), _length_buckets "
        f"{jp.get('_length_buckets', 0):.2f}, _slices_of {jp.get('_slices_of', 0):.2f}; "
        f"slice_table {table_s:.2f} s = _item_counts {jp.get('_item_counts', 0):.2f} "
        f"(_leave_one_out_credit {jp.get('_leave_one_out_credit', 0):.2f}), _table_frame "
        f"{jp.get('_table_frame', 0):.2f}"
    )
    overall = job["overall"] or {}
    say(
        f"      all data: accuracy {overall.get('accuracy') or 0:.3f}, HLP "
        f"{overall.get('hlp') or 0:.3f}; first rows: "
        + "; ".join(
            f"{r['slice']} (accuracy {r['accuracy'] or 0:.3f}, HLP {r['hlp'] or 0:.3f}, share "
            f"{r['share'] or 0:.3f})"
            for r in job["top"]
        )
    )
    if level:
        say(
            "      discovered: "
            + "; ".join(
                f"{d['name']} ({d['size']:,} items, error {d['error_rate']:.3f}, score "
                f"{d['score']:.2f})"
                for d in job["discovered"][:3]
            )
            + f"; the planted slice first: {job['planted_first']}"
        )
    say(
        "      peak RSS of the job after (in order): "
        + ", ".join(
            f"{name} {mb(kb)}" for name, kb in job["peaks"].items() if not name.startswith("_")
        )
    )
    if profile:
        say_profile("the slices job_execute", job["sql_top"], prof_path)
    return job


def slices(tmp: Path, quick: bool, profile: bool) -> dict[str, Any]:
    """Setup, bare computation, discovery and the slice jobs; what each did."""
    n, discover_rows, _ = slices_sizes(quick)
    data = slices_dataset(tmp, n)
    say(
        f"   dataset {data['dataset_id']}: {n:,} items × {len(SLICES_FIELDS)} metadata fields "
        f"({', '.join(SLICES_FIELDS)}) + a text of {data['text_length'][0]:.0f}–"
        f"{data['text_length'][1]:.0f} characters; {data['annotations']:,} labels by "
        f"{SLICES_LABELLERS} labellers (accuracy {data['accuracy'][0]:.2f}–"
        f"{data['accuracy'][1]:.2f}), {SLICES_CLASSES} classes: {data['labels_right']:.1%} "
        f"right, the two labels of an item agree on {data['labels_agree']:.1%}, the reference "
        f"label is the true class on {data['reference_right']:.1%}"
    )
    planted = " and ".join(f"{f} = {v}" for f, v in SLICES_PLANTED)
    say(
        f"   model run {data['run_id']}: {n:,} × {SLICES_CLASSES} probabilities, top class = "
        f"the reference on {data['model_right']:.1%} of the items, on "
        f"{data['model_right_planted']:.1%} of the {data['planted']:,} items of the planted "
        f"slice {planted}"
    )
    say(
        f"   setup (not measured): {data['setup_s']:.1f} s = items + labels + labellers "
        f"{data['items_s']:.1f} s, COPY labels + annotation_count {data['copy_s']:.1f} s, "
        f"reference_labels_refresh {data['ref_s']:.1f} s, slice_frame + model_run_store "
        f"{data['run_s']:.1f} s, VACUUM ANALYZE {data['vacuum_s']:.1f} s, Parquet + npz "
        f"{data['files_s']:.1f} s"
    )
    bare = run_child(
        "slices-bare",
        tmp,
        "--parquet",
        str(data["parquet"]),
        "--npz",
        str(data["npz"]),
        "--rows",
        str(discover_rows),
    )
    say(
        f"   bare: slice_masks {bare['masks_s']:.2f} s + slice_table {bare['table_s']:.2f} s = "
        f"{bare['seconds']:.2f} s ({bare['slices']:,} slices, {bare['rows']:,} rows), peak "
        f"{mb(bare['rss_peak_table_kb'])} ({mb(bare['rss_setup_kb'])} after imports + Parquet)"
    )
    say(
        f"   discovery (pure discover_slices, max_level 3, top_k 10) on the first "
        f"{bare['discover_rows']:,} rows × {len(SLICES_FIELDS)} fields (error rate "
        f"{bare['discover_error_rate']:.3f}): {bare['discover_s']:.2f} s; first: "
        + "; ".join(
            f"{d['name']} ({d['size']:,} rows, error {d['error_rate']:.3f}, score {d['score']:.2f})"
            for d in bare["discovered"][:3]
        )
        + f"; the planted slice first: {bare['planted_first']}"
    )
    job = slices_job(tmp, data, 0, profile)
    say(
        f"      job = {job['seconds'] / bare['seconds']:.2f}× bare; same table as the bare "
        f"computation: {job['digest'] == bare['digest']}"
    )
    discover_job = slices_job(tmp, data, 2, False)
    return {
        "items": n,
        "discover_rows": discover_rows,
        "data": {k: v for k, v in data.items() if not isinstance(v, Path)},
        "bare": bare,
        "job": job,
        "discover_job": discover_job,
    }


def augmentation(tmp: Path, quick: bool) -> dict[str, Any]:
    """Setup of the text dataset (not measured), the bare augment_texts and the augment job,
    each in a child."""
    import numpy as np
    import pandas as pd

    from labeling.models import Item

    _, _, n = slices_sizes(quick)
    data = single_label_dataset(
        f"bench augment {n:,}",
        ["c0", "c1"],
        np.zeros(n, dtype=np.int64),
        text_sql=augment_text_sql(),
    )
    rows = list(
        Item.objects.filter(dataset_id=data["dataset_id"]).order_by("id").values_list("id", "data")
    )
    frame = pd.DataFrame({"item": [r[0] for r in rows], "text": [r[1]["text"] for r in rows]})
    parquet = tmp / "augment.parquet"
    frame.to_parquet(parquet, index=False)
    words = frame["text"].str.count(" ") + 1
    say(
        f"   dataset {data['dataset_id']}: {n:,} short texts ({words.mean():.1f} words on "
        f"average, {words.min()}–{words.max()}), one imported label each (c0, the target); "
        f'e.g. "{frame["text"].iloc[0]}"'
    )
    say(
        f"   setup (not measured): items + labels {data['items_s']:.1f} s, COPY labels "
        f"{data['copy_s']:.1f} s, reference_labels_refresh + VACUUM ANALYZE {data['ref_s']:.1f} s"
    )
    bare = run_child("augment-bare", tmp, "--parquet", str(parquet))
    say(
        f"   bare: augment_texts({AUGMENT_RECIPE}, seed 1) {bare['seconds']:.2f} s = "
        f"{bare['variants'] / bare['seconds']:,.0f} items/s (again, warm: {bare['again_s']:.2f} "
        f"s); {bare['changed']:,} of {bare['variants']:,} texts changed; peak "
        f"{mb(bare['rss_peak_kb'])}"
    )
    job = run_child("augment-job", tmp, "--dataset", str(data["dataset_id"]))
    if job["job_status"] != "succeeded":
        raise SystemExit(
            f"The augment job did not succeed ({job['job_status']}): {job['job_error']}"
        )
    created = job["created"] or 0
    say(
        f"   job: {job['seconds']:.2f} s = {created / job['seconds']:,.0f} items/s "
        f"({job['parents']:,} parents, {created:,} new items, {job['already_there']} already "
        f"there), peak {mb(job['rss_peak_kb'])} ({mb(job['rss_setup_kb'])} after setup); the "
        f"same texts as the bare call: {job['digest'] == bare['digest']}"
    )
    jp = job["phases"]
    run_s = jp.get("augment_run", job["seconds"])
    gen_s = jp.get("augment_generate", 0.0)
    create_s = jp.get("augmented_items_create", 0.0)
    outside = ("augment_targets", "augment_generate", "augmented_items_create", "commit")
    say(
        f"      augment_run {run_s:.2f} s = "
        + ", ".join(f"{name} {jp[name]:.2f}" for name in outside if name in jp)
        + f", rest (progress) {run_s - sum(jp.get(name, 0.0) for name in outside):.2f}; "
        f"job_execute around it {job['seconds'] - run_s:.2f} s"
    )
    say(
        f"      augment_generate {gen_s:.2f} s = augment_records "
        f"{jp.get('augment_records', 0):.2f} (augment_texts {jp.get('augment_texts', 0):.2f}), "
        f"reading the parents {gen_s - jp.get('augment_records', 0):.2f}; "
        f"augmented_items_create {create_s:.2f} s = copy_rows {jp.get('copy_rows', 0):.2f}, "
        f"UPDATE content_hash {jp.get('execute', 0):.2f}, the external-id check and rows "
        f"{create_s - jp.get('copy_rows', 0) - jp.get('execute', 0):.2f}"
    )
    # Per chunk of parents: from its progress message to the next one.
    marks = [t for t, _, _, msg in job["progress"] if msg.startswith(("Augmenting", "Done"))]
    chunks = [b - a for a, b in itertools.pairwise(marks)]
    if chunks:
        say(
            f"      {len(chunks)} chunks: the first {chunks[0]:.2f} s, median "
            f"{statistics.median(chunks):.2f} s, the last {chunks[-1]:.2f} s; slowest "
            "SQL (count, seconds; COPY not included): "
            + "; ".join(f"{secs:.2f} s {count}× {sql[:60]}…" for sql, count, secs in job["sql_top"])
        )
    return {"n": n, "bare": bare, "job": job}


# ---------------------------------------------------------------------------------------------
# Versions and drift (issue #7): the freeze_version job against a bare pyarrow write of the same
# rows, a version's exports and the comparison of two versions; the drift job against the bare
# drift_report on the same frames


VERSIONS_RELABELLED = 100  # every 100th item's reference label changes between versions 1 and 2
DRIFT_TARGET_S = 10.0  # 1,000,000 vs 1,000,000 rows, 10 fields
# The drift batch: the slice dataset's fields drawn again (other hashes), these three shifted.
DRIFT_SHIFTS = {
    "device": "(%s::text[])[CASE WHEN h2 %% 10 < 6 THEN 3 ELSE 1 + h2 %% 2 END]",  # tablet 60%
    "score": "round((h6 / 65535.0) ^ 2, 4)",  # uniform → its square
    "latency_ms": "round(100 + h9 / 65535.0 * 480 + h10 %% 50, 1)",  # +80 ms
}


def versions_sizes(quick: bool) -> int:
    """Items of the frozen dataset and of the drift batch: 1,000,000, or 1/10 with --quick."""
    return 100_000 if quick else 1_000_000


def iteration_timer(
    phases: dict[str, float], peaks: dict[str, int]
) -> Callable[[str, Callable[..., Any]], Callable[..., Any]]:
    """``timed(name, fn)`` for a function that returns an iterator (a generator): the seconds
    spent inside each of its steps add up in ``phases[name]`` (the call itself returns at
    once), the peak RSS after the last step goes to ``peaks[name]``."""

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            steps = iter(fn(*args, **kwargs))
            try:
                while True:
                    start = time.perf_counter()
                    try:
                        value = next(steps)
                    except StopIteration:
                        return
                    finally:
                        phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
                    yield value
            finally:
                getattr(steps, "close", lambda: None)()
                peaks.pop(name, None)
                peaks[name] = peak_rss_kb()

        return wrapper

    return timed


def warm_imports_versions() -> None:
    """What freezing and the drift report use, imported before any clock starts: the freeze,
    drift and bare children call this."""
    import numpy  # noqa: F401
    import orjson  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401
    import scipy.stats  # noqa: F401

    from quality.analysis import drift  # noqa: F401


def targets_of(*groups: tuple[Any, tuple[str, ...]]) -> list[tuple[Any, str]]:
    """(obj, attr) pairs for timed_job from (module, class or instance, attribute names)."""
    return [(obj, attr) for obj, attrs in groups for attr in attrs]


def timed_job(
    kind: str,
    dataset_id: int,
    params: dict[str, Any],
    calls: list[tuple[Any, str]],
    steps: list[tuple[Any, str]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job of this kind on the dataset as the worker runs it: job_validate + a Job row, then
    workbench.jobs.job_execute, with ``calls`` timed by phase_timer and ``steps`` (functions
    that return iterators) by iteration_timer. Returns the figures (seconds, status, error,
    phases, peaks, RSS) and the job's result."""
    import psutil

    from labeling.models import Dataset
    from workbench.jobs import job_execute, job_validate
    from workbench.models import Job

    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}
    dataset = Dataset.objects.get(pk=dataset_id)
    params = job_validate(kind=kind, dataset=dataset, params=params)
    job = Job.objects.create(kind=kind, dataset=dataset, params=params)
    rss_setup = psutil.Process().memory_info().rss
    with (
        timers_around(phase_timer(phases, peaks), [(o, a, a) for o, a in calls]),
        timers_around(iteration_timer(phases, peaks), [(o, a, a) for o, a in steps or []]),
    ):
        start = time.perf_counter()
        job_execute(job.pk, worker="bench")
        elapsed = time.perf_counter() - start
    peak = peak_rss_kb()
    job = Job.objects.get(pk=job.pk)
    figures = {
        "seconds": elapsed,
        "job_status": job.status,
        "job_error": job.error,
        "phases": phases,
        "peaks": peaks,
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak,
    }
    return figures, job.result or {}


def child_freeze_job(dataset_id: int) -> None:
    """The freeze_version job (note "bench") by timed_job. version_freeze reads the items on a
    second connection (a thread) while this one writes the Parquet file: the functions of both
    are timed by wrappers (no code is changed), the reader's apart."""
    django_setup()
    warm_imports_versions()
    import pyarrow.parquet as pq

    import labeling.versions as lv
    import workbench.db
    import workbench.jobs
    from labeling.models import DatasetVersion

    calls = targets_of(
        (
            lv,
            (
                "version_freeze",
                "_facts",
                "_field_table",
                "_distribution",
                "_quality_summary",
                "_version_store",
            ),
        ),
        (workbench.db, ("fetch_all",)),  # export_chunks' item query (the reader thread)
        (lv._Tally, ("add",)),  # the digest and the counts
        (pq.ParquetWriter, ("write_table",)),
        (workbench.jobs.Progress, ("__call__",)),
        (lv.default_storage, ("save",)),
        (workbench.jobs, ("_dataset_state", "_finish")),
    )
    steps = [
        (lv, "export_chunks"),  # the reader thread: items and their annotations
        (lv._SnapshotReader, "chunks"),  # this thread, waiting for the reader's chunks
        (lv, "parquet_stream"),
    ]
    result, res = timed_job("freeze_version", dataset_id, {"note": "bench"}, calls, steps)
    version = DatasetVersion.objects.filter(dataset_id=dataset_id, number=res.get("version"))
    version = version.first()
    parquet_count = None
    if version is not None:
        with version.file.open("rb") as handle:
            parquet_count = pq.ParquetFile(handle).metadata.num_rows
    result |= {
        "version": res.get("version"),
        "items": res.get("items"),
        "digest": res.get("digest"),
        "file_size": version.file_size if version else None,
        "parquet_rows": parquet_count,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def version_export(dataset_id: int, number: int, fmt: str) -> tuple[float, int, int]:
    """GET /api/v1/datasets/{id}/export/?version=N&format=F in-process (DRF APIClient, token
    auth of the dataset's owner), the streamed body read to its end: seconds, bytes, lines.
    The version's own page is fetched first (not timed): the first request of a process loads
    the URLconf and every view module, a second or more."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=bench_user())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/v1/datasets/{dataset_id}/export/"
    client.get(f"/api/v1/datasets/{dataset_id}/versions/{number}/")
    size = lines = 0
    start = time.perf_counter()
    response = client.get(url, {"version": number, "format": fmt})
    if response.status_code != 200:
        raise SystemExit(f"GET {url}?version={number}&format={fmt} → {response.status_code}")
    for block in response.streaming_content:
        size += len(block)
        lines += block.count(b"\n")
    return time.perf_counter() - start, size, lines


def run_job_child(kind: str, what: str, tmp: Path, *extra: str) -> dict[str, Any]:
    """run_child for a child that runs a job; a job that did not succeed stops the run with its
    error."""
    job = run_child(kind, tmp, *extra)
    if job["job_status"] != "succeeded":
        raise SystemExit(
            f"The {what} job did not succeed ({job['job_status']}): {job['job_error']}"
        )
    return job


def freeze_job(tmp: Path, dataset_id: int) -> dict[str, Any]:
    """One freeze_version job (child process) and its breakdown."""
    job = run_job_child("freeze-job", "freeze", tmp, "--dataset", str(dataset_id))
    jp = job["phases"]
    freeze_s = jp.get("version_freeze", job["seconds"])
    stream_s = jp.get("parquet_stream", 0.0)
    items = job["items"] or 0
    say(
        f"   freeze → version {job['version']}: {job['seconds']:.2f} s = "
        f"{fmt_rate(items, job['seconds'])}, peak {mb(job['rss_peak_kb'])} "
        f"({mb(job['rss_setup_kb'])} after setup); {items:,} items, Parquet "
        f"{(job['file_size'] or 0) / 2**20:.1f} MB ({job['parquet_rows']:,} rows), digest "
        f"{(job['digest'] or '')[:16]}…"
    )
    inside = ("chunks", "add", "__call__", "write_table")
    outside = (
        "_facts",
        "parquet_stream",
        "_field_table",
        "_distribution",
        "_quality_summary",
        "_version_store",
    )
    say(
        f"      version_freeze {freeze_s:.2f} s = "
        + ", ".join(f"{name} {jp[name]:.2f}" for name in outside if name in jp)
        + f", rest {freeze_s - sum(jp.get(name, 0.0) for name in outside):.2f}; job_execute "
        f"around it {job['seconds'] - freeze_s:.2f} s (_dataset_state "
        f"{jp.get('_dataset_state', 0.0):.2f}, _finish {jp.get('_finish', 0.0):.2f})"
    )
    say(
        f"      parquet_stream {stream_s:.2f} s = waiting for the reader's chunks "
        f"{jp.get('chunks', 0.0):.2f}, _Tally.add (digest, counts) {jp.get('add', 0.0):.2f}, "
        f"progress {jp.get('__call__', 0.0):.2f}, ParquetWriter.write_table (encode, zstd) "
        f"{jp.get('write_table', 0.0):.2f}, the rest (columns → Table.from_pydict) "
        f"{stream_s - sum(jp.get(name, 0.0) for name in inside):.2f}; _version_store "
        f"{jp.get('_version_store', 0.0):.2f} = storage save {jp.get('save', 0.0):.2f}, the row"
    )
    say(
        f"      reader thread (its own connection, alongside): export_chunks "
        f"{jp.get('export_chunks', 0.0):.2f} s = the item query (fetch_all) "
        f"{jp.get('fetch_all', 0.0):.2f}, the annotations' query and dicts "
        f"{jp.get('export_chunks', 0.0) - jp.get('fetch_all', 0.0):.2f}"
    )
    say(
        "      peak RSS of the job after (in order): "
        + ", ".join(f"{name} {mb(kb)}" for name, kb in job["peaks"].items())
    )
    return job


def versions(tmp: Path, quick: bool) -> dict[str, Any]:
    """Setup (not measured), the freeze job (child) and the bare pyarrow write of the same rows,
    the exports of version 1, 1% of the reference labels changed by decisions, version 2 and
    the comparison of the two."""
    import numpy as np

    from labeling.models import Dataset
    from labeling.services import decisions_record
    from labeling.versions import versions_compare

    n = versions_sizes(quick)
    names = [f"c{i}" for i in range(SLICES_CLASSES)]
    codes = np.random.default_rng(20240901).integers(0, SLICES_CLASSES, n)
    data = single_label_dataset(
        f"bench versions {n:,}",
        names,
        codes,
        items_sql=(slices_items_sql(), [list(v) for v in SLICES_CATEGORIES.values()]),
        metadata_fields=SLICES_FIELDS,
    )
    dataset_id = data["dataset_id"]
    say(
        f"   dataset {dataset_id}: {n:,} items × {len(SLICES_FIELDS)} metadata fields + a text "
        f"(the slices section's items), one imported label each ({SLICES_CLASSES} classes)"
    )
    say(
        f"   setup (not measured): items + labels {data['items_s']:.1f} s, COPY labels "
        f"{data['copy_s']:.1f} s, reference_labels_refresh + VACUUM ANALYZE {data['ref_s']:.1f} s"
    )
    job = freeze_job(tmp, dataset_id)
    base_path = tmp / "versions-baseline.parquet"
    base_s, base_rows = parquet_baseline(dataset_id, base_path)
    say(
        f"   bare: SELECT → pyarrow → ParquetWriter (zstd, the same schema; annotations left "
        f"empty) {base_s:.2f} s = {fmt_rate(base_rows, base_s)}, "
        f"{base_path.stat().st_size / 2**20:.1f} MB; job = {job['seconds'] / base_s:.2f}× bare"
    )
    base_path.unlink()
    exports = {}
    for fmt in ("parquet", "jsonl"):
        secs, size, lines = exports[fmt] = version_export(dataset_id, job["version"], fmt)
        say(
            f"   GET …/export/?version={job['version']}&format={fmt}: {secs:.2f} s = "
            f"{fmt_rate(n, secs)}, {size / 2**20:.1f} MB"
            + (
                f" (the frozen file: {size == job['file_size']})"
                if fmt == "parquet"
                else f", {lines:,} lines"
            )
        )
    relabel_start = time.perf_counter()
    picked = np.arange(0, n, VERSIONS_RELABELLED)
    decisions_record(
        dataset=Dataset.objects.get(pk=dataset_id),
        reviewer=bench_user(),
        entries=[
            {"item": int(data["item_pk"][i]), "label": names[(int(codes[i]) + 1) % len(names)]}
            for i in picked
        ],
    )
    relabel_s = time.perf_counter() - relabel_start
    say(
        f"   {picked.size:,} reference labels changed by decisions_record (setup, not "
        f"measured): {relabel_s:.1f} s"
    )
    second = freeze_job(tmp, dataset_id)
    start = time.perf_counter()
    compared = versions_compare(dataset_id=dataset_id, a=job["version"], b=second["version"])
    compare_s = time.perf_counter() - start
    counts = compared["counts"]
    say(
        f"   versions_compare({job['version']}, {second['version']}): {compare_s:.2f} s; "
        f"{counts}; label events on the examples: "
        f"{sum(len(e['events']) for e in compared['labels_changed']):,}; "
        f"{picked.size:,} changed: {counts['labels_changed'] == picked.size}"
    )
    return {
        "n": n,
        "dataset_id": dataset_id,
        "job": job,
        "second": second,
        "bare_s": base_s,
        "exports": exports,
        "compare_s": compare_s,
        "counts": counts,
    }


def drift_batch(tmp: Path, dataset_id: int, n: int) -> dict[str, Any]:
    """The current side of the drift report: an ImportBatch row and n items in it by one INSERT
    (slices_items_sql with other hashes, external ids d1…dn, DRIFT_SHIFTS planted), a reference
    label each drawn from the items' hash (uniform over the classes, as version 1's: no label
    drift) by one UPDATE, VACUUM ANALYZE. A batch without labels can't be compared with a
    labelled version: drift_run passes the reference's labels and None for the current ones,
    and drift_report refuses that ("pass both reference_labels and current_labels, or
    neither"). Then both sides as the job reads them (quality.services.drift_side: version 1
    and the batch) go to Parquet files for the bare drift_report."""
    from django.db import connection, transaction

    from labeling.models import Dataset, ImportBatch, Label
    from quality.services import drift_side

    start = time.perf_counter()
    dataset = Dataset.objects.get(pk=dataset_id)
    with transaction.atomic(), connection.cursor() as cursor:
        batch = ImportBatch.objects.create(
            dataset=dataset,
            uploaded_by=bench_user(),
            file_name="bench drift batch",
            file_format="sql",
            sha256="",
            status=ImportBatch.Status.SUCCEEDED,
            row_count=n,
            item_count=n,
        )
        cursor.execute(
            slices_items_sql(key="'d' || g", batch=True, shifted=DRIFT_SHIFTS),
            [dataset_id, batch.pk, *[list(v) for v in SLICES_CATEGORIES.values()], n],
        )
        label_pk = list(
            Label.objects.filter(dataset=dataset).order_by("position", "id").values_list("id")
        )
        cursor.execute(
            "UPDATE labeling_item SET reference_label_id = (%s::bigint[])[1 + "
            "('x' || substr(content_hash, 9, 4))::bit(16)::int %% %s] WHERE import_batch_id = %s",
            [[pk for (pk,) in label_pk], len(label_pk), batch.pk],
        )
    with pg_connect() as conn:
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) labeling_item")
    items_s = time.perf_counter() - start
    files_start = time.perf_counter()
    paths = []
    for side, name in (({"version": 1}, "reference"), ({"import_batch": batch.pk}, "current")):
        frame, _ = drift_side(dataset=dataset, side=side)
        paths.append(tmp / f"drift-{name}.parquet")
        frame.to_parquet(paths[-1], index=False)
    return {
        "batch_id": batch.pk,
        "reference": paths[0],
        "current": paths[1],
        "items_s": items_s,
        "files_s": time.perf_counter() - files_start,
    }


def drift_kwargs(reference: Any, current: Any) -> dict[str, Any]:
    """drift_report's arguments as drift_run passes them for these frames (the text field a
    text, the dataset's fields in order, the labels apart; the current labels only if any)."""
    reference_labels = reference.pop("__label")
    current_labels = current.pop("__label")
    return {
        "fields": ["text", *SLICES_FIELDS],
        "kinds": {"text": "text"},
        "reference_labels": reference_labels,
        "current_labels": current_labels if current_labels.notna().any() else None,
    }


def child_drift_bare(reference: Path, current: Path) -> None:
    """The bare drift_report on the job's own frames (drift_side's, written at setup), read
    back as Arrow-backed text as the job has them; timed once, then again (warm)."""
    import psutil

    warm_imports_versions()
    import pandas as pd

    from quality.analysis.drift import drift_report

    ref, cur = [pd.read_parquet(path, dtype_backend="pyarrow") for path in (reference, current)]
    kwargs = drift_kwargs(ref, cur)
    rss_setup = psutil.Process().memory_info().rss
    start = time.perf_counter()
    report = drift_report(ref, cur, **kwargs)
    elapsed = time.perf_counter() - start
    peak = peak_rss_kb()
    start = time.perf_counter()
    drift_report(ref, cur, **kwargs)
    again_s = time.perf_counter() - start
    result = {
        "seconds": elapsed,
        "again_s": again_s,
        "rows": [len(ref), len(cur)],
        "verdict": report.verdict,
        "drifted_fields": report.drifted_fields,
        "rss_setup_kb": rss_setup // 1024,
        "rss_peak_kb": peak,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def child_drift_job(dataset_id: int, batch_id: int) -> None:
    """The drift job, version 1 against the import batch, by timed_job. The functions drift_run
    calls are timed by wrappers (no code is changed)."""
    django_setup()
    warm_imports_versions()

    import quality.selectors
    import quality.services
    import workbench.db
    import workbench.jobs
    from quality.analysis import drift

    calls = targets_of(
        (quality.services, ("drift_run", "_read_sides", "_version_frame", "_json_texts")),
        (quality.selectors, ("items_frame",)),
        (workbench.db, ("query_frame",)),
        (drift, ("drift_report", "_detect_kind", "_compare_field")),
        (workbench.jobs, ("_dataset_state", "_finish")),
    )
    sides = {"reference": {"version": 1}, "current": {"import_batch": batch_id}}
    result, res = timed_job("drift", dataset_id, sides, calls)
    result |= {
        "verdict": res.get("verdict"),
        "drifted_fields": res.get("drifted_fields"),
        "reasons": res.get("reasons"),
        "rows": [(res.get(side) or {}).get("rows") for side in sides],
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def drift_compare(tmp: Path, ver: dict[str, Any]) -> dict[str, Any]:
    """Setup of the drift batch and the frames (not measured), the bare drift_report and the
    drift job, each in a child."""
    n = ver["n"]
    data = drift_batch(tmp, ver["dataset_id"], n)
    planted = sorted(DRIFT_SHIFTS)
    say(
        f"   import batch {data['batch_id']}: {n:,} more items, the same fields drawn again with "
        f"{', '.join(planted)} shifted; setup (not measured): INSERT + VACUUM ANALYZE "
        f"{data['items_s']:.1f} s, both sides by drift_side → Parquet {data['files_s']:.1f} s"
    )
    bare = run_child(
        "drift-bare", tmp, "--parquet", str(data["reference"]), "--current", str(data["current"])
    )
    say(
        f"   bare: drift_report {bare['seconds']:.2f} s (again, warm: {bare['again_s']:.2f} s) on "
        f"{bare['rows'][0]:,} vs {bare['rows'][1]:,} rows, peak {mb(bare['rss_peak_kb'])} "
        f"({mb(bare['rss_setup_kb'])} after imports + Parquet); {bare['verdict']}: "
        f"{', '.join(bare['drifted_fields'])}"
    )
    ids = {"--dataset": ver["dataset_id"], "--batch": data["batch_id"]}
    job = run_job_child("drift-job", "drift", tmp, *[str(x) for pair in ids.items() for x in pair])
    jp = job["phases"]
    run_s = jp.get("drift_run", job["seconds"])
    report_s = jp.get("drift_report", 0.0)
    version_s = jp.get("_version_frame", 0.0)
    drifted = job["drifted_fields"] or []
    say(
        f"   job: {job['seconds']:.2f} s = {job['seconds'] / bare['seconds']:.2f}× bare, peak "
        f"{mb(job['rss_peak_kb'])} ({mb(job['rss_setup_kb'])} after setup); version 1 "
        f"({job['rows'][0]:,} rows) vs the batch ({job['rows'][1]:,}): {job['verdict']}, drifted "
        f"{', '.join(drifted)}; exactly the planted ones: {sorted(drifted) == planted}; the same "
        f"as the bare call: {drifted == bare['drifted_fields']}"
    )
    read_s = jp.get("_read_sides", 0.0)
    say(
        f"      drift_run {run_s:.2f} s = _read_sides {read_s:.2f} (both at once — version 1 in a "
        f"thread: _version_frame {version_s:.2f} = JSON → Arrow columns (_json_texts) "
        f"{jp.get('_json_texts', 0.0):.2f}, reading Parquet batches and the rest "
        f"{version_s - jp.get('_json_texts', 0.0):.2f}; the batch alongside: "
        f"items_frame {jp.get('items_frame', 0.0):.2f} = query_frame "
        f"{jp.get('query_frame', 0.0):.2f}), drift_report {report_s:.2f} (summed over its "
        f"threads: _detect_kind {jp.get('_detect_kind', 0.0):.2f}, _compare_field "
        f"{jp.get('_compare_field', 0.0):.2f})"
        f", rest {run_s - read_s - report_s:.2f}; job_execute around it "
        f"{job['seconds'] - run_s:.2f} s (_dataset_state {jp.get('_dataset_state', 0.0):.2f}, "
        f"_finish {jp.get('_finish', 0.0):.2f})"
    )
    say(
        "      peak RSS of the job after (in order): "
        + ", ".join(f"{name} {mb(kb)}" for name, kb in job["peaks"].items())
    )
    for reason in job["reasons"] or []:
        say(f"      {reason}")
    return {"n": n, "bare": bare, "job": job, "planted_only": sorted(drifted) == planted}


# ---------------------------------------------------------------------------------------------
# Output


def machine_info() -> list[str]:
    import django
    import orjson
    import psutil
    import psycopg
    import pyarrow
    import rest_framework

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = psutil.virtual_memory()
    host = urlparse(os.environ["DATABASE_URL"]).hostname
    local = "yes" if host in ("127.0.0.1", "localhost", "::1") else "no"
    with pg_connect() as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("shared_buffers", "max_wal_size", "synchronous_commit", "fsync")
        }
    return [
        f"machine   : {platform.node()}  {platform.platform()}",
        f"cpu       : {os.cpu_count()} logical CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}",
        f"memory    : {mem.total / 2**30:.1f} GiB total, {mem.available / 2**30:.1f} GiB available",
        f"python    : {platform.python_version()}  django {django.get_version()}  "
        f"drf {rest_framework.VERSION}  psycopg {psycopg.__version__} (libpq "
        f"{psycopg.pq.version()})  pyarrow {pyarrow.__version__}  orjson {orjson.__version__}",
        f"postgres  : {server} at {host} (same machine: {local}), "
        + ", ".join(f"{k}={v}" for k, v in settings.items()),
    ]


def say(message: str) -> None:
    print(message, flush=True)


def fmt_rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s"


def ratio(x: float) -> str:
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}"


def mb(kb: float) -> str:
    return f"{kb / 1024:,.0f} MB"


def table(rows: list[tuple[str, str, str, str, str]]) -> str:
    header = ("measure", "value", "baseline", "ratio", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    say(f"\n== {title}")
    start = time.perf_counter()
    yield
    say(f"   ({time.perf_counter() - start:.1f} s)")


# ---------------------------------------------------------------------------------------------
# The labelling screen in a browser


def page_load(tmp: Path, repeat: int) -> dict[str, Any]:
    """Time from navigation to the first item shown on the labelling screen of the demo dataset,
    in headless Chromium against the benchmark server (median of ``repeat`` loads after one)."""
    if not Path(CHROMIUM).exists():
        return {"skipped": f"Chromium is not at {CHROMIUM} (apt-get install chromium)"}
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from labeling import demo
    from labeling.models import Dataset

    call_command("demo_load", stdout=io.StringIO(), stderr=io.StringIO())
    dataset = Dataset.objects.get(name=demo.DEMO_DATASET_NAME)
    times: list[float] = []
    with labelling_server(tmp) as (port, _pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        base = f"http://127.0.0.1:{port}"
        page.goto(f"{base}/login/")
        page.fill("#id_username", demo.DEMO_OWNER)
        page.fill("#id_password", demo.DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        url = f"{base}/datasets/{dataset.pk}/label/"
        for _ in range(repeat + 1):
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#item .item-text")
            times.append((time.perf_counter() - start) * 1000)
        browser.close()
    times = times[1:]  # the first load warms the server's caches
    return {
        "median": statistics.median(times),
        "p95": sorted(times)[max(0, int(len(times) * 0.95) - 1)],
        "all": times,
    }


# ---------------------------------------------------------------------------------------------
# Main


def parse_sections(value: str | None, parser: argparse.ArgumentParser) -> set[str]:
    if not value:
        return set(SECTIONS)
    chosen = {s.strip() for s in value.split(",") if s.strip()}
    unknown = chosen - set(SECTIONS)
    if unknown or not chosen:
        parser.error(f"--only takes sections among {', '.join(SECTIONS)}; not {sorted(unknown)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="rows of the big import/export and items of the labelling dataset "
        "(default 1,000,000; --quick 20,000)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run (20,000 rows; 50,000 labels in the agreement section)",
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per API page")
    parser.add_argument(
        "--only",
        metavar="SECTION[,SECTION]",
        help=f"run only these sections, of: {', '.join(SECTIONS)} (export, parquet and api "
        "import the datasets they read first)",
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent labellers in the labelling section"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the big import and the agreement job and print where their time goes; "
        "print the next-item plan",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp dir and the benchmark data in the database",
    )
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument(
        "--child",
        choices=[
            "import",
            "serve",
            "agreement-bare",
            "agreement-job",
            "label-issues-bare",
            "label-issues-job",
            "baseline-job",
            "slices-bare",
            "slices-job",
            "augment-bare",
            "augment-job",
            "freeze-job",
            "drift-bare",
            "drift-job",
        ],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--npz", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="majority_vote", help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folds", type=int, default=BASELINE_FOLDS, help=argparse.SUPPRESS)
    parser.add_argument("--parquet", help=argparse.SUPPRESS)
    parser.add_argument("--level", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--current", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    if rows < 1000:
        parser.error("--rows must be at least 1,000")
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    only = parse_sections(args.only, parser)

    if args.child == "import":
        configure_env(Path(args.tmp))
        child_import(Path(args.csv), rows, os.environ.get("BENCH_PROFILE") or None)
        return
    if args.child == "serve":
        configure_env(Path(args.tmp))
        child_serve()
        return
    if args.child == "agreement-bare":
        configure_env(Path(args.tmp))
        child_agreement_bare(Path(args.npz))
        return
    if args.child == "agreement-job":
        configure_env(Path(args.tmp))
        child_agreement_job(args.dataset, args.method, os.environ.get("BENCH_PROFILE") or None)
        return
    if args.child == "label-issues-bare":
        configure_env(Path(args.tmp))
        child_label_issues_bare(Path(args.npz), Path(args.tmp))
        return
    if args.child == "label-issues-job":
        configure_env(Path(args.tmp))
        child_label_issues_job(args.dataset, args.run, os.environ.get("BENCH_PROFILE") or None)
        return
    if args.child == "baseline-job":
        configure_env(Path(args.tmp))
        child_baseline_job(args.dataset, args.folds)
        return
    if args.child == "slices-bare":
        configure_env(Path(args.tmp))
        child_slices_bare(Path(args.parquet), Path(args.npz), rows)
        return
    if args.child == "slices-job":
        configure_env(Path(args.tmp))
        child_slices_job(
            args.dataset, args.run, args.level, os.environ.get("BENCH_PROFILE") or None
        )
        return
    if args.child == "augment-bare":
        configure_env(Path(args.tmp))
        child_augment_bare(Path(args.parquet))
        return
    if args.child == "augment-job":
        configure_env(Path(args.tmp))
        child_augment_job(args.dataset)
        return
    versions_children: dict[str, Callable[[], None]] = {
        "freeze-job": lambda: child_freeze_job(args.dataset),
        "drift-bare": lambda: child_drift_bare(Path(args.parquet), Path(args.current)),
        "drift-job": lambda: child_drift_job(args.dataset, args.batch),
    }
    if args.child in versions_children:
        configure_env(Path(args.tmp))
        versions_children[args.child]()
        return

    tmp = Path(tempfile.mkdtemp(prefix="workbench-bench-"))
    configure_env(tmp)
    small = max(rows // 10, 100)
    items_n = min(100_000, rows)  # Label Studio's comparison size
    sizes: set[int] = set()  # the imports the chosen sections need
    if "import" in only:
        sizes |= {small, rows, items_n}
    if "export" in only:
        sizes.add(items_n)
    if only & {"parquet", "api"}:
        sizes.add(rows)
    total_start = time.perf_counter()
    try:
        say(
            f"Workbench benchmarks — {rows:,} rows{' (quick)' if args.quick else ''}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            + ("" if only == set(SECTIONS) else f"; only {', '.join(sorted(only))}")
        )
        created = ensure_database()
        for line in machine_info():
            say(line)
        say(f"database  : {db_name()} ({'created' if created else 'existing'}); temp dir {tmp}")
        say(f"migrate   : {migrate():.1f} s")
        django_setup()
        if missing := schema_missing():
            say(f"schema    : older than the migrations, missing {', '.join(missing)}")
            if not is_bench_db():
                raise SystemExit(f"Migrate {db_name()} afresh, or use a *bench database.")
            recreate_database()
            say(f"schema    : {db_name()} dropped and created again; migrate {migrate():.1f} s")
        if is_bench_db():
            empty_bench_data()

        files: dict[int, Path] = {}
        if sizes:
            with step("Generating CSV files (id, text + 5 metadata columns)"):
                for n in sorted(sizes):
                    files[n] = tmp / f"rows-{n}.csv"
                    size = write_csv(files[n], n)
                    say(f"   {n:>10,} rows  {size / 2**20:8.1f} MB  {files[n].name}")
            biggest = max(files[n].stat().st_size for n in files)
            if biggest > 512 * 2**20:
                os.environ["WORKBENCH_MAX_UPLOAD_MB"] = str(biggest // 2**20 + 1)

        imports: dict[int, dict[str, Any]] = {}
        copies: dict[int, float] = {}
        for n in sorted(files):
            with step(f"Import {n:,} rows (child process) and raw COPY of the same file"):
                copies[n] = copy_baseline(files[n])
                profile = args.profile and n == rows
                if profile:
                    os.environ["BENCH_PROFILE"] = str(tmp / f"import-{n}.prof")
                imports[n] = run_child_import(files[n], n, tmp)
                os.environ.pop("BENCH_PROFILE", None)
                r = imports[n]
                ph = r["phases"]
                say(f"   COPY  : {copies[n]:.2f} s  {fmt_rate(n, copies[n])}")
                say(
                    f"   import: {r['seconds']:.2f} s  {fmt_rate(n, r['seconds'])}  "
                    f"ratio {ratio(copies[n] / r['seconds'])} of COPY"
                    f"{'  (ran inline)' if r['inline'] else ''}"
                )
                say(
                    "   phases: "
                    + ", ".join(
                        f"{k} {ph[k]:.2f} s"
                        for k in (
                            "store_upload",
                            "read_parse_stage",
                            "write_items",
                            "reference_refresh",
                        )
                        if k in ph
                    )
                )
                say(
                    f"   RSS   : {mb(r['rss_setup_kb'])} after setup, peak {mb(r['rss_peak_kb'])} "
                    f"(RUSAGE_CHILDREN so far {mb(r['rusage_children_kb'])})"
                )
                pk = r["peaks"]
                say(
                    "   peak RSS by phase: "
                    + ", ".join(
                        f"{label} {mb(pk[key])}"
                        for label, key in (
                            ("read+stage", "before write_items"),
                            ("write", "after write_items"),
                            ("reference refresh", "after reference_refresh"),
                        )
                        if key in pk
                    )
                )
                if profile:
                    import pstats

                    say("   slowest SQL through Django (count, seconds; COPY not included):")
                    for sql, count, secs in r["sql_top"]:
                        say(f"   {secs:8.2f} s {count:6d}×  {sql}")
                    say("   profile (top 25 by cumulative time):")
                    pstats.Stats(str(tmp / f"import-{n}.prof")).sort_stats(
                        "cumulative"
                    ).print_stats(25)

        from django.db import connection

        if imports:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE labeling_item")

        exports: dict[str, tuple[float, int]] = {}
        if "export" in only:
            mid = imports[items_n]
            with step(f"Export {items_n:,} items: jsonl and label-studio JSON (export_stream)"):
                for fmt in ("jsonl", "label-studio"):
                    exports[fmt] = export_to(fmt, mid["dataset_id"], None)
                    secs, size = exports[fmt]
                    say(
                        f"   {fmt:<13}: {secs:.2f} s  {size / 2**20:.1f} MB  "
                        f"{fmt_rate(items_n, secs)}"
                    )

        if "parquet" in only:
            big = imports[rows]
            with step(
                f"Export {rows:,} items to Parquet (export_stream) and bare pyarrow baseline"
            ):
                pq_path = tmp / "export.parquet"
                pq_secs, pq_size = export_to("parquet", big["dataset_id"], pq_path)
                pq_count = parquet_rows(pq_path)
                base_path = tmp / "baseline.parquet"
                base_secs, base_count = parquet_baseline(big["dataset_id"], base_path)
                say(
                    f"   export  : {pq_secs:.2f} s  {fmt_rate(pq_count, pq_secs)}  "
                    f"{pq_size / 2**20:.1f} MB, {pq_count:,} rows"
                )
                say(
                    f"   baseline: {base_secs:.2f} s  {fmt_rate(base_count, base_secs)}  "
                    f"{base_path.stat().st_size / 2**20:.1f} MB, {base_count:,} rows"
                )
                pq_path.unlink()
                base_path.unlink()

        if "api" in only:
            big = imports[rows]
            with step(f"Item list API on the {rows:,}-item dataset (median of {args.repeat})"):
                api = api_pages(big["dataset_id"], rows, args.repeat)
                say(
                    f"   page 1      : {api['first_ms']:.1f} ms median "
                    f"(min {min(api['first_all']):.1f}, max {max(api['first_all']):.1f})"
                )
                say(
                    f"   page {api['page']:<7,}: {api['deep_ms']:.1f} ms median "
                    f"(min {min(api['deep_all']):.1f}, max {max(api['deep_all']):.1f})"
                )

        if "labelling" in only:
            with step(
                f"Labelling: next-item + submit on a {rows:,}-item dataset (REST API, 1 client "
                f"and {args.clients})"
            ):
                lab = labelling(tmp, rows, args.quick, args.clients, args.profile)

        if "agreement" in only:
            n_items, n_annotations = agreement_sizes(args.quick)
            with step(
                f"Agreement + consensus (majority vote, Dawid–Skene): the agreement job on "
                f"{n_annotations:,} labels ({n_items:,} items, {AGREEMENT_LABELLERS} labellers, "
                f"{AGREEMENT_CLASSES} classes) and the bare computation on the same arrays"
            ):
                agr = agreement(tmp, args.quick, args.profile)

        if "label_issues" in only:
            n_issues, n_texts = label_issues_sizes(args.quick)
            with step(
                f"Label issues: upload {n_issues:,} predictions × {LABEL_ISSUES_CLASSES} classes "
                f"(API), the label-issue job and the bare cleanlab call on the same arrays"
            ):
                lis = label_issues(tmp, args.quick, args.profile)
            with step(
                f"Baseline model: TF-IDF + logistic regression job on {n_texts:,} short texts, "
                f"{BASELINE_FOLDS} folds"
            ):
                bas = baseline_model(tmp, args.quick)

        if "slices" in only:
            n_slice_items, n_discover, n_augment = slices_sizes(args.quick)
            with step(
                f"Slices: the slices job on {n_slice_items:,} items × {len(SLICES_FIELDS)} "
                f"metadata fields and the bare slice_masks + slice_table on the same arrays; "
                f"discovery on {n_discover:,} rows"
            ):
                sli = slices(tmp, args.quick, args.profile)
            with step(
                f"Augmentation: the {AUGMENT_RECIPE} job on {n_augment:,} short texts and the "
                f"bare augment_texts"
            ):
                aug = augmentation(tmp, args.quick)

        if "versions" in only:
            n_versions = versions_sizes(args.quick)
            with step(
                f"Versions: the freeze_version job on {n_versions:,} items × "
                f"{len(SLICES_FIELDS)} metadata fields and the bare pyarrow write of the same "
                f"rows; exports and comparison of versions"
            ):
                ver = versions(tmp, args.quick)
            with step(
                f"Drift: the drift job, version 1 ({n_versions:,} rows) vs an import batch of "
                f"{n_versions:,} × {len(SLICES_FIELDS)} fields, and the bare drift_report"
            ):
                dri = drift_compare(tmp, ver)

        # -----------------------------------------------------------------------------------
        scale = items_n / 100_000
        scaled = "" if items_n == 100_000 else f" (LS scaled to {items_n:,})"
        ls_import, ls_export = LS_IMPORT_100K_S * scale, LS_EXPORT_100K_S * scale
        results: list[tuple[str, str, str, str, str]] = []
        notes: list[str] = []
        if "import" in only:
            r_small, r_big, mid = imports[small], imports[rows], imports[items_n]
            growth = r_big["rss_peak_kb"] / r_small["rss_peak_kb"]
            delta_small = r_small["rss_peak_kb"] - r_small["rss_setup_kb"]
            delta_big = r_big["rss_peak_kb"] - r_big["rss_setup_kb"]
            results += [
                (
                    f"import {rows:,} CSV rows",
                    fmt_rate(rows, r_big["seconds"]),
                    f"COPY {fmt_rate(rows, copies[rows])}",
                    ratio(copies[rows] / r_big["seconds"]),
                    ">= 0.50",
                ),
                (
                    f"import {small:,} CSV rows",
                    fmt_rate(small, r_small["seconds"]),
                    f"COPY {fmt_rate(small, copies[small])}",
                    ratio(copies[small] / r_small["seconds"]),
                    ">= 0.50",
                ),
                (
                    f"import peak RSS {small:,} → {rows:,}",
                    f"{mb(r_small['rss_peak_kb'])} → {mb(r_big['rss_peak_kb'])}",
                    f"{mb(r_big['rss_setup_kb'])} after setup",
                    f"{growth:.2f}× (+{mb(delta_small)} → +{mb(delta_big)})",
                    "flat (≈1.0×)",
                ),
                (
                    f"import {items_n:,} items",
                    f"{mid['seconds']:.1f} s",
                    f"LS {ls_import:.0f} s",
                    f"{ls_import / mid['seconds']:.0f}× faster{scaled}",
                    "10–100× faster",
                ),
            ]
            notes += [
                "import = COPY time / import time; RSS growth = peak at N / peak at N/10",
            ]
        if "export" in only:
            ls_secs, _ = exports["label-studio"]
            jl_secs, _ = exports["jsonl"]
            results += [
                (
                    f"export {items_n:,} label-studio JSON",
                    f"{ls_secs:.1f} s",
                    f"LS {ls_export:.0f} s",
                    f"{ls_export / ls_secs:.0f}× faster{scaled}",
                    "10–100× faster",
                ),
                (
                    f"export {items_n:,} jsonl",
                    f"{jl_secs:.1f} s",
                    f"LS {ls_export:.0f} s",
                    f"{ls_export / jl_secs:.0f}× faster{scaled}",
                    "10–100× faster",
                ),
            ]
        if "parquet" in only:
            results.append(
                (
                    f"export {rows:,} Parquet",
                    fmt_rate(pq_count, pq_secs),
                    f"pyarrow {fmt_rate(base_count, base_secs)}",
                    f"{base_secs / pq_secs:.2f}",
                    ">= 100,000 rows/s",
                )
            )
            notes.append("Parquet = baseline time / export time")
        if "api" in only:
            results += [
                (
                    "item API page 1 (median)",
                    f"{api['first_ms']:.1f} ms",
                    f"LS {LS_PAGE_MS[0]:.0f}–{LS_PAGE_MS[1]:.0f} ms",
                    f"{LS_PAGE_MS[0] / api['first_ms']:.0f}× faster",
                    "10–100× faster",
                ),
                (
                    f"item API page {api['page']:,} (median)",
                    f"{api['deep_ms']:.1f} ms",
                    f"page 1 {api['first_ms']:.1f} ms",
                    f"{api['deep_ms'] / api['first_ms']:.2f}",
                    "≈ 1.0× page 1",
                ),
            ]
            notes.append("API deep = page-N ms / page-1 ms")
        if "labelling" in only:
            s, m, e, a = lab["single"], lab["multi"], lab["explain"], lab["ahead"]
            ea = a["explain"]
            target = f"< {LABELLING_TARGET_MS:.0f} ms median"
            item_get = f"GET item {s['item_get_median']:.1f} ms"
            results += [
                (
                    "next-item, 1 client (median)",
                    f"{s['next_median']:.1f} ms (p95 {s['next_p95']:.1f})",
                    item_get,
                    f"{s['next_median'] / LABELLING_TARGET_MS:.2f} of target",
                    target,
                ),
                (
                    "submit label, 1 client (median)",
                    f"{s['submit_median']:.1f} ms (p95 {s['submit_p95']:.1f})",
                    item_get,
                    f"{s['submit_median'] / LABELLING_TARGET_MS:.2f} of target",
                    target,
                ),
                (
                    "next-item + submit, 1 client",
                    f"{s['pair_median']:.1f} ms (p95 {s['pair_p95']:.1f})",
                    f"{1000 / s['pair_median']:.0f} pairs/s",
                    f"{s['pair_median'] / (2 * LABELLING_TARGET_MS):.2f} of target",
                    f"< {2 * LABELLING_TARGET_MS:.0f} ms a pair",
                ),
                (
                    f"next-item + submit, {lab['clients']} clients",
                    f"{m['pair_median']:.1f} ms (p95 {m['pair_p95']:.1f})",
                    f"1 client {s['pair_median']:.1f} ms",
                    f"{m['pair_median'] / s['pair_median']:.2f}",
                    "dev server, 1 process",
                ),
                (
                    f"labelling throughput, {lab['clients']} clients",
                    f"{m['pairs_per_s']:.0f} pairs/s",
                    f"1 client {1000 / s['pair_median']:.0f} pairs/s",
                    f"{m['pairs_per_s'] / (1000 / s['pair_median']):.2f}",
                    f"409s: {m['statuses'].get('submit 409', 0)}",
                ),
                (
                    f"next-item SQL, {lab['n']:,} items",
                    f"{e['execution_ms']:.2f} ms, hit {e['hit']:,} buffers",
                    e["assignment_scan"] or "no item_assignment_idx scan",
                    "Seq Scan!" if e["seq_scans"] else "no Seq Scan",
                    "index walk, no scan",
                ),
                (
                    f"next-item SQL, a labeller {a['k']:,} ahead",
                    f"{ea['execution_ms']:.2f} ms, walks {ea['walked'] or 0:,} entries",
                    f"caught up {e['execution_ms']:.2f} ms, {e['walked'] or 0:,}",
                    f"{ea['execution_ms'] / e['execution_ms']:.0f}×",
                    "≈ 1× (no walk)",
                ),
            ]
            notes.append(
                "labelling = median / 20 ms target (a pair: / 40 ms); N clients = their "
                "median pair / one client's, their pairs/s / one client's"
            )
        if "agreement" in only:
            bare = agr["bare"]
            n_annotations = agr["data"]["annotations"]
            over_bare = bare["rss_peak_kb"] - bare["rss_setup_kb"]
            for method, job in agr["jobs"].items():
                over_job = job["rss_peak_kb"] - job["rss_setup_kb"]
                results += [
                    (
                        f"agreement job ({method}), {n_annotations:,} labels",
                        f"{job['seconds']:.1f} s, peak {mb(job['rss_peak_kb'])}",
                        f"bare {bare['seconds']:.1f} s, peak {mb(bare['rss_peak_kb'])}",
                        f"{job['seconds'] / bare['seconds']:.2f}",
                        f"<= {AGREEMENT_TARGET:.0f}",
                    ),
                    (
                        f"agreement peak RSS ({method})",
                        f"{mb(job['rss_peak_kb'])} (+{mb(over_job)} over setup)",
                        f"bare {mb(bare['rss_peak_kb'])} (+{mb(over_bare)})",
                        f"{job['rss_peak_kb'] / bare['rss_peak_kb']:.2f} "
                        f"(growth {over_job / max(over_bare, 1):.1f}×)",
                        f"<= {AGREEMENT_TARGET:.0f}",
                    ),
                ]
            notes.append(
                "agreement = job seconds / bare seconds and job peak RSS / bare peak RSS (VmHWM of "
                "each child); the job also reads the labels from the database and rewrites every "
                "item's reference label, the bare computation starts from arrays in memory"
            )
        if "label_issues" in only:
            job, bare, up = lis["job"], lis["bare"], lis["upload"]
            n_issues = lis["n"]
            bjob = bas["job"]
            design_s = DESIGN_BASELINE_50K_S * bas["n"] / 50_000
            design = "" if bas["n"] == 50_000 else f" (scaled to {bas['n']:,})"
            results += [
                (
                    f"label issues job, {n_issues:,} × {LABEL_ISSUES_CLASSES}",
                    f"{job['seconds']:.2f} s, peak {mb(job['rss_peak_kb'])}",
                    f"bare find_label_issues {bare['seconds']:.2f} s, peak "
                    f"{mb(bare['rss_peak_kb'])}",
                    f"{job['seconds'] / bare['seconds']:.2f}",
                    f"<= {LABEL_ISSUES_TARGET}",
                ),
                (
                    f"upload {n_issues:,} predictions (API)",
                    f"{up['seconds']:.1f} s, {up['body_mb']:.1f} MB",
                    fmt_rate(n_issues, up["seconds"]),
                    "",
                    "",
                ),
                (
                    f"label issues precision / recall ({LABEL_ISSUES_FLIPPED:.0%} flipped)",
                    f"{lis['precision']:.3f} / {lis['recall']:.3f}",
                    f"bare {bare['precision']:.3f} / {bare['recall']:.3f}",
                    f"top {LABEL_ISSUES_TOP:,}: {lis['top_precision']:.3f}",
                    "printed",
                ),
                (
                    f"baseline model, {bas['n']:,} texts, {BASELINE_FOLDS} folds",
                    f"{bjob['seconds']:.1f} s, accuracy {bjob['accuracy']:.3f}",
                    f"reference ~{design_s:.0f} s{design}",
                    f"{bjob['seconds'] / design_s:.2f}",
                    "progress per fold",
                ),
            ]
            notes.append(
                "label issues = job seconds / bare find_label_issues seconds (each in its own "
                "process, cleanlab imported first); the job also reads the probabilities and "
                "the reference labels from the database and stores the issues; baseline model = "
                "job seconds / the reference ~28 s for 50k texts (another machine)"
            )
        if "slices" in only:
            job, bare, djob = sli["job"], sli["bare"], sli["discover_job"]
            ajob, abare = aug["job"], aug["bare"]
            job_rate = (ajob["created"] or 0) / ajob["seconds"]
            bare_rate = abare["variants"] / abare["seconds"]
            results += [
                (
                    f"slice table, {sli['items']:,} items × {len(SLICES_FIELDS)} fields",
                    f"{job['seconds']:.1f} s, peak {mb(job['rss_peak_kb'])}",
                    f"bare {bare['seconds']:.1f} s, peak {mb(bare['rss_peak_table_kb'])}",
                    f"{job['seconds'] / bare['seconds']:.2f}",
                    f"< {SLICES_TARGET_S:.0f} s",
                ),
                (
                    f"slice discovery, {bare['discover_rows']:,} rows × {len(SLICES_FIELDS)} "
                    "fields (level 3)",
                    f"{bare['discover_s']:.1f} s",
                    f"planted slice first: {'yes' if bare['planted_first'] else 'NO'}",
                    f"{bare['discover_s'] / SLICES_TARGET_S:.2f} of target",
                    f"< {SLICES_TARGET_S:.0f} s",
                ),
                (
                    f"slices job + discovery (level 2), {sli['items']:,} items",
                    f"{djob['seconds']:.1f} s",
                    f"without discovery {job['seconds']:.1f} s",
                    f"{djob['seconds'] / job['seconds']:.2f}",
                    f"planted first: {'yes' if djob['planted_first'] else 'NO'}",
                ),
                (
                    f"augmentation, {aug['n']:,} texts ({AUGMENT_RECIPE})",
                    f"{job_rate:,.0f} items/s",
                    f"bare {bare_rate:,.0f} items/s",
                    f"{job_rate / bare_rate:.2f}",
                    "items/s",
                ),
            ]
            notes.append(
                "slice table = job seconds / bare slice_masks + slice_table seconds (each in its "
                "own process); the job also reads the labels, the items and the model run's "
                "probabilities from PostgreSQL and stores the slices' members; discovery = "
                "seconds / the 10 s target; augmentation = job items/s / bare augment_texts "
                "items/s (the job also reads the parents and writes the new items by COPY)"
            )
        if "versions" in only:
            fjob, djob, dbare = ver["job"], dri["job"], dri["bare"]
            results += [
                (
                    f"freeze {ver['n']:,}-item version",
                    f"{fjob['seconds']:.1f} s, peak {mb(fjob['rss_peak_kb'])}",
                    f"bare pyarrow {ver['bare_s']:.1f} s",
                    f"{fjob['seconds'] / ver['bare_s']:.2f}",
                    "seconds, peak memory",
                ),
                (
                    f"drift {dri['n']:,} vs {dri['n']:,} × {len(SLICES_FIELDS)} fields",
                    f"{djob['seconds']:.1f} s, peak {mb(djob['rss_peak_kb'])}",
                    f"bare drift_report {dbare['seconds']:.1f} s",
                    f"{djob['seconds'] / dbare['seconds']:.2f}",
                    f"< {DRIFT_TARGET_S:.0f} s",
                ),
            ]
            notes.append(
                "freeze = job seconds / bare seconds (SELECT → pyarrow → Parquet in the parent, "
                "annotations left empty; the job also writes each item's annotations, hashes "
                "the digest and stores the file); drift = job seconds / bare drift_report "
                "seconds on the job's own frames (the job also reads both sides)"
            )
        if "page" in only:
            with step("Labelling screen: page load to the first item (headless Chromium)"):
                page = page_load(tmp, 10 if args.quick else 20)
                if "skipped" in page:
                    say(f"   skipped: {page['skipped']}")
                else:
                    say(
                        f"   demo dataset, {len(page['all'])} loads: {page['median']:.0f} ms "
                        f"median (p95 {page['p95']:.0f}); all: "
                        + ", ".join(f"{t:.0f}" for t in page["all"])
                    )
                    results.append(
                        (
                            "labelling screen, load to first item",
                            f"{page['median']:.0f} ms (p95 {page['p95']:.0f})",
                            "demo dataset, dev server",
                            f"{page['median'] / PAGE_LOAD_TARGET_MS:.2f} of target",
                            f"< {PAGE_LOAD_TARGET_MS:.0f} ms",
                        )
                    )
        say(f"\n== Results ({rows:,} rows; total {time.perf_counter() - total_start:.0f} s)")
        for note in notes:
            say(f"   ratio: {note}")
        say("")
        say(table(results))
    finally:
        if not args.keep:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            if is_bench_db():
                with contextlib.suppress(Exception):
                    empty_bench_data()
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"\nkept: temp dir {tmp}, data in database {db_name()}")
        if not is_bench_db():
            say(f"note: {db_name()} is not a *bench database, so its benchmark datasets stay.")


if __name__ == "__main__":
    main()
