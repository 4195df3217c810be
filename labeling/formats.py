"""Reading import files into item records, streamed. No Django here.

Every reader yields ``Record``s: one item (external id, data, metadata) with the annotations the
row carries. Problems are reported as ``RowError``s naming the row (1-based, the header not
counted; for JSON, the position in the list) and the column. Problems that stop the reading
(not UTF-8, an unclosed quote, not Parquet at all) raise ``FileProblem``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

FORMATS = ("csv", "tsv", "jsonl", "parquet", "label-studio", "json", "zip")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".json": "json",
    ".zip": "zip",
}
MAPPING_KEYS = {
    "external_id",
    "data",
    "metadata",
    "label",
    "labeller",
    "time_spent_ms",
    "annotations",
    "default_labeller",
    "shape",
}
SHAPES = ("auto", "items", "annotations")

# Default column names, in order of preference, when the mapping leaves a role out.
ID_COLUMNS = ("external_id", "id", "item_id", "orig_id", "uid", "key")
LABEL_COLUMNS = ("label", "response", "answer", "class", "category")
LABELLER_COLUMNS = (
    "labeller",
    "labeler",
    "annotator",
    "worker",
    "worker_id",
    "workerid",
    "annotator_id",
    "!amt_worker_ids",
)
DATA_COLUMNS = (
    "text",
    "sentence",
    "premise",
    "hypothesis",
    "question",
    "title",
    "body",
    "content",
    "review",
    "document",
    "image",
    "image_url",
    "url",
)
# Columns our own exports add that are derived, not data: ignored when importing an export.
DERIVED_COLUMNS = (
    "reference_label",
    "reference_method",
    "reference_confidence",
    "origin",
    "import_batch",
    "parent",
    "recipe",
    "item_id_in_source",
    "created_at",
    "annotation_count",
)
DEFAULT_LABELLER = "imported"
MAX_ROW_ERRORS = 100


class FileProblem(Exception):
    """The file can't be read at all; ``row``/``column`` say where, when known."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class RowError:
    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class AnnotationRecord:
    labeller: str
    label: str
    source: str = "imported"
    time_spent_ms: int | None = None
    created_at: datetime | None = None


@dataclass
class Record:
    row: int
    external_id: str
    data: dict[str, Any] | None  # None: the row refers to an item, it does not describe one
    metadata: dict[str, Any] = field(default_factory=dict)
    annotations: list[AnnotationRecord] = field(default_factory=list)


def sniff_format(file_name: str, declared: str | None) -> str:
    """The file's format: as declared, else from its name's suffix."""
    if declared:
        declared = declared.strip().lower().replace("_", "-")
        if declared in ("labelstudio", "ls"):
            declared = "label-studio"
        if declared not in FORMATS:
            raise FileProblem(
                f"Unknown format '{declared}'. Use one of: csv, tsv, jsonl, parquet, label-studio, "
                "zip (images)."
            )
        return declared
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise FileProblem(
            f"Can't tell the format of '{file_name}' from its name; give format=csv, tsv, jsonl, "
            "parquet, label-studio or zip."
        )
    return SUFFIX_FORMATS[suffix]


def check_mapping(mapping: Any) -> dict[str, Any]:
    """Validate a mapping's shape (not yet against the file's columns)."""
    if mapping in (None, ""):
        return {}
    if not isinstance(mapping, dict):
        raise FileProblem('The mapping must be a JSON object, e.g. {"external_id": "id"}.')
    unknown = set(mapping) - MAPPING_KEYS
    if unknown:
        raise FileProblem(
            f"Unknown mapping key(s): {', '.join(sorted(unknown))}. "
            f"Known: {', '.join(sorted(MAPPING_KEYS))}."
        )
    for key in ("data", "metadata"):
        value = mapping.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise FileProblem(f"mapping.{key} must be a list of column names.")
    for key in (
        "external_id",
        "label",
        "labeller",
        "time_spent_ms",
        "annotations",
        "default_labeller",
    ):
        value = mapping.get(key)
        if value is not None and not isinstance(value, str):
            raise FileProblem(f"mapping.{key} must be a column name (a string).")
    if mapping.get("shape", "auto") not in SHAPES:
        raise FileProblem(f"mapping.shape must be one of: {', '.join(SHAPES)}.")
    return dict(mapping)


