"""Streamed exports: every item with data, metadata, all annotations and its reference label.

Each writer turns chunks of items (``selectors.export_chunks``) into byte chunks, so a million
items never sit in memory. The files import back into an equal dataset.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from labeling.selectors import ExportChunk

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "label-studio": ("application/json", "json"),
}
TAIL_COLUMNS = [
    "origin",
    "import_batch",
    "parent",
    "recipe",
    "reference_label",
    "reference_method",
    "reference_confidence",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _annotation(ann: dict[str, Any]) -> dict[str, Any]:
    return {
        "labeller": ann["labeller__name"],
        "label": ann["label__name"],
        "time_spent_ms": ann["time_spent_ms"],
        "created_at": _iso(ann["created_at"]),
        "source": ann["source"],
    }


def _common(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "origin": item["origin"],
        "import_batch": item["import_batch_id"],
        "parent": item["parent__external_id"],
        "reference_label": item["reference_label__name"],
        "reference_method": item["reference_method"] or None,
        "reference_confidence": item["reference_confidence"],
    }


def jsonl_stream(chunks: Iterable[ExportChunk]) -> Iterator[bytes]:
    for chunk in chunks:
        out = bytearray()
        for item in chunk.rows:
            row = {
                "external_id": item["external_id"],
                "data": orjson.Fragment(item["data_json"]),
                "metadata": orjson.Fragment(item["metadata_json"]),
                **_common(item),
                "recipe": orjson.Fragment(item["recipe_json"]) if item["recipe_json"] else None,
                "annotations": [_annotation(a) for a in item["annotations"]],
            }
            out += orjson.dumps(row)
            out += b"\n"
        yield bytes(out)


# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets
# (CSV injection): =HYPERLINK(…), +cmd|…, -2+3, @SUM(…), and tab or CR before any of them.
_FORMULA_START = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(text: str) -> str:
    """The text with a leading apostrophe where a spreadsheet would run it as a formula
    (plain numbers such as -3 stay numbers)."""
    if text[:1] in _FORMULA_START and text and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return orjson.dumps(value).decode()


def csv_stream(
    chunks: Iterable[ExportChunk], data_fields: list[str], metadata_fields: list[str]
) -> Iterator[bytes]:
    header = (
        ["external_id"]
        + [f"data.{f}" for f in data_fields]
        + [f"metadata.{f}" for f in metadata_fields]
        + TAIL_COLUMNS
        + ["annotations"]
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for chunk in chunks:
        for item in chunk.rows:
            data, meta = orjson.loads(item["data_json"]), orjson.loads(item["metadata_json"])
            common = {**_common(item), "recipe": item["recipe_json"]}
            writer.writerow(
                [spreadsheet_safe(item["external_id"])]
                + [_csv_cell(data.get(f)) for f in data_fields]
                + [_csv_cell(meta.get(f)) for f in metadata_fields]
                + [_csv_cell(common[c]) for c in TAIL_COLUMNS]
                + [orjson.dumps([_annotation(a) for a in item["annotations"]]).decode()]
            )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    rest = buffer.getvalue()
    if rest:
        yield rest.encode()


def label_studio_stream(chunks: Iterable[ExportChunk]) -> Iterator[bytes]:
    yield b"["
    first = True
    for chunk in chunks:
        out = bytearray()
        for item in chunk.rows:
            task = {
                "id": item["id"],  # Label Studio's ids are numbers; ours is in meta
                "data": orjson.Fragment(item["data_json"]),
                "meta": {"external_id": item["external_id"], **orjson.loads(item["metadata_json"])},
                "annotations": [
                    {
                        "completed_by": {"email": a["labeller__name"]},
                        "result": [_choice(a["label__name"])],
                        "lead_time": a["time_spent_ms"] / 1000 if a["time_spent_ms"] else None,
                        "created_at": _iso(a["created_at"]),
                    }
                    for a in item["annotations"]
                    if a["source"] != "prelabel"
                ],
                "predictions": [
                    {
                        "model_version": a["labeller__name"].removeprefix("model:"),
                        "result": [_choice(a["label__name"])],
                        "created_at": _iso(a["created_at"]),
                    }
                    for a in item["annotations"]
                    if a["source"] == "prelabel"
                ],
            }
            if not first:
                out += b","
            first = False
            out += orjson.dumps(task)
        yield bytes(out)
    yield b"]"


def _choice(label: str) -> dict[str, Any]:
    return {
        "type": "choices",
        "from_name": "label",
        "to_name": "item",
        "value": {"choices": [label]},
    }


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts = []
        return out


def parquet_schema() -> Any:
    import pyarrow as pa

    annotation = pa.struct(
        [
            ("labeller", pa.string()),
            ("label", pa.string()),
            ("time_spent_ms", pa.int64()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("source", pa.string()),
        ]
    )
    return pa.schema(
        [
            ("external_id", pa.string()),
            ("data", pa.string()),
            ("metadata", pa.string()),
            ("origin", pa.string()),
            ("import_batch", pa.int64()),
            ("parent", pa.string()),
            ("recipe", pa.string()),
            ("reference_label", pa.string()),
            ("reference_method", pa.string()),
            ("reference_confidence", pa.float64()),
            ("annotations", pa.list_(annotation)),
        ]
    )


def parquet_stream(chunks: Iterable[ExportChunk]) -> Iterator[bytes]:
    """Parquet with data and metadata as JSON text, annotations as a list of structs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    sink = _Drain()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for chunk in chunks:
            c = chunk.columns
            columns = {
                "external_id": c["external_id"],
                "data": c["data_json"],
                "metadata": c["metadata_json"],
                "origin": c["origin"],
                "import_batch": c["import_batch_id"],
                "parent": c["parent__external_id"],
                "recipe": c["recipe_json"],
                "reference_label": c["reference_label__name"],
                "reference_method": [m or None for m in c["reference_method"]],
                "reference_confidence": c["reference_confidence"],
                "annotations": [
                    [
                        {
                            "labeller": a["labeller__name"],
                            "label": a["label__name"],
                            "time_spent_ms": a["time_spent_ms"],
                            "created_at": a["created_at"],
                            "source": a["source"],
                        }
                        for a in annotations
                    ]
                    for annotations in c["annotations"]
                ],
            }
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            yield sink.take()
    yield sink.take()


def export_stream(
    fmt: str,
    chunks: Iterable[ExportChunk],
    *,
    data_fields: list[str],
    metadata_fields: list[str],
) -> Iterator[bytes]:
    if fmt == "csv":
        return csv_stream(chunks, data_fields, metadata_fields)
    if fmt == "jsonl":
        return jsonl_stream(chunks)
    if fmt == "parquet":
        return parquet_stream(chunks)
    if fmt == "label-studio":
        return label_studio_stream(chunks)
    raise ValueError(f"Unknown export format '{fmt}'.")
