"""Workbench benchmarks: figures and ratios against bare baselines measured in the same run.

    .venv/bin/python bench/run.py               # 1,000,000 rows (several minutes)
    .venv/bin/python bench/run.py --quick       # 20,000 rows, a smoke run (under a minute)
    .venv/bin/python bench/run.py --rows 200000 --keep

Nothing is asserted: the script prints what it measured (see bench/README.md). A small mode of the
same script (``--child import``) runs one import in a fresh process so that its peak RSS can be
read on its own.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
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

# Label Studio 1.23 on a 2-core machine (DESIGN.md, "Performance targets").
LS_IMPORT_100K_S = 42.0
LS_EXPORT_100K_S = 302.0
LS_PAGE_MS = (260.0, 1100.0)

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
    """Remove every dataset and job (the bench database only); the schema stays."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("TRUNCATE labeling_dataset, workbench_job CASCADE")
        conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")


def pg_connect() -> Any:
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"])


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
            "p.external_id, l.name, NULLIF(i.reference_method, ''), i.reference_confidence "
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
# Main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="rows of the big import/export (default 1,000,000; --quick 20,000)",
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (20,000 rows)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per API page")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the big import and print where its time goes",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp dir and the benchmark data in the database",
    )
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["import"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    if rows < 1000:
        parser.error("--rows must be at least 1,000")

    if args.child == "import":
        configure_env(Path(args.tmp))
        child_import(Path(args.csv), rows, os.environ.get("BENCH_PROFILE") or None)
        return

    tmp = Path(tempfile.mkdtemp(prefix="workbench-bench-"))
    configure_env(tmp)
    small = max(rows // 10, 100)
    items_n = min(100_000, rows)  # Label Studio's comparison size
    total_start = time.perf_counter()
    try:
        say(
            f"Workbench benchmarks — {rows:,} rows{' (quick)' if args.quick else ''}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
        created = ensure_database()
        for line in machine_info():
            say(line)
        say(f"database  : {db_name()} ({'created' if created else 'existing'}); temp dir {tmp}")
        say(f"migrate   : {migrate():.1f} s")
        if is_bench_db():
            empty_bench_data()

        with step("Generating CSV files (id, text + 5 metadata columns)"):
            files: dict[int, Path] = {}
            for n in sorted({small, rows, items_n}):
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

        django_setup()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE labeling_item")

        mid = imports[items_n]
        with step(f"Export {items_n:,} items: jsonl and label-studio JSON (export_stream)"):
            exports = {}
            for fmt in ("jsonl", "label-studio"):
                exports[fmt] = export_to(fmt, mid["dataset_id"], None)
                secs, size = exports[fmt]
                say(f"   {fmt:<13}: {secs:.2f} s  {size / 2**20:.1f} MB  {fmt_rate(items_n, secs)}")

        big = imports[rows]
        with step(f"Export {rows:,} items to Parquet (export_stream) and bare pyarrow baseline"):
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

        # -----------------------------------------------------------------------------------
        scale = items_n / 100_000
        scaled = "" if items_n == 100_000 else f" (LS scaled to {items_n:,})"
        ls_import, ls_export = LS_IMPORT_100K_S * scale, LS_EXPORT_100K_S * scale
        r_small, r_big = imports[small], imports[rows]
        growth = r_big["rss_peak_kb"] / r_small["rss_peak_kb"]
        delta_small = r_small["rss_peak_kb"] - r_small["rss_setup_kb"]
        delta_big = r_big["rss_peak_kb"] - r_big["rss_setup_kb"]
        ls_secs, _ = exports["label-studio"]
        jl_secs, _ = exports["jsonl"]
        results = [
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
            (
                f"export {rows:,} Parquet",
                fmt_rate(pq_count, pq_secs),
                f"pyarrow {fmt_rate(base_count, base_secs)}",
                f"{base_secs / pq_secs:.2f}",
                ">= 100,000 rows/s",
            ),
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
        say(f"\n== Results ({rows:,} rows; total {time.perf_counter() - total_start:.0f} s)")
        say("   ratio: import = COPY time / import time; Parquet = baseline time / export time;")
        say("   RSS growth = peak at N / peak at N/10; API deep = page-N ms / page-1 ms.\n")
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
