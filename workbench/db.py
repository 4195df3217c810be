"""Bulk database plumbing shared by the apps: COPY on PostgreSQL, batched inserts elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def json_type() -> str:
    return "jsonb" if is_postgres() else "text"


def create_temp_table(name: str, columns: Sequence[tuple[str, str]]) -> None:
    """Create a temporary table (replacing one of the same name) on the default connection."""
    cols = ", ".join(f"{col} {typ}" for col, typ in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols})")


def drop_temp_table(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Append rows to a table: COPY on PostgreSQL, executemany elsewhere. Returns the count."""
    count = 0
    with connection.cursor() as cursor:
        if is_postgres():
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join(["%s"] * len(columns))
            batch = list(rows)
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                batch,
            )
            count = len(batch)
    return count


def copy_csv(table: str, columns: Sequence[str], content: bytes) -> None:
    """COPY CSV bytes (no header; an empty unquoted field is NULL) into a table (PostgreSQL)."""
    with connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        with cursor.cursor.copy(sql) as copy:
            copy.write(content)


def fetch_all(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def query_columns(sql: str, params: Sequence[Any], dtypes: Sequence[str]) -> list[Any]:
    """Run a query and return its columns as numpy arrays of the given dtypes (NULL → NaN for
    floats, 0 for integers). PostgreSQL streams the rows with COPY … TO STDOUT as CSV, read by
    Arrow's vectorised parser; elsewhere the rows are fetched in one go."""
    import numpy as np

    if is_postgres():
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        body = _copy_csv(sql, params)
        names = [f"c{i}" for i in range(len(dtypes))]
        if body is None:
            return [np.array([], dtype=d) for d in dtypes]
        types = {
            n: pa.float64() if d.startswith("float") else pa.int64()
            for n, d in zip(names, dtypes, strict=True)
        }
        table = pa_csv.read_csv(
            pa.BufferReader(body),
            read_options=pa_csv.ReadOptions(column_names=names),
            convert_options=pa_csv.ConvertOptions(column_types=types),
        )
        out = []
        for name, dtype in zip(names, dtypes, strict=True):
            column = table.column(name)
            fill = float("nan") if dtype.startswith("float") else 0
            out.append(column.fill_null(fill).to_numpy().astype(dtype, copy=False))
        return out
    rows = fetch_all(sql, params)
    out = []
    for i, dtype in enumerate(dtypes):
        fill = float("nan") if dtype.startswith("float") else 0
        out.append(np.array([fill if r[i] is None else r[i] for r in rows], dtype=dtype))
    return out


def _copy_csv(sql: str, params: Sequence[Any]) -> Any:
    """The query's rows as CSV by COPY … TO STDOUT, in one Arrow buffer (None for no rows)."""
    import io

    import pyarrow as pa

    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(sql, params) if params else sql
        with cursor.cursor.copy(f"COPY ({inner}) TO STDOUT WITH (FORMAT csv)") as copy:
            for row in copy:  # the server sends a message a row
                buffer.write(row)
    return pa.py_buffer(buffer.getbuffer()) if buffer.tell() else None


def query_frame(
    sql: str,
    params: Sequence[Any],
    columns: Sequence[tuple[str, str]],
    *,
    arrow_strings: bool = False,
) -> Any:
    """Run a query and return a pandas DataFrame with the given (name, dtype) columns; dtype
    is ``int64``, ``float64`` (NULL → NaN, 0 for integers) or ``str`` (NULL → None). On
    PostgreSQL the rows stream by COPY as CSV into Arrow's vectorised parser; with
    ``arrow_strings`` text columns stay Arrow-backed (``pd.ArrowDtype(pa.string())``, NULL →
    NA) instead of becoming Python strings: much faster to parse as numbers later."""
    import pandas as pd

    names = [name for name, _ in columns]
    if is_postgres():
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        body = _copy_csv(sql, params)
        if body is None:
            return pd.DataFrame(
                {n: pd.Series([], dtype=_dtype(d, arrow_strings)) for n, d in columns}
            )
        kinds = {"int64": pa.int64(), "float64": pa.float64(), "str": pa.string()}
        table = pa_csv.read_csv(
            pa.BufferReader(body),
            read_options=pa_csv.ReadOptions(column_names=names),
            # An unquoted empty field is NULL; a quoted one ("") is the empty string.
            convert_options=pa_csv.ConvertOptions(
                column_types={n: kinds[d] for n, d in columns},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        frame = {}
        for name, dtype in columns:
            column = table.column(name)
            if dtype == "str" and arrow_strings:
                frame[name] = pd.Series(column, dtype=_dtype(dtype, arrow_strings))
            elif dtype == "str":
                frame[name] = column.to_pandas().astype(object)
            else:
                fill = float("nan") if dtype == "float64" else 0
                frame[name] = pd.Series(column.fill_null(fill).to_numpy().astype(dtype))
        return pd.DataFrame(frame)
    rows = fetch_all(sql, params)
    frame = {}
    for i, (name, dtype) in enumerate(columns):
        if dtype == "str":
            frame[name] = pd.Series(
                [None if r[i] is None else str(r[i]) for r in rows],
                dtype=_dtype(dtype, arrow_strings),
            )
        else:
            fill = float("nan") if dtype == "float64" else 0
            frame[name] = pd.Series([fill if r[i] is None else r[i] for r in rows], dtype=dtype)
    return pd.DataFrame(frame)


def _dtype(dtype: str, arrow_strings: bool) -> Any:
    """The pandas dtype of a query_frame column: Arrow-backed text, Python strings, a number."""
    if dtype != "str":
        return dtype
    if not arrow_strings:
        return "object"
    from workbench.field_values import TEXT

    return TEXT
