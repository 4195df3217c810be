"""Importing files through the API: formats, shapes, provenance, and bad input."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labeling.models import Annotation, ImportBatch, Item, Label, LabelEvent, Labeller
from workbench.models import Job

CSV = (
    "id,text,source,device,length\n"
    "r1,Great phone,web,android,11\n"
    'r2,"Broke after a week, sadly",app,ios,25\n'
    "r3,It is a phone,email,,13\n"
)


def counts() -> dict[str, int]:
    return {
        "items": Item.objects.count(), "annotations": Annotation.objects.count(),
        "labels": Label.objects.count(), "batches": ImportBatch.objects.count(),
        "jobs": Job.objects.count(), "labellers": Labeller.objects.count(),
        "events": LabelEvent.objects.count(),
    }


def test_csv_items_keep_provenance_and_typed_metadata(dataset: Any, upload: Any, owner: Any) -> None:
    response = upload(dataset, "reviews.csv", CSV, source="App store scrape, May")
    assert response.status_code == 201, response.json()
    batch = ImportBatch.objects.get()
    assert batch.status == "succeeded"
    assert batch.sha256 == hashlib.sha256(CSV.encode()).hexdigest()
    assert (batch.file_name, batch.file_format, batch.uploaded_by, batch.source) == (
        "reviews.csv", "csv", owner, "App store scrape, May")
    assert (batch.row_count, batch.item_count) == (3, 3)
    items = {i.external_id: i for i in Item.objects.all()}
    assert items["r2"].data == {"text": "Broke after a week, sadly"}
    assert items["r2"].metadata == {"source": "app", "device": "ios", "length": 25}
    assert items["r3"].metadata == {"source": "email", "length": 13}  # empty cell: missing
    assert all(i.import_batch_id == batch.pk and i.origin == "imported" for i in items.values())
    assert response.json()["job"]["status"] == "succeeded"
    dataset.refresh_from_db()
    assert dataset.data_fields == ["text"]
    assert set(dataset.metadata_fields) == {"source", "device", "length"}