# ---------------------------------------------------------------------------------------------
# Raw rows: (row number, {column: value}) from tabular files.


def _csv_rows(
    path: Path, delimiter: str, result: ReadResult
) -> Iterator[tuple[int, dict[str, Any]]]:
    # utf-8-sig drops a byte-order mark; errors="strict" turns Latin-1 bytes into a clear error.
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        row_no = 0
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise FileProblem("The file is empty: expected a header row and data rows.")
            header = [h.strip() for h in header]
            if "" in header:
                raise FileProblem(
                    f"Column {header.index('') + 1} of the header has no name.", row=0
                )
            duplicates = sorted({h for h in header if header.count(h) > 1})
            if duplicates:
                raise FileProblem(
                    f"The header repeats column name(s): {', '.join(duplicates)}.", row=0
                )
            width = len(header)
            size = max(path.stat().st_size, 1)
            for values in reader:
                if not values or (len(values) == 1 and not values[0].strip() and width > 1):
                    continue  # a blank line is not a row
                row_no += 1
                if row_no % 10_000 == 0:
                    result.fraction = raw.tell() / size
                if len(values) != width:
                    yield (
                        row_no,
                        {"__error__": f"Row has {len(values)} fields; the header has {width}."},
                    )
                    continue
                yield row_no, dict(zip(header, values, strict=True))
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"The file is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} near row "
                f"{row_no + 1}). Save it as UTF-8 and import it again.",
                row=row_no + 1,
            ) from exc
        except csv.Error as exc:
            raise FileProblem(
                f"Malformed CSV near row {row_no + 1}: {exc} (an unclosed quote?).",
                row=row_no + 1,
            ) from exc
        if row_no == 0:
            raise FileProblem("The file has a header but no data rows.")


def _jsonl_rows(path: Path, result: ReadResult) -> Iterator[tuple[int, dict[str, Any]]]:
    row_no = 0
    size = max(path.stat().st_size, 1)
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row_no += 1
            if row_no % 10_000 == 0:
                result.fraction = fh.tell() / size
            if line_no == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield row_no, {"__error__": f"Line {line_no} is not valid JSON: {exc}."}
                continue
            if not isinstance(value, dict):
                yield row_no, {"__error__": f"Line {line_no} is not a JSON object."}
                continue
            yield row_no, value
    if row_no == 0:
        raise FileProblem("The file is empty: expected one JSON object per line.")


def _parquet_rows(
    path: Path, batch_size: int, result: ReadResult
) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileProblem(f"This is not a readable Parquet file: {exc}.") from exc
    row_no = 0
    total = max(parquet.metadata.num_rows, 1)
    for batch in parquet.iter_batches(batch_size=batch_size):
        result.fraction = row_no / total
        for values in batch.to_pylist():
            row_no += 1
            yield row_no, values
    if row_no == 0:
        raise FileProblem("The Parquet file has no rows.")


def _json_list(path: Path) -> list[Any]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise FileProblem("The file is empty: expected a JSON list of objects.")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FileProblem(f"The file is not valid JSON: {exc}.") from exc
    if not isinstance(value, list):
        raise FileProblem(
            f"The JSON file must hold a list of objects (tasks), not a {type(value).__name__}."
        )
    if not value:
        raise FileProblem("The JSON list is empty.")
    return value


def looks_like_label_studio(value: list[Any]) -> bool:
    first = value[0]
    return (
        isinstance(first, dict)
        and isinstance(first.get("data"), dict)
        and ("annotations" in first or "predictions" in first or "id" in first)
    )


# ---------------------------------------------------------------------------------------------
# Mapping raw rows to records.


def _pick(
    columns: list[str], given: str | None, candidates: tuple[str, ...], role: str
) -> str | None:
    if given is not None:
        if given not in columns:
            raise FileProblem(
                f"The mapping names {role} column '{given}', which the file does not have. "
                f"Columns: {', '.join(columns)}.",
                column=given,
            )
        return given
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    return None


