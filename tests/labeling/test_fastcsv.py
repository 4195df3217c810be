"""The vectorised CSV reader (PostgreSQL) gives the same dataset as the row-by-row reader, and
hands every file it can't read cleanly to the row-by-row reader, which names the problem."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from labeling import services
from labeling.models import Dataset, ImportBatch, Item

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the vectorised reader runs on PostgreSQL only"
)

TRICKY = [
    ("id", "data.text", "data.title", "source", "score", "zip", "note", "label"),
    ("a1", 'She said "hi", then left', "T1", "web", "12", "00123", "", "positive"),
    ("a2", "line one\nline two", "", "app", "-3.5", "10", "back\\slash", ""),
    ("a3", "tab\there \x01 ctrl and ünïcödé ✓", "T3", "", "1e5", "0", '{"json": 1}', "neutral"),
    ("a4", "  spaced  ", "T4", "store", ".5", "-0", "x", "negative"),
    ("a5", "", "T5", "web", "123456789012345678901", "1.50", "null", "positive"),
]


def _csv(rows: list[tuple[str, ...]], repeat: int = 1) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for r in range(repeat):
        for row in rows[1:]:
            writer.writerow([f"{row[0]}-{r}", *row[1:]])
    return out.getvalue()


def _snapshot(dataset: Dataset) -> dict[str, Any]:
    return {
        i.external_id: (
            i.data,
            i.metadata,
            i.content_hash,
            i.reference_label and i.reference_label.name,
            sorted(i.annotations.values_list("labeller__name", "label__name")),
        )
        for i in Item.objects.filter(dataset=dataset).select_related("reference_label")
    }


def _import(
    owner: Any, upload: Any, content: str, settings_fast: bool, monkeypatch: Any, **fields: Any
) -> tuple[Dataset, Any]:
    monkeypatch.setattr(services, "FAST_MIN_BYTES", 0 if settings_fast else 1 << 40)
    ds = services.dataset_create(
        name=f"fast={settings_fast}", created_by=owner, labels=["positive", "negative", "neutral"]
    )
    return ds, upload(ds, "tricky.csv", content, **fields)


def test_same_dataset_either_way(owner: Any, upload: Any, monkeypatch: Any) -> None:
    content = _csv(TRICKY, repeat=3)
    fast, r1 = _import(
        owner, upload, content, True, monkeypatch, default_metadata='{"campaign": "spring"}'
    )
    slow, r2 = _import(
        owner, upload, content, False, monkeypatch, default_metadata='{"campaign": "spring"}'
    )
    assert r1.status_code == r2.status_code == 201, (r1.json(), r2.json())
    assert ImportBatch.objects.get(dataset=fast).summary["reader"] == "vectorised"
    assert ImportBatch.objects.get(dataset=slow).summary["reader"] == "row-by-row"
    assert _snapshot(fast) == _snapshot(slow)
    item = Item.objects.get(dataset=fast, external_id="a1-0")
    assert item.data == {"text": 'She said "hi", then left', "title": "T1"}
    assert item.metadata == {"campaign": "spring", "source": "web", "score": 12, "zip": "00123"}
    a5 = Item.objects.get(dataset=fast, external_id="a5-2").metadata
    assert a5["score"] == "123456789012345678901" and a5["zip"] == 1.5
    for ds in (fast, slow):
        ds.refresh_from_db()
    assert set(fast.metadata_fields) == set(slow.metadata_fields)
    assert set(fast.data_fields) == set(slow.data_fields) == {"text", "title"}


def test_new_labels_in_order_of_first_use(owner: Any, upload: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(services, "FAST_MIN_BYTES", 0)
    ds = services.dataset_create(name="fresh", created_by=owner)
    rows = "id,text,label\n1,a,zebra\n2,b,\n3,c,ant\n4,d,zebra\n"
    assert upload(ds, "x.csv", rows).status_code == 201
    assert list(ds.labels.values_list("name", flat=True)) == ["zebra", "ant"]
    assert ImportBatch.objects.get(dataset=ds).summary["reader"] == "vectorised"


@pytest.mark.parametrize(
    ("content", "row", "message"),
    [
        ("id,text,label\n1,a,positive\n2,b,bogus\n", 2, "Unknown label 'bogus'"),
        ("id,text\n1,a\n2,b,c\n", 2, "fields"),
        ("id,text\n1,a\n,b\n", 2, "item id) is empty"),
        ("id,text\n1,a\n1,b\n", 1, "appears 2 times"),
        ("id,text\n1,a\n2,\n", 2, "an item needs data"),
    ],
)
def test_problems_fall_back_to_the_row_reader(
    owner: Any, upload: Any, monkeypatch: Any, content: str, row: int, message: str
) -> None:
    monkeypatch.setattr(services, "FAST_MIN_BYTES", 0)
    ds = services.dataset_create(name="bad", created_by=owner, labels=["positive"])
    response = upload(ds, "bad.csv", content)
    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == row
    assert message in response.json()["detail"]
    assert not Item.objects.filter(dataset=ds).exists()
