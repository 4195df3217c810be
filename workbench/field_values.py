"""Field values in Arrow: how the drift and data-quality reports (and a frozen version's field
table) hold the items' data and metadata fields, whatever they were read from.

A field value is text as the workbench stores it: numbers as their text, booleans ``true`` /
``false``, lists and objects as JSON, blanks missing. Values stay in Arrow
(``pd.ArrowDtype(pa.string())``), never a Python object each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Any, TypeAlias

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

# Rows of a frozen version's Parquet file flattened at a time (their JSON is ~8 MB at 1M
# items; twice as many rows are no faster and hold 90 MB more).
BATCH_ROWS = 32_768
LABEL = "__label"  # the reference label's column in a version's field table
ORIGIN = "__origin"  # the item's origin (imported, augmented, …) in a version's field table

TEXT = pd.ArrowDtype(pa.string())
Arrow: TypeAlias = pa.Array | pa.ChunkedArray  # a column of values in Arrow


def text_value(value: Any) -> str | None:
    """A parsed value as the workbench stores field values: text (true/false for booleans,
    JSON for lists and objects), blanks as None."""
    if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def arrow_texts(column: Arrow) -> Arrow:
    """An Arrow column as field values (:func:`text_value`), kept in Arrow: no Python object
    per value but for nested ones."""
    kind = column.type
    if pa.types.is_large_string(kind):
        column = column.cast(pa.string())
    elif pa.types.is_boolean(kind):
        column = pc.if_else(column, "true", "false")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_temporal(kind):
        column = pc.cast(column, pa.string())
    elif pa.types.is_dictionary(kind):
        column = pc.cast(column.cast(kind.value_type), pa.string())
    elif not pa.types.is_string(kind):  # nested, or null everywhere
        column = pa.array([text_value(v) for v in column.to_pylist()], type=pa.string())
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def frame(columns: dict[str, Arrow], rows: int) -> pd.DataFrame:
    """Field values in Arrow as a frame of Arrow-backed text (no copy)."""
    return pd.DataFrame(
        {name: pd.Series(values, dtype=TEXT) for name, values in columns.items()},
        index=pd.RangeIndex(rows),
    )


def json_lines(body: pa.Buffer) -> tuple[dict[str, Arrow], int]:
    """JSON lines (an object each) as field values (:func:`arrow_texts`) and their number,
    parsed column-wise by Arrow. Strings stay the text they were (Arrow would read dates as
    timestamps); where a field changes type between rows Arrow refuses, and the lines are
    parsed one by one."""
    options = pj.ReadOptions(block_size=1 << 22)  # 4 MB blocks, parsed in parallel
    try:
        table = pj.read_json(pa.BufferReader(body), read_options=options)
        if any(pa.types.is_temporal(field.type) for field in table.schema):
            schema = pa.schema(
                pa.field(f.name, pa.string()) if pa.types.is_temporal(f.type) else f
                for f in table.schema
            )
            table = pj.read_json(
                pa.BufferReader(body),
                read_options=options,
                parse_options=pj.ParseOptions(explicit_schema=schema),
            )
        return {n: arrow_texts(table.column(n)) for n in table.column_names}, table.num_rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    records = []
    for number, line in enumerate(body.to_pybytes().splitlines(), start=1):
        if line.strip():
            record = orjson.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON object")
            records.append(record)
    names = dict.fromkeys(name for record in records for name in record)
    columns: dict[str, Arrow] = {
        name: pa.array([text_value(r.get(name)) for r in records], type=pa.string())
        for name in names
    }
    return columns, len(records)


def json_texts(texts: Arrow) -> dict[str, Arrow]:
    """JSON objects (one text each, None for none) as field values, one row each."""
    if len(texts) == 0:
        return {}
    kind = texts.type
    lines = pc.binary_join_element_wise(
        pc.fill_null(texts, pa.scalar("{}", kind)), pa.scalar("", kind), pa.scalar("\n", kind)
    )
    pieces = []  # each chunk's characters: its data buffer between its first and last offset
    for chunk in lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]:
        if len(chunk):
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            _, offsets, characters = chunk.buffers()
            ends = np.frombuffer(offsets, dtype=width)[[chunk.offset, chunk.offset + len(chunk)]]
            pieces.append(memoryview(characters[int(ends[0]) : int(ends[1])]))
    columns, rows = json_lines(pa.py_buffer(b"".join(pieces)))
    if rows != len(texts):
        raise ValueError(f"{len(texts):,} JSON texts gave {rows:,} rows")
    return columns


def version_batches(
    source: IO[bytes], *, data_fields: Sequence[str], metadata_fields: Sequence[str]
) -> Iterator[pa.RecordBatch]:
    """A frozen version's Parquet file (``labeling.versions``) as its field table, a batch of
    rows at a time: each field as text (a data field wins over a metadata field of the same
    name; keys that are not the dataset's fields are left out), :data:`ORIGIN` and
    :data:`LABEL` (the reference label's name)."""
    schema = version_schema(data_fields, metadata_fields)
    names = [name for name in schema.names if name not in (ORIGIN, LABEL)]
    read = ["data", "metadata", "origin", "reference_label"]
    for batch in pq.ParquetFile(source).iter_batches(BATCH_ROWS, columns=read):
        n = batch.num_rows
        data = json_texts(batch.column("data"))
        metadata = json_texts(batch.column("metadata"))
        columns = [
            (data if name in data_fields else metadata).get(name, pa.nulls(n, pa.string()))
            for name in names
        ]
        columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
        columns += [batch.column("origin"), batch.column("reference_label")]
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def version_schema(data_fields: Sequence[str], metadata_fields: Sequence[str]) -> pa.Schema:
    """A version's field table: its fields (data fields first, each once), then :data:`ORIGIN`
    and :data:`LABEL`, all text."""
    names = [*dict.fromkeys([*data_fields, *metadata_fields]), ORIGIN, LABEL]
    return pa.schema([pa.field(name, pa.string()) for name in names])