@dataclass(frozen=True)
class ResolvedMapping:
    external_id: str | None
    data: tuple[str, ...]
    metadata: tuple[str, ...]
    label: str | None
    labeller: str | None
    time_spent_ms: str | None
    annotations: str | None
    default_labeller: str
    shape: str  # items | annotations

    def as_dict(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "data": list(self.data),
            "metadata": list(self.metadata),
            "label": self.label,
            "labeller": self.labeller,
            "time_spent_ms": self.time_spent_ms,
            "annotations": self.annotations,
            "default_labeller": self.default_labeller,
            "shape": self.shape,
        }


def resolve_mapping(columns: list[str], mapping: dict[str, Any]) -> ResolvedMapping:
    """Decide which column plays which role; defaults for whatever the mapping leaves out."""
    for key in ("data", "metadata"):
        for col in mapping.get(key) or []:
            if col not in columns:
                raise FileProblem(
                    f"The mapping names {key} column '{col}', which the file does not have. "
                    f"Columns: {', '.join(columns)}.",
                    column=col,
                )
    external_id = _pick(columns, mapping.get("external_id"), ID_COLUMNS, "external_id")
    label = _pick(columns, mapping.get("label"), LABEL_COLUMNS, "label")
    labeller = _pick(columns, mapping.get("labeller"), LABELLER_COLUMNS, "labeller")
    time_spent = _pick(columns, mapping.get("time_spent_ms"), ("time_spent_ms",), "time")
    annotations = _pick(columns, mapping.get("annotations"), ("annotations",), "annotations")
    used = {c for c in (external_id, label, labeller, time_spent, annotations) if c}
    rest = [c for c in columns if c not in used and c not in DERIVED_COLUMNS]
    if mapping.get("data") is not None:
        data = list(mapping["data"])
    elif any(c == "data" or c.startswith("data.") for c in rest):
        data = [c for c in rest if c == "data" or c.startswith("data.")]
    else:
        named = [c for c in rest if c.lower() in DATA_COLUMNS]
        data = named or [c for c in rest if not (c == "metadata" or c.startswith("metadata."))]
    if mapping.get("metadata") is not None:
        metadata = list(mapping["metadata"])
    else:
        metadata = [c for c in rest if c not in data]
    shape = mapping.get("shape", "auto")
    if shape == "auto":
        shape = "annotations" if labeller else "items"
    if shape == "items" and not data:
        raise FileProblem(
            "The file has no data columns (the text, image or fields to label). Name them in "
            f"mapping.data. Columns: {', '.join(columns)}."
        )
    if shape == "annotations" and external_id is None:
        raise FileProblem(
            "One row per annotation needs an item id column: name it in mapping.external_id. "
            f"Columns: {', '.join(columns)}."
        )
    return ResolvedMapping(
        external_id=external_id,
        data=tuple(data),
        metadata=tuple(metadata),
        label=label,
        labeller=labeller,
        time_spent_ms=time_spent,
        annotations=annotations,
        default_labeller=mapping.get("default_labeller") or DEFAULT_LABELLER,
        shape=shape,
    )


