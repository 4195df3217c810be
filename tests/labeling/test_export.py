"""Exports: every item with data, metadata, annotations and reference label; streamed; and
import → export → import gives the same dataset, in every format."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import services
from labeling.models import Dataset, Item
from tests.conftest import client_for

SOURCE = (
    "item,text,source,stars,worker,label,time_spent_ms\n"
    'a,"Love it, really",web,5,W1,positive,1200\n'
    'a,"Love it, really",web,5,W2,positive,900\n'
    'a,"Love it, really",web,5,W3,neutral,3000\n'
    "b,Meh,app,3,W1,neutral,800\n"
    "b,Meh,app,3,W2,negative,\n"
    'c,"Quote ""this"" and a\nnewline",email,1,,,\n'
)


def snapshot(dataset: Dataset) -> dict[str, Any]:
    """What makes two datasets the same: items with data, metadata, labels and reference."""
    out = {}
    for item in Item.objects.filter(dataset=dataset).select_related("reference_label"):
        out[item.external_id] = (
            item.data,
            item.metadata,
            item.reference_label and item.reference_label.name,
            item.reference_method,
            sorted(item.annotations.values_list("labeller__name", "label__name", "time_spent_ms")),
        )
    return out


@pytest.fixture
def source(dataset: Dataset, upload: Any) -> Dataset:
    response = upload(dataset, "src.csv", SOURCE, mapping='{"external_id": "item"}')
    assert response.status_code == 201, response.json()
    return dataset


def export(api: Any, dataset: Dataset, fmt: str) -> bytes:
    response = api.get(f"/api/v1/datasets/{dataset.pk}/export/?format={fmt}")
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


NAMES = {"csv": "x.csv", "jsonl": "x.jsonl", "parquet": "x.parquet", "label-studio": "x.json"}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "label-studio"])
def test_round_trip(fmt: str, source: Dataset, api: Any, upload: Any, owner: Any) -> None:
    content = export(api, source, fmt)
    copy = services.dataset_create(
        name="copy", created_by=owner, labels=["positive", "negative", "neutral"]
    )
    response = upload(copy, NAMES[fmt], content)
    assert response.status_code == 201, response.json()
    assert snapshot(copy) == snapshot(source)
    # ... and once more: the export of the copy equals the export of the source.
    again = export(api, copy, fmt)
    if fmt in ("csv", "jsonl"):
        assert _strip_batch(again, fmt) == _strip_batch(content, fmt)


def _strip_batch(content: bytes, fmt: str) -> list[Any]:
    if fmt == "jsonl":
        rows = [orjson.loads(line) for line in content.splitlines()]
        for row in rows:
            row.pop("import_batch")
            for ann in row["annotations"]:
                ann.pop("created_at")
        return rows
    import csv

    rows = list(csv.DictReader(io.StringIO(content.decode())))
    for row in rows:
        row.pop("import_batch")
        anns = orjson.loads(row.pop("annotations"))
        row["annotations"] = [{k: v for k, v in a.items() if k != "created_at"} for a in anns]
    return rows


def test_export_holds_everything(source: Dataset, api: Any) -> None:
    rows = {
        r["external_id"]: r for r in map(orjson.loads, export(api, source, "jsonl").splitlines())
    }
    a = rows["a"]
    assert a["data"] == {"text": "Love it, really"}
    assert a["metadata"] == {"source": "web", "stars": 5}
    assert (a["reference_label"], a["reference_method"]) == ("positive", "majority_vote")
    assert a["reference_confidence"] == pytest.approx(2 / 3)
    assert sorted((x["labeller"], x["label"], x["time_spent_ms"]) for x in a["annotations"]) == [
        ("W1", "positive", 1200),
        ("W2", "positive", 900),
        ("W3", "neutral", 3000),
    ]
    assert rows["c"]["annotations"] == [] and rows["c"]["reference_label"] is None
    assert rows["c"]["data"] == {"text": 'Quote "this" and a\nnewline'}


def test_parquet_columns(source: Dataset, api: Any) -> None:
    table = pq.read_table(io.BytesIO(export(api, source, "parquet")))
    assert table.num_rows == 3
    assert table.column_names[:3] == ["external_id", "data", "metadata"]
    first = table.to_pylist()[0]
    assert {x["labeller"] for x in first["annotations"]} == {"W1", "W2", "W3"}


def test_export_queries_do_not_grow_with_items(dataset: Dataset, upload: Any, api: Any) -> None:
    def queries(n: int) -> int:
        Item.objects.all().delete()
        rows = "".join(f"i{i},text {i},W1,positive\n" for i in range(n))
        assert upload(dataset, "x.csv", "id,text,worker,label\n" + rows).status_code == 201
        with CaptureQueriesContext(connection) as ctx:
            export(api, dataset, "jsonl")
        return len(ctx.captured_queries)

    assert queries(5) == queries(60)


def test_export_needs_owner_or_reviewer(
    source: Dataset, annotator: Any, outsider: Any, reviewer: Any
) -> None:
    url = f"/api/v1/datasets/{source.pk}/export/"
    assert client_for(annotator).get(url).status_code == 403  # labellers stay blind
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(reviewer).get(url).status_code == 200
    assert client_for(reviewer).get(url + "?format=xlsx").status_code == 400


def test_csv_export_escapes_cells_a_spreadsheet_would_run_as_formulas(
    dataset: Dataset, upload: Any, api: Any
) -> None:
    rows = [
        ("f1", '"=HYPERLINK(""http://evil.example"",""x"")"', "web"),
        ("f2", "+cmd|' /C calc'!A0", "@SUM(A1)"),
        ("f3", "-2+3", "-7"),
        ("f4", '"\tTab first"', "-0.5e3"),
        ("=f5", "plain text", "web"),
    ]
    body = "id,text,source\n" + "".join(",".join(r) + "\n" for r in rows)
    assert upload(dataset, "f.csv", body).status_code == 201
    import csv

    content = b"".join(
        api.get(f"/api/v1/datasets/{dataset.pk}/export/?format=csv").streaming_content
    )
    exported = {r["external_id"]: r for r in csv.DictReader(io.StringIO(content.decode()))}
    assert exported["f1"]["data.text"] == '\'=HYPERLINK("http://evil.example","x")'
    assert exported["f2"]["data.text"] == "'+cmd|' /C calc'!A0"
    assert exported["f2"]["metadata.source"] == "'@SUM(A1)"
    assert exported["f3"]["data.text"] == "'-2+3"
    assert exported["f4"]["data.text"] == "'\tTab first"
    assert "'=f5" in exported  # ids too
    # Plain numbers stay numbers.
    assert exported["f3"]["metadata.source"] == "-7"
    assert float(exported["f4"]["metadata.source"]) == -500.0
    for row in exported.values():
        for value in row.values():
            assert not value or value[0] not in "=+@\t\r", value
    # JSON lines keep the exact text.
    lines = b"".join(
        api.get(f"/api/v1/datasets/{dataset.pk}/export/?format=jsonl").streaming_content
    ).splitlines()
    texts = {orjson.loads(x)["external_id"]: orjson.loads(x)["data"]["text"] for x in lines}
    assert texts["f1"] == '=HYPERLINK("http://evil.example","x")'
