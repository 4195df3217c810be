"""Where drift and data-quality reports read field values from: a posted CSV, JSON lines or
Parquet file and a frozen version's JSON all give the same text values, kept in Arrow."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from quality.services import _file_frame
from workbench.field_values import TEXT, frame, json_texts

# Dates stay the text they were (Arrow alone would make them timestamps), booleans are
# true/false, nested values JSON, blanks missing.
RECORDS: list[dict[str, Any]] = [
    {"id": 1, "when": "2024-01-01T10:00:00Z", "ok": True, "score": 2.5, "tags": [1, "a"],
     "text": "Ünïcode\nline", "label": "pos"},
    {"id": 2, "when": "2024-02-29", "ok": False, "score": 3, "text": "", "label": None},
    {"id": 3, "when": None, "score": None, "tags": [], "text": "<b>x</b>", "label": "neg"},
]  # fmt: skip
EXPECTED = {
    "id": ["1", "2", "3"],
    "when": ["2024-01-01T10:00:00Z", "2024-02-29", None],
    "ok": ["true", "false", None],
    "score": ["2.5", "3", None],
    "tags": ['[1,"a"]', None, "[]"],
    "text": ["Ünïcode\nline", None, "<b>x</b>"],
    "__label": ["pos", None, "neg"],
}


def json_frame(texts: pa.ChunkedArray) -> pd.DataFrame:
    return frame(json_texts(texts), len(texts))


def assert_values(frame: pd.DataFrame, expected: dict[str, list[Any]]) -> None:
    assert sorted(frame.columns) == sorted(expected)
    assert all(frame[name].dtype == TEXT for name in frame.columns)
    got = {name: [None if pd.isna(v) else v for v in frame[name]] for name in frame.columns}
    assert got == expected


def stored(name: str, content: bytes) -> str:
    return default_storage.save(f"drift/{name}", ContentFile(content))


def test_a_posted_csv_is_text_and_a_blank_is_missing(db: None) -> None:
    frame = pd.DataFrame(EXPECTED).rename(columns={"__label": "label"})
    content = frame.to_csv(index=False).encode()

    assert_values(_file_frame(stored("batch.csv", content)), EXPECTED)


def test_posted_json_lines_keep_dates_as_text(db: None) -> None:
    content = b"\n".join(orjson.dumps(r) for r in RECORDS) + b"\n\n"

    assert_values(_file_frame(stored("batch.jsonl", content)), EXPECTED)


def test_posted_parquet_columns_become_text(db: None) -> None:
    table = pa.table(
        {
            "id": [1, 2, 3],
            "when": ["2024-01-01T10:00:00Z", "2024-02-29", None],
            "ok": [True, False, None],
            "score": [2.5, 3.0, None],
            "tags": ['[1,"a"]', None, "[]"],
            "text": ["Ünïcode\nline", "", "<b>x</b>"],
            "label": pd.Categorical(["pos", None, "neg"]),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)

    assert_values(_file_frame(stored("batch.parquet", buffer.getvalue())), EXPECTED)


def test_a_json_line_that_is_not_an_object_is_refused(db: None) -> None:
    path = stored("batch.jsonl", b'{"a": 1}\n{"a": "x"}\n[1, 2]\n')

    with pytest.raises(ValueError, match="line 3 is not a JSON object"):
        _file_frame(path)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_a_versions_json_texts_give_one_row_each(kind: pa.DataType) -> None:
    texts = [orjson.dumps({k: v for k, v in r.items() if k != "label"}).decode() for r in RECORDS]
    # Chunks that start inside their buffers (a slice), and an item without metadata (None).
    array = pa.array([*texts, None, '{"id": 4}'], type=kind)
    chunked = pa.chunked_array([array.slice(0, 2), array.slice(2, 3)])
    expected = {
        name: [*values, None, "4" if name == "id" else None]
        for name, values in EXPECTED.items()
        if name != "__label"
    }

    assert_values(json_frame(chunked), expected)


def test_a_field_that_changes_type_is_read_row_by_row() -> None:
    # Arrow refuses a column that is a number in one row and text in another.
    texts = pa.chunked_array([pa.array(['{"a": 1}', '{"a": "x", "b": true}', '{"a": [1]}'])])

    assert_values(json_frame(texts), {"a": ["1", "x", "[1]"], "b": [None, "true", None]})


def test_a_version_without_a_field_table_is_read_from_its_json_in_batches(
    db: None, monkeypatch: Any
) -> None:
    # A version frozen before field tables existed: its fields come from the frozen file's
    # JSON, a batch of rows at a time, the dataset's fields only (a data field wins).
    from types import SimpleNamespace

    import quality.services
    from workbench import field_values

    rows = {
        "data": ['{"text": "a"}', '{"text": "b"}', '{"text": "c"}', '{"text": "d"}', None],
        # "colour" first appears in the second batch, "text" is also a metadata field there.
        "metadata": ['{"n": 1}', "{}", '{"n": 2.5}', '{"text": "x", "colour": "red"}', '{"n": 3}'],
        "origin": ["imported", "imported", "augmented", "imported", "imported"],
        "reference_label": ["pos", None, "neg", "neg", "pos"],
    }
    buffer = io.BytesIO()
    pq.write_table(pa.table(rows), buffer, row_group_size=2)
    monkeypatch.setattr(field_values, "BATCH_ROWS", 2)
    name = stored("1.parquet", buffer.getvalue())
    version = SimpleNamespace(
        file=SimpleNamespace(name=name),
        data_fields=["text"],
        metadata_fields=["n", "text", "colour"],
        number=1,
    )

    got = quality.services._version_frame(version)

    assert list(got.columns) == ["text", "n", "colour", "__label"]
    assert_values(
        got,
        {
            "text": ["a", "b", "d", None],
            "n": ["1", None, None, "3"],
            "colour": [None, None, "red", None],
            "__label": ["pos", None, "neg", "pos"],
        },
    )