_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+([eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")


def infer_scalar(value: str) -> Any:
    """A CSV cell as a number where it is a JSON number (no leading zeros, at most 18 digits for
    an integer), else the string."""
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


def _as_dict(value: Any, column: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"Column '{column}' is not a valid JSON object: {exc}.") from exc
        if isinstance(parsed, dict):
            return parsed
    if value in (None, ""):
        return {}
    raise ValueError(f"Column '{column}' must hold a JSON object.")


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not an ISO 8601 time.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_ms(value: Any, column: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        ms = int(float(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Column '{column}' must be a whole number of milliseconds.") from exc
    if ms < 0:
        raise ValueError(f"Column '{column}' must not be negative.")
    return ms


def _annotation_list(value: Any, column: str) -> list[AnnotationRecord]:
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"Column '{column}' is not valid JSON: {exc}.") from exc
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"Column '{column}' must hold a list of annotations.")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not entry.get("label") or not entry.get("labeller"):
            raise ValueError(
                f"Column '{column}': every annotation needs a 'labeller' and a 'label'."
            )
        out.append(
            AnnotationRecord(
                labeller=str(entry["labeller"]),
                label=str(entry["label"]),
                source=str(entry.get("source") or "imported"),
                time_spent_ms=_parse_ms(entry.get("time_spent_ms"), column),
                created_at=_parse_time(entry.get("created_at")),
            )
        )
    return out


def row_to_record(
    row_no: int, values: dict[str, Any], mapping: ResolvedMapping, *, from_csv: bool
) -> Record:
    """Apply the mapping to one raw row; raises ValueError with a message naming the column."""
    if mapping.external_id:
        raw_id = values.get(mapping.external_id)
        if raw_id is None or str(raw_id).strip() == "":
            raise ValueError(f"Column '{mapping.external_id}' (the item id) is empty.")
        external_id = str(raw_id).strip()
        if len(external_id) > 255:
            raise ValueError(f"Column '{mapping.external_id}': ids are at most 255 characters.")
    else:
        external_id = ""  # assigned from the row number by the caller
    data: dict[str, Any] = {}
    for col in mapping.data:
        value = values.get(col)
        if col == "data":
            data.update(_as_dict(value, col))
        else:
            key = col.removeprefix("data.")
            if value is None or (from_csv and value == "" and col.startswith("data.")):
                continue
            data[key] = value
    metadata: dict[str, Any] = {}
    for col in mapping.metadata:
        value = values.get(col)
        if col == "metadata":
            metadata.update(_as_dict(value, col))
            continue
        if value is None or value == "":
            continue  # a missing value: the key stays absent
        metadata[col.removeprefix("metadata.")] = (
            infer_scalar(value) if from_csv and isinstance(value, str) else value
        )
    annotations: list[AnnotationRecord] = []
    if mapping.annotations:
        annotations.extend(_annotation_list(values.get(mapping.annotations), mapping.annotations))
    if mapping.label:
        label = values.get(mapping.label)
        if label is not None and str(label).strip() != "":
            labeller = values.get(mapping.labeller) if mapping.labeller else None
            if mapping.labeller and (labeller is None or str(labeller).strip() == ""):
                raise ValueError(f"Column '{mapping.labeller}' (the labeller) is empty.")
            annotations.append(
                AnnotationRecord(
                    labeller=str(labeller).strip() if labeller else mapping.default_labeller,
                    label=str(label).strip(),
                    time_spent_ms=(
                        _parse_ms(values.get(mapping.time_spent_ms), mapping.time_spent_ms)
                        if mapping.time_spent_ms
                        else None
                    ),
                )
            )
    has_data = bool(mapping.data) and (
        bool(data) or any(values.get(c) not in (None, "") for c in mapping.data)
    )
    if mapping.shape == "items":
        if mapping.data and all(v in ("", None) for v in data.values()):
            raise ValueError(
                f"The data column(s) {', '.join(mapping.data)} are empty: an item needs data."
            )
        return Record(
            row=row_no,
            external_id=external_id,
            data=data,
            metadata=metadata,
            annotations=annotations,
        )
    return Record(
        row=row_no,
        external_id=external_id,
        data=data if has_data else None,
        metadata=metadata,
        annotations=annotations,
    )


# ---------------------------------------------------------------------------------------------
# Label Studio JSON export: a list of tasks.


def _ls_labeller(completed_by: Any) -> str:
    if isinstance(completed_by, dict):
        return str(
            completed_by.get("email")
            or completed_by.get("username")
            or completed_by.get("id")
            or ""
        )
    return "" if completed_by is None else str(completed_by)


def _ls_choice(results: Any) -> str | None:
    for result in results or []:
        value = result.get("value") if isinstance(result, dict) else None
        if isinstance(value, dict) and value.get("choices"):
            return str(value["choices"][0])
    return None


def task_to_record(row_no: int, task: Any) -> Record:
    """One Label Studio task → a record; raises ValueError naming what is wrong."""
    if not isinstance(task, dict):
        raise ValueError("Each task must be a JSON object.")
    data = task.get("data")
    if not isinstance(data, dict) or not data:
        raise ValueError("The task has no 'data' object.")
    meta = dict(task.get("meta") or {}) if isinstance(task.get("meta"), dict) else {}
    external_id = meta.pop("external_id", None) or task.get("id")
    external_id = str(external_id) if external_id not in (None, "") else str(row_no)
    annotations = []
    for ann in task.get("annotations") or []:
        if not isinstance(ann, dict) or ann.get("was_cancelled"):
            continue
        labeller = _ls_labeller(ann.get("completed_by"))
        choice = _ls_choice(ann.get("result"))
        if not labeller:
            raise ValueError("An annotation has no 'completed_by'.")
        if choice is None:
            raise ValueError(
                f"The annotation by {labeller} has no 'choices' result (only single-label "
                "classification is supported)."
            )
        lead = ann.get("lead_time")
        annotations.append(
            AnnotationRecord(
                labeller=labeller,
                label=choice,
                source="imported",
                time_spent_ms=int(float(lead) * 1000) if lead not in (None, "") else None,
                created_at=_parse_time(ann.get("created_at")),
            )
        )
    for pred in task.get("predictions") or []:
        if not isinstance(pred, dict):
            continue
        choice = _ls_choice(pred.get("result"))
        if choice is not None:
            annotations.append(
                AnnotationRecord(
                    labeller=f"model:{pred.get('model_version') or 'unknown'}",
                    label=choice,
                    source="prelabel",
                    created_at=_parse_time(pred.get("created_at")),
                )
            )
    return Record(
        row=row_no, external_id=external_id, data=data, metadata=meta, annotations=annotations
    )


# ---------------------------------------------------------------------------------------------
# The entry point.


@dataclass
class ReadResult:
    """What reading the whole file found, besides the records it yielded."""

    mapping: ResolvedMapping | None = None
    rows: int = 0
    fraction: float = 0.0  # how much of the file has been read, for progress


def read_records(
    path: Path,
    file_format: str,
    mapping: dict[str, Any],
    result: ReadResult,
    *,
    batch_size: int = 5000,
) -> Iterator[Record | RowError]:
    """Yield a record (or a row error) per row of the file, streamed where the format allows."""
    if file_format in ("json", "label-studio"):
        tasks = _json_list(path)
        if file_format == "label-studio" or looks_like_label_studio(tasks):
            for row_no, task in enumerate(tasks, start=1):
                result.rows = row_no
                result.fraction = row_no / len(tasks)
                try:
                    yield task_to_record(row_no, task)
                except ValueError as exc:
                    yield RowError(row_no, None, str(exc))
            return
        raw: Iterator[tuple[int, dict[str, Any]]] = (
            (i, t if isinstance(t, dict) else {"__error__": "Each entry must be a JSON object."})
            for i, t in enumerate(tasks, start=1)
        )
    elif file_format in ("csv", "tsv"):
        raw = _csv_rows(path, "\t" if file_format == "tsv" else ",", result)
    elif file_format == "jsonl":
        raw = _jsonl_rows(path, result)
    elif file_format == "parquet":
        raw = _parquet_rows(path, batch_size, result)
    else:  # pragma: no cover - sniff_format guards this
        raise FileProblem(f"Unknown format '{file_format}'.")
    from_csv = file_format in ("csv", "tsv")
    resolved: ResolvedMapping | None = None
    for row_no, values in raw:
        result.rows = row_no
        if "__error__" in values:
            yield RowError(row_no, None, values["__error__"])
            continue
        if resolved is None:
            resolved = resolve_mapping(list(values), mapping)
            result.mapping = resolved
        try:
            record = row_to_record(row_no, values, resolved, from_csv=from_csv)
        except ValueError as exc:
            yield RowError(row_no, _column_of(str(exc)), str(exc))
            continue
        if not record.external_id:
            record.external_id = str(row_no)
        yield record


def _column_of(message: str) -> str | None:
    match = re.search(r"[Cc]olumn '([^']+)'", message)
    return match.group(1) if match else None
