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
