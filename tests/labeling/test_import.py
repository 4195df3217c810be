"""Importing files through the API: formats, shapes, provenance, and bad input."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labeling.models import Annotation, ImportBatch, Item, LabelEvent, Labeller
from tests.conftest import db_counts as counts
from workbench.models import Job

CSV = (
    "id,text,source,device,length\n"
    "r1,Great phone,web,android,11\n"
    'r2,"Broke after a week, sadly",app,ios,25\n'
    "r3,It is a phone,email,,13\n"
)


def test_csv_items_keep_provenance_and_typed_metadata(
    dataset: Any, upload: Any, owner: Any
) -> None:
    response = upload(dataset, "reviews.csv", CSV, source="App store scrape, May")
    assert response.status_code == 201, response.json()
    batch = ImportBatch.objects.get()
    assert batch.status == "succeeded"
    assert batch.sha256 == hashlib.sha256(CSV.encode()).hexdigest()
    assert (batch.file_name, batch.file_format, batch.uploaded_by, batch.source) == (
        "reviews.csv",
        "csv",
        owner,
        "App store scrape, May",
    )
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


def test_tsv_with_bom_and_long_format_keeps_crowd_labellers(dataset: Any, upload: Any) -> None:
    content = (
        "\ufeffitem\ttext\tworker_id\tlabel\n"
        "a\tLove it\tW1\tpositive\n"
        "a\tLove it\tW2\tpositive\n"
        "a\tLove it\tW3\tneutral\n"
        "b\tMeh\tW1\tneutral\n"
        "b\tMeh\tW2\tnegative\n"
    )
    response = upload(dataset, "crowd.tsv", content, mapping='{"external_id": "item"}')
    assert response.status_code == 201, response.json()
    assert Item.objects.count() == 2
    assert set(Labeller.objects.values_list("name", flat=True)) == {"W1", "W2", "W3"}
    a = Item.objects.get(external_id="a")
    assert (a.annotation_count, a.reference_label.name, a.reference_method) == (
        3,
        "positive",
        "majority_vote",
    )
    assert a.reference_confidence == pytest.approx(2 / 3)
    pairs = set(
        Annotation.objects.values_list("item__external_id", "labeller__name", "label__name")
    )
    assert ("b", "W2", "negative") in pairs and len(pairs) == 5
    assert LabelEvent.objects.filter(new_label="neutral").count() == 2


def test_annotations_for_existing_items(dataset: Any, upload: Any) -> None:
    assert upload(dataset, "items.csv", CSV).status_code == 201
    response = upload(dataset, "labels.csv", "id,labeller,label\nr1,W9,positive\nr3,W9,neutral\n")
    assert response.status_code == 201, response.json()
    assert Item.objects.count() == 3
    assert Item.objects.get(external_id="r1").reference_label.name == "positive"
    assert response.json()["import_batch"]["annotation_count"] == 2


def test_jsonl_and_item_rows_with_labels(dataset: Any, upload: Any) -> None:
    lines = [
        {
            "id": 1,
            "premise": "A man sleeps.",
            "hypothesis": "A person rests.",
            "label": "positive",
            "annotator": "ann-1",
            "split": "dev",
        },
        {
            "id": 2,
            "premise": "A cat sits.",
            "hypothesis": "A dog barks.",
            "label": "negative",
            "annotator": "ann-1",
            "split": "test",
        },
    ]
    content = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    response = upload(dataset, "nli.jsonl", content, format="jsonl")
    assert response.status_code == 201, response.json()
    item = Item.objects.get(external_id="1")
    assert item.data == {"premise": "A man sleeps.", "hypothesis": "A person rests."}
    assert item.metadata == {"split": "dev"}
    assert item.annotations.get().labeller.name == "ann-1"


def test_parquet(dataset: Any, upload: Any) -> None:
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "text": ["good", "bad"],
            "score": [0.9, 0.1],
            "label": ["positive", "negative"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    response = upload(dataset, "rows.parquet", sink.getvalue())
    assert response.status_code == 201, response.json()
    item = Item.objects.get(external_id="p1")
    assert item.metadata == {"score": 0.9}
    assert item.annotations.get().labeller.name == "imported"


LABEL_STUDIO = [
    {
        "id": 17,
        "data": {"text": "Battery lasts all day"},
        "annotations": [
            {
                "completed_by": 3,
                "lead_time": 4.5,
                "created_at": "2026-05-01T10:00:00Z",
                "result": [
                    {
                        "type": "choices",
                        "from_name": "sentiment",
                        "to_name": "text",
                        "value": {"choices": ["positive"]},
                    }
                ],
            },
            {
                "completed_by": {"id": 5, "email": "kim@example.com"},
                "result": [{"type": "choices", "value": {"choices": ["neutral"]}}],
            },
            {"completed_by": 8, "was_cancelled": True, "result": []},
        ],
        "predictions": [
            {
                "model_version": "v2",
                "score": 0.8,
                "result": [{"type": "choices", "value": {"choices": ["positive"]}}],
            }
        ],
    },
    {"id": 18, "data": {"text": "Screen cracked"}, "annotations": [], "predictions": []},
]


def test_label_studio_export(dataset: Any, upload: Any) -> None:
    response = upload(dataset, "project-1.json", orjson.dumps(LABEL_STUDIO))
    assert response.status_code == 201, response.json()
    item = Item.objects.get(external_id="17")
    rows = set(
        item.annotations.values_list("labeller__name", "label__name", "source", "time_spent_ms")
    )
    assert rows == {
        ("3", "positive", "imported", 4500),
        ("kim@example.com", "neutral", "imported", None),
        ("model:v2", "positive", "prelabel", None),
    }
    # Pre-labels are kept but are not labels: the reference comes from the two humans.
    assert item.annotation_count == 2
    assert Item.objects.get(external_id="18").annotation_count == 0


def test_new_dataset_takes_its_labels_from_the_first_import(
    owner: Any, api: Any, upload: Any
) -> None:
    response = api.post("/api/v1/datasets/", {"name": "Empty"}, format="json")
    from labeling.models import Dataset

    ds = Dataset.objects.get(pk=response.json()["id"])
    assert upload(ds, "x.csv", "id,text,label\n1,a,cat\n2,b,dog\n3,c,cat\n").status_code == 201
    assert list(ds.labels.values_list("name", "hotkey")) == [("cat", "1"), ("dog", "2")]


def test_large_file_imports_in_the_background(
    dataset: Any, upload: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES = 10
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(dataset, "reviews.csv", CSV)
    assert response.status_code == 202, response.json()
    assert response.json()["job"]["status"] == "queued"
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.item_count) == ("succeeded", 3)
    job = Job.objects.get()
    assert (job.status, job.progress, job.result["items"]) == ("succeeded", 1.0, 3)
    assert job.dataset_state["items"] == 0 and job.code_version


# --- Bad input: a clear 4xx naming the row and column, and nothing changes. -----------------

BAD_FILES = [
    ("ragged.csv", "id,text\n1,fine\n2,too,many\n", {}, 2, "fields"),
    ("quote.csv", 'id,text\n1,"never closed\n2,x\n', {}, 1, "unclosed quote"),
    ("latin1.csv", "id,text\n1,caf\xe9\n".encode("latin-1"), {}, 1, "not valid UTF-8"),
    ("empty.csv", "", {}, None, "empty"),
    ("header.csv", "id,text\n", {}, None, "no data rows"),
    ("unknown.csv", "id,text,label\n1,a,positive\n2,b,sarcastic\n", {}, 2, "Unknown label"),
    ("dups.csv", "id,text\n1,a\n2,b\n1,c\n", {}, 1, "appears 2 times"),
    ("mapping.csv", "id,text\n1,a\n", {"mapping": '{"data": ["body"]}'}, None, "'body'"),
    ("noid.csv", "id,text\n1,a\n,b\n", {}, 2, "item id) is empty"),
    ("list.json", '{"tasks": []}', {}, None, "list of objects"),
    ("scalars.json", "[1, 2]", {"format": "label-studio"}, 1, "JSON object"),
    ("fake.parquet", b"PAR1 this is not parquet", {}, None, "not a readable Parquet"),
    ("orphans.csv", "id,labeller,label\nnope,W1,positive\n", {}, 1, "no item with id 'nope'"),
    (
        "twice.csv",
        "id,text,worker,label\n1,a,W1,positive\n1,a,W1,negative\n",
        {},
        1,
        "more than once",
    ),
    ("bad.jsonl", '{"id": 1, "text": "a"}\n[1, 2]\n', {}, 2, "not a JSON object"),
    ("mapping-shape.csv", "id,text\n1,a\n", {"mapping": "[1]"}, None, "JSON object"),
    ("what.xlsx", "id,text\n1,a\n", {}, None, "Can't tell the format"),
    ("ids-only.csv", "id,source\n1,web\n", {"mapping": '{"data": []}'}, None, "no data columns"),
]


@pytest.mark.parametrize(
    ("name", "content", "fields", "row", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_bad_files_are_rejected_and_change_nothing(
    dataset: Any,
    upload: Any,
    name: str,
    content: Any,
    fields: dict[str, str],
    row: int | None,
    message: str,
) -> None:
    assert (
        upload(dataset, "seed.csv", "id,text,worker,label\nseed,x,W0,neutral\n").status_code == 201
    )
    before = counts()
    response = upload(dataset, name, content, **fields)
    assert response.status_code == 400, response.content
    body = response.json()
    assert message in str(body), body
    if row is not None:
        assert body["errors"][0]["row"] == row, body
        assert f"Row {row}" in body["detail"]
    assert counts() == before


def test_duplicate_ids_against_existing_items(dataset: Any, upload: Any) -> None:
    assert upload(dataset, "a.csv", CSV).status_code == 201
    before = counts()
    response = upload(dataset, "b.csv", "id,text\nr9,new\nr2,again\n")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 2, "column": "id", "message": "An item with id 'r2' already exists in the dataset."}
    ]
    assert counts() == before


def test_existing_annotation_is_not_overwritten_by_an_import(dataset: Any, upload: Any) -> None:
    assert upload(dataset, "a.csv", "id,text,worker,label\n1,a,W1,positive\n").status_code == 201
    before = counts()
    response = upload(dataset, "b.csv", "id,worker,label\n1,W1,negative\n")
    assert response.status_code == 400
    assert "already has an annotation by 'W1'" in response.json()["detail"]
    assert counts() == before


def test_file_over_the_size_limit(dataset: Any, upload: Any, settings: Any) -> None:
    settings.WORKBENCH_MAX_UPLOAD_BYTES = 100
    before = counts()
    response = upload(dataset, "big.csv", "id,text\n" + "1,aaaaaaaaaa\n" * 20)
    assert response.status_code == 400
    assert "the limit is" in str(response.json())
    huge = upload(dataset, "huge.csv", "id,text\n" + "1,aaaaaaaaaa\n" * 10_000)
    assert huge.status_code == 413
    assert "the limit is 0 MB" in huge.json()["detail"]
    assert counts() == before


def test_error_report_names_every_bad_row(dataset: Any, upload: Any) -> None:
    rows = "".join(f"{i},text,{'bogus' if i % 2 else 'positive'}\n" for i in range(1, 8))
    response = upload(dataset, "many.csv", "id,text,label\n" + rows)
    body = response.json()
    assert [e["row"] for e in body["errors"]] == [1, 3, 5, 7]
    assert {e["column"] for e in body["errors"]} == {"label"}
    assert "(4 problems in all)" in body["detail"]


def test_only_owners_import(dataset: Any, upload: Any, reviewer: Any, outsider: Any) -> None:
    from tests.conftest import client_for

    assert upload(dataset, "a.csv", CSV, client=client_for(reviewer)).status_code == 403
    assert upload(dataset, "a.csv", CSV, client=client_for(outsider)).status_code == 404
    assert Item.objects.count() == 0


def test_a_concurrent_import_of_the_same_ids_is_a_clear_error(
    dataset: Any, upload: Any, monkeypatch: Any
) -> None:
    from django.db import IntegrityError

    from labeling import services

    def collide(*args: Any, **kwargs: Any) -> None:
        # What the database says when another import committed the same ids first.
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "_import_write", collide)
    before = counts()
    response = upload(dataset, "a.csv", CSV)
    assert response.status_code == 400
    assert "Another import added some of these items" in response.json()["detail"]
    assert counts() == before
