"""The vectorised path for large, clean CSV/TSV files: Arrow parses the file in blocks and builds
each row's JSON with column-wise string kernels, so no Python runs per row. No Django here.

It covers the common bulk case — one row per item, optional label column, no labeller column —
and gives up (:class:`NotFast`) on anything else or anything suspicious (a ragged row, an empty
id, an unknown label, bytes that aren't UTF-8). The caller then runs the row-by-row reader of
``labeling.formats``, which names the exact row and column of every problem. Both paths produce
the same items (``tests/labeling/test_fastcsv.py`` checks it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from labeling import formats

BLOCK_BYTES = 4 << 20
MAX_NEW_LABELS = 1000
_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
# JSON numbers, exactly as formats.infer_scalar reads them.
_NUMBER = (
    r"^-?(0|[1-9][0-9]{0,17})$|^-?(0|[1-9][0-9]*)(\.[0-9]+([eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)$"
)


class NotFast(Exception):
    """This file needs the row-by-row reader."""


@dataclass
class StagedBatch:
    """One block of the file, ready for COPY (CSV bytes without header)."""

    items_csv: bytes
    annotations_csv: bytes
    items: int
    annotations: int


@dataclass
class FastResult:
    mapping: formats.ResolvedMapping | None = None
    rows: int = 0
    fraction: float = 0.0
    data_fields: set[str] = field(default_factory=set)
    metadata_fields: set[str] = field(default_factory=set)
    new_labels: dict[str, int] = field(default_factory=dict)


def _header(path: Path, delimiter: str) -> list[str]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        try:
            header = next(csv.reader(text, delimiter=delimiter, strict=True), None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise NotFast(str(exc)) from exc
    if not header:
        raise NotFast("no header")
    header = [h.strip() for h in header]
    if "" in header or len(set(header)) != len(header):
        raise NotFast("header problems")
    return header


def json_string(values: pa.Array) -> pa.Array:
    """Each string as a JSON string literal (quotes, backslashes and control characters
    escaped)."""
    out = pc.replace_substring(values, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    if pc.any(pc.match_substring_regex(out, "[\\x00-\\x1f]")).as_py():
        if pc.any(pc.match_substring(out, "\x00")).as_py():
            raise NotFast("NUL character")
        for code in range(1, 32):
            out = pc.replace_substring(out, chr(code), _ESCAPES.get(code, f"\\u{code:04x}"))
    return pc.binary_join_element_wise('"', out, '"', "")


def _fragment(key: str, value_json: pa.Array, present: pa.Array | None) -> pa.Array:
    joined = pc.binary_join_element_wise(orjson.dumps(key).decode() + ":", value_json, "")
    if present is None:
        return joined
    return pc.if_else(present, joined, pa.scalar(None, pa.string()))


def _object(fragments: list[pa.Array], length: int) -> pa.Array:
    if not fragments:
        return pa.array(["{}"] * length, pa.string())
    body = pc.binary_join_element_wise(*fragments, ",", null_handling="skip")
    return pc.binary_join_element_wise("{", body, "}", "")


def _csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def staged_batches(
    path: Path,
    file_format: str,
    mapping: dict[str, Any],
    result: FastResult,
    *,
    known_labels: set[str],
    default_metadata: dict[str, Any],
    created_at: str,
) -> Iterator[StagedBatch]:
    """Yield the file as COPY-ready blocks; raise NotFast as soon as it needs the slow reader."""
    if file_format not in ("csv", "tsv"):
        raise NotFast("not CSV")
    delimiter = "\t" if file_format == "tsv" else ","
    columns = _header(path, delimiter)
    try:
        resolved = formats.resolve_mapping(columns, mapping)
    except formats.FileProblem as exc:
        raise NotFast(exc.message) from exc
    if (
        resolved.shape != "items"
        or resolved.labeller
        or resolved.annotations
        or resolved.time_spent_ms
        or resolved.external_id is None
        or not resolved.data
        or any(c in ("data", "metadata") for c in (*resolved.data, *resolved.metadata))
        or set(default_metadata) & {c.removeprefix("metadata.") for c in resolved.metadata}
    ):
        raise NotFast("not the simple shape")
    result.mapping = resolved
    size = max(path.stat().st_size, 1)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise NotFast(str(exc)) from exc
    defaults = [
        f"{orjson.dumps(k).decode()}:{orjson.dumps(v).decode()}"
        for k, v in default_metadata.items()
    ]
    row = blocks = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            raise NotFast(str(exc)) from exc
        n = batch.num_rows
        if n == 0:
            continue
        yield _stage(batch, resolved, result, row, known_labels, defaults, created_at)
        row += n
        blocks += 1
        result.rows = row
        # Arrow reads a block at a time and doesn't say where it is: count blocks.
        result.fraction = min(blocks * BLOCK_BYTES / size, 1.0)
    if row == 0:
        raise NotFast("no rows")


def _stage(
    batch: pa.RecordBatch,
    mapping: formats.ResolvedMapping,
    result: FastResult,
    first_row: int,
    known_labels: set[str],
    defaults: list[str],
    created_at: str,
) -> StagedBatch:
    n = batch.num_rows
    column = batch.column
    ids = pc.utf8_trim_whitespace(column(mapping.external_id))
    if pc.any(pc.equal(ids, "")).as_py() or pc.max(pc.utf8_length(ids)).as_py() > 255:
        raise NotFast("empty or long id")
    row_numbers = pa.array(range(first_row + 1, first_row + n + 1), pa.int64())

    data_fragments = []
    anything = pa.array([False] * n)
    for col in sorted(mapping.data, key=lambda c: c.removeprefix("data.")):
        values = column(col)
        if col.startswith("data."):
            present = pc.not_equal(values, "")
            anything = pc.or_(anything, present)
            data_fragments.append(
                _fragment(col.removeprefix("data."), json_string(values), present)
            )
        else:
            anything = pc.or_(anything, pc.not_equal(values, ""))
            data_fragments.append(_fragment(col, json_string(values), None))
        result.data_fields.add(col.removeprefix("data."))
    if not pc.all(anything).as_py():
        raise NotFast("an item without data")
    data = _object(data_fragments, n)

    meta_fragments = [pa.array([d] * n, pa.string()) for d in defaults]
    for col in mapping.metadata:
        values = column(col)
        present = pc.not_equal(values, "")
        if not pc.any(present).as_py():
            continue
        numeric = pc.match_substring_regex(values, _NUMBER)
        value_json = pc.if_else(numeric, values, json_string(values))
        meta_fragments.append(_fragment(col.removeprefix("metadata."), value_json, present))
        result.metadata_fields.add(col.removeprefix("metadata."))
    metadata = _object(meta_fragments, n)

    items = pa.table(
        {"row_no": row_numbers, "external_id": ids, "data": data, "metadata": metadata}
    )
    annotations_csv, annotations = b"", 0
    if mapping.label:
        labels = pc.utf8_trim_whitespace(column(mapping.label))
        has_label = pc.not_equal(labels, "")
        if pc.any(has_label).as_py():
            if pc.max(pc.utf8_length(labels)).as_py() > 100:
                raise NotFast("long label")
            _check_labels(labels, has_label, first_row, result, known_labels)
            chosen = pa.table({"row_no": row_numbers, "external_id": ids, "label": labels}).filter(
                has_label
            )
            m = chosen.num_rows
            ann = pa.table(
                {
                    "row_no": chosen["row_no"],
                    "external_id": chosen["external_id"],
                    "labeller": pa.array([mapping.default_labeller] * m, pa.string()),
                    "label": chosen["label"],
                    "source": pa.array(["imported"] * m, pa.string()),
                    "time_spent_ms": pa.nulls(m, pa.int64()),
                    "created_at": pa.array([created_at] * m, pa.string()),
                }
            )
            annotations_csv, annotations = _csv_bytes(ann), m
    return StagedBatch(_csv_bytes(items), annotations_csv, n, annotations)


def _check_labels(
    labels: pa.Array,
    has_label: pa.Array,
    first_row: int,
    result: FastResult,
    known_labels: set[str],
) -> None:
    distinct = pc.unique(labels.filter(has_label)).to_pylist()
    if known_labels:
        if set(distinct) - known_labels:
            raise NotFast("unknown label")
        return
    for label in distinct:
        if label not in result.new_labels:
            if len(result.new_labels) >= MAX_NEW_LABELS:
                raise NotFast("too many labels")
            result.new_labels[label] = first_row + 1 + pc.index(labels, label).as_py()
