"""Dataset versions: freezing through the jobs machinery, the digest, byte-identical exports of a
version after the live dataset moved on, comparing two versions, and who may see them."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.test import Client

from labeling import services
from labeling.models import Dataset, DatasetVersion, Item
from labeling.versions import version_freeze
from tests.conftest import client_for
from workbench import db
from workbench.models import Job

SOURCE = (
    "item,text,source,worker,label\n"
    "a,Love it,web,W1,positive\n"
    "a,Love it,web,W2,positive\n"
    "b,Meh,app,W1,neutral\n"
    "b,Meh,app,W2,neutral\n"
    "c,Awful,email,W1,negative\n"
    "d,No label yet,web,,\n"
)
MAPPING = json.dumps({"external_id": "item", "labeller": "worker", "label": "label"})
FORMATS = ["csv", "jsonl", "parquet", "label-studio"]


@pytest.fixture
def labelled(dataset: Dataset, upload: Any) -> Dataset:
    """Four items: a positive, b neutral, c negative (by their labels), d without labels."""
    response = upload(dataset, "src.csv", SOURCE, mapping=MAPPING)
    assert response.status_code == 201, response.json()
    return dataset


@pytest.fixture
def freeze(settings: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Freeze a version through the API, the job run eagerly; returns the finished job's JSON."""
    settings.CELERY_TASK_ALWAYS_EAGER = True

    def run(dataset: Dataset, client: Any, note: str = "") -> dict[str, Any]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/datasets/{dataset.pk}/versions/", {"note": note}, format="json"
            )
        assert response.status_code == 202, response.json()
        assert response.json()["job"]["kind"] == "freeze_version"
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()
        assert job["status"] == "succeeded", job
        return job

    return run


def get_bytes(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def decide(client: Any, dataset: Dataset, external_id: str, label: str, note: str) -> None:
    item = Item.objects.get(dataset=dataset, external_id=external_id)
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/decisions/",
        {"item": item.pk, "label": label, "note": note},
        format="json",
    )
    assert response.status_code == 201, response.json()


def digest_by_definition(dataset: Dataset) -> str:
    """The documented digest, computed straight from the tables."""
    rows = db.fetch_all(
        "SELECT i.external_id, CAST(i.data AS TEXT), CAST(i.metadata AS TEXT), i.origin, "
        "p.external_id, l.name FROM labeling_item i "
        "LEFT JOIN labeling_item p ON p.id = i.parent_id "
        "LEFT JOIN labeling_label l ON l.id = i.reference_label_id "
        "WHERE i.dataset_id = %s ORDER BY i.id",
        [dataset.pk],
    )
    text = "".join("\0".join(value or "" for value in row) + "\n" for row in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def test_freezing_runs_as_a_job_and_keeps_everything_about_the_version(
    labelled: Dataset, api: Any, owner: Any, freeze: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = freeze(labelled, api, note="Before the review round")
    assert job["result"]["version"] == 1
    version = api.get(f"/api/v1/datasets/{labelled.pk}/versions/1/").json()
    assert version["number"] == 1
    assert version["parent"] is None
    assert version["created_by"] == "owner"
    assert version["note"] == "Before the review round"
    assert version["job"] == job["id"]
    assert (version["items"], version["labelled_items"], version["annotations"]) == (4, 3, 5)
    assert version["label_distribution"] == [
        {"label": "positive", "items": 1},
        {"label": "negative", "items": 1},
        {"label": "neutral", "items": 1},
    ]
    assert version["digest"] == job["result"]["digest"] == digest_by_definition(labelled)
    assert version["dataset_state"]["items"] == 4
    assert version["dataset_state"]["annotations"] == 5
    assert version["quality"] == {"agreement": None, "label_issues": None, "slices": None}
    # The frozen file is in the default storage under its documented name, served as it is.
    name = f"datasets/{labelled.pk}/versions/1.parquet"
    assert default_storage.exists(name)
    with default_storage.open(name, "rb") as file:
        stored = file.read()
    served = get_bytes(api, version["file"])
    assert served == stored
    assert len(served) == version["file_size"]
    table = pq.read_table(io.BytesIO(served))
    assert table.column("external_id").to_pylist() == ["a", "b", "c", "d"]
    assert table.column("reference_label").to_pylist() == ["positive", "neutral", "negative", None]
    # The generic jobs endpoint starts the same kind; the list is newest first.
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/datasets/{labelled.pk}/jobs/",
            {"kind": "freeze_version", "params": {"note": "via jobs"}},
            format="json",
        )
    assert response.status_code == 202
    listed = api.get(f"/api/v1/datasets/{labelled.pk}/versions/").json()
    assert [v["number"] for v in listed] == [2, 1]
    assert listed[0]["parent"] == 1


def test_the_version_records_the_quality_figures_of_the_moment(
    labelled: Dataset, api: Any, owner: Any, freeze: Any
) -> None:
    Job.objects.create(
        kind="agreement",
        dataset=labelled,
        status=Job.Status.SUCCEEDED,
        result={
            "alpha": {"value": 0.61, "n_items": 3, "reason": None},
            "percent_agreement": {"value": 0.8, "n_items": 3, "reason": None},
        },
    )
    slices = Job.objects.create(
        kind="slices",
        dataset=labelled,
        status=Job.Status.SUCCEEDED,
        result={"rows": [{"slice": f"s{i}", "gap": 0.1} for i in range(8)]},
    )
    freeze(labelled, api)
    quality = DatasetVersion.objects.get(dataset=labelled).quality
    assert quality["agreement"]["alpha"] == 0.61
    assert quality["agreement"]["percent_agreement"] == 0.8
    assert quality["label_issues"] is None
    assert quality["slices"]["job"] == slices.pk
    assert [row["slice"] for row in quality["slices"]["rows"]] == ["s0", "s1", "s2", "s3", "s4"]


def test_the_digest_is_stable_and_follows_the_reference_labels(
    labelled: Dataset, api: Any, reviewer: Any, freeze: Any
) -> None:
    staff = client_for(reviewer)
    first = freeze(labelled, staff)["result"]
    again = freeze(labelled, staff)["result"]
    assert (first["version"], again["version"]) == (1, 2)
    assert first["digest"] == again["digest"]

    decide(staff, labelled, "b", "negative", "Faint praise")
    third = freeze(labelled, staff)["result"]
    assert third["version"] == 3
    assert third["digest"] != first["digest"]
    assert third["digest"] == digest_by_definition(labelled)
    assert api.get(f"/api/v1/datasets/{labelled.pk}/versions/3/").json()["parent"] == 2


def test_a_version_exports_the_same_bytes_after_the_dataset_moved_on(
    labelled: Dataset, api: Any, reviewer: Any, upload: Any, freeze: Any
) -> None:
    base = f"/api/v1/datasets/{labelled.pk}/export/"
    live_then = {fmt: get_bytes(api, f"{base}?format={fmt}") for fmt in FORMATS}
    freeze(labelled, api)
    before = {fmt: get_bytes(api, f"{base}?version=1&format={fmt}") for fmt in FORMATS}
    assert before["parquet"] == get_bytes(api, f"/api/v1/datasets/{labelled.pk}/versions/1/file/")
    # Re-rendered from the frozen file, CSV and JSONL are what the live export gave then.
    assert before["csv"] == live_then["csv"]
    assert before["jsonl"] == live_then["jsonl"]
    tasks = json.loads(before["label-studio"])
    assert [t["id"] for t in tasks] == [1, 2, 3, 4]  # positions in the version
    assert [t["meta"]["external_id"] for t in tasks] == ["a", "b", "c", "d"]

    decide(client_for(reviewer), labelled, "a", "neutral", "Sarcastic")
    more = "item,text,source,stars\ne,Brand new,app,4\n"
    assert upload(labelled, "more.csv", more, mapping='{"external_id": "item"}').status_code == 201

    after = {fmt: get_bytes(api, f"{base}?version=1&format={fmt}") for fmt in FORMATS}
    assert after == before
    live_now = get_bytes(api, f"{base}?format=csv")
    assert live_now != live_then["csv"]
    assert b"stars" in live_now.splitlines()[0]  # a new column, not in the version's CSV
    assert b"stars" not in after["csv"].splitlines()[0]
    # augmented=exclude still works on a version (nothing is augmented here).
    assert get_bytes(api, f"{base}?version=1&format=jsonl&augmented=exclude") == before["jsonl"]


def test_compare_lists_exactly_what_changed_with_who_and_why(
    labelled: Dataset, api: Any, reviewer: Any, upload: Any, freeze: Any
) -> None:
    freeze(labelled, api, note="v1")
    decide(client_for(reviewer), labelled, "b", "negative", "Faint praise is negative")
    more = "item,text,source\ne,Brand new,app\n"
    assert upload(labelled, "more.csv", more, mapping='{"external_id": "item"}').status_code == 201
    # No service edits or deletes items yet: change one's metadata and remove one directly.
    Item.objects.filter(dataset=labelled, external_id="a").update(metadata={"source": "email"})
    Item.objects.filter(dataset=labelled, external_id="c").delete()
    freeze(labelled, api, note="v2")

    response = api.get(f"/api/v1/datasets/{labelled.pk}/versions/compare/?a=1&b=2")
    assert response.status_code == 200, response.json()
    out = response.json()
    assert out["counts"] == {
        "added": 1,
        "removed": 1,
        "changed": 1,
        "labels_changed": 1,
        "in_both": 3,
    }
    assert out["added"] == [{"external_id": "e", "reference_label": None}]
    assert out["removed"] == [{"external_id": "c", "reference_label": "negative"}]
    assert out["changed"] == [
        {
            "external_id": "a",
            "changes": [{"field": "metadata.source", "a": "web", "b": "email"}],
        }
    ]
    [change] = out["labels_changed"]
    assert (change["external_id"], change["a"], change["b"]) == ("b", "neutral", "negative")
    assert change["item"] == Item.objects.get(dataset=labelled, external_id="b").pk
    [event] = change["events"]
    assert event["kind"] == "decision"
    assert (event["by"], event["from"], event["to"]) == ("reviewer", "neutral", "negative")
    assert event["reason"] == "Faint praise is negative"
    shift = {row["label"]: (row["a"], row["b"], row["shift"]) for row in out["distribution"]}
    assert shift == {
        "positive": (1, 1, 0),
        "negative": (1, 1, 0),  # c (negative) left, b became negative
        "neutral": (1, 0, -1),
        None: (1, 2, 1),  # d, and now e too
    }
    # The other way round, added and removed swap.
    back = api.get(f"/api/v1/datasets/{labelled.pk}/versions/compare/?a=2&b=1").json()
    assert back["added"] == [{"external_id": "c", "reference_label": "negative"}]
    assert back["removed"] == [{"external_id": "e", "reference_label": None}]
    assert back["labels_changed"][0]["events"][0]["reason"] == "Faint praise is negative"


def test_comparing_identical_versions_finds_nothing(
    labelled: Dataset, api: Any, freeze: Any
) -> None:
    freeze(labelled, api)
    freeze(labelled, api)
    out = api.get(f"/api/v1/datasets/{labelled.pk}/versions/compare/?a=1&b=2").json()
    assert out["counts"] == {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "labels_changed": 0,
        "in_both": 4,
    }
    assert out["a"]["digest"] == out["b"]["digest"]
    assert all(row["shift"] == 0 for row in out["distribution"])


def test_bad_input_gets_a_clear_answer(labelled: Dataset, api: Any, freeze: Any) -> None:
    freeze(labelled, api)
    base = f"/api/v1/datasets/{labelled.pk}"
    for url in (
        f"{base}/versions/9/",
        f"{base}/versions/9/file/",
        f"{base}/export/?version=9&format=csv",
        f"{base}/versions/compare/?a=1&b=9",
    ):
        response = api.get(url)
        assert response.status_code == 404, url
        assert "no version 9" in response.json()["detail"]
    response = api.get(f"{base}/export/?version=latest")
    assert response.status_code == 400
    assert response.json()["version"] == ["'latest' is not a version number."]
    response = api.get(f"{base}/versions/compare/?a=1&b=1")
    assert response.status_code == 400
    assert response.json()["b"] == ["Pick two different versions to compare."]
    response = api.get(f"{base}/versions/compare/?a=1")
    assert response.status_code == 400
    assert response.json() == {"b": ["Give a version number."]}
    response = api.post(f"{base}/versions/", {"note": "x" * 2001}, format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    response = api.post(
        f"{base}/jobs/", {"kind": "freeze_version", "params": {"nota": "typo"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["params"] == ["Unknown parameter(s): nota."]
    assert DatasetVersion.objects.filter(dataset=labelled).count() == 1


def test_an_empty_dataset_has_nothing_to_freeze(dataset: Dataset, api: Any) -> None:
    response = api.post(f"/api/v1/datasets/{dataset.pk}/versions/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["dataset"] == [
        "The dataset has no items yet: there is nothing to freeze."
    ]
    assert not Job.objects.filter(kind="freeze_version").exists()


def test_annotators_and_outsiders_see_no_versions(
    labelled: Dataset, api: Any, annotator: Any, outsider: Any, freeze: Any
) -> None:
    freeze(labelled, api)
    base = f"/api/v1/datasets/{labelled.pk}"
    urls = [
        f"{base}/versions/",
        f"{base}/versions/1/",
        f"{base}/versions/1/file/",
        f"{base}/versions/compare/?a=1&b=1",
        f"{base}/export/?version=1",
    ]
    for user, code in ((annotator, 403), (outsider, 404)):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == code, (user.username, url)
        assert client.post(f"{base}/versions/", {}, format="json").status_code == code
    pages = Client()
    pages.force_login(annotator)
    for url in ("versions/", "versions/1/", "versions/compare/?a=1&b=1"):
        assert pages.get(f"/datasets/{labelled.pk}/{url}").status_code == 403
    assert DatasetVersion.objects.filter(dataset=labelled).count() == 1


def test_the_pages_list_show_and_compare_versions(
    labelled: Dataset, api: Any, reviewer: Any, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    settings.CELERY_TASK_ALWAYS_EAGER = True
    pages = Client()
    pages.force_login(reviewer)
    url = f"/datasets/{labelled.pk}/versions/"
    assert "No versions yet" in pages.get(url).content.decode()
    for note in ("first", "second"):
        with django_capture_on_commit_callbacks(execute=True):
            response = pages.post(url, {"note": note})
        assert response.status_code == 302
    html = pages.get(url).content.decode()
    assert "Freezing a new version: job #" in html
    assert ">second</td>" in html
    assert f'href="/datasets/{labelled.pk}/versions/compare/?a=1&amp;b=2"' in html
    version = DatasetVersion.objects.get(dataset=labelled, number=2)
    assert version.digest[:12] in html
    detail = pages.get(f"{url}2/").content.decode()
    assert version.digest in detail
    assert "No agreement job had run." in detail
    compare = pages.get(f"{url}compare/")  # the newest two by default
    assert compare.status_code == 200
    assert "No reference label changed." in compare.content.decode()
    same = pages.get(f"{url}compare/?a=2&b=2")
    assert same.status_code == 400
    assert "Pick two different versions to compare." in same.content.decode()
    assert pages.get(f"{url}compare/?a=1&b=7").status_code == 404
    assert pages.get(f"{url}7/").status_code == 404
    assert f'href="{url}"' in pages.get(f"/datasets/{labelled.pk}/").content.decode()


def test_a_retried_freeze_job_makes_no_second_version(labelled: Dataset, owner: Any) -> None:
    job = Job.objects.create(kind="freeze_version", dataset=labelled, params={"note": ""})
    first = version_freeze(dataset=labelled, job_id=job.pk, created_by_id=owner.pk)
    again = version_freeze(dataset=labelled, job_id=job.pk, created_by_id=owner.pk)
    assert again.pk == first.pk
    assert DatasetVersion.objects.filter(dataset=labelled).count() == 1


def test_deleting_a_dataset_deletes_its_versions_and_stored_files(
    labelled: Dataset, owner: Any
) -> None:
    from django.core.files.base import ContentFile

    from labeling import images
    from quality.models import ModelRun

    frozen = [version_freeze(dataset=labelled).file.name for _ in range(2)]
    job = Job.objects.create(kind="slices", dataset=labelled)
    others = [
        default_storage.save(f"drift/{labelled.pk}/posted.csv", ContentFile(b"a\n1\n")),
        default_storage.save(f"jobs/{job.pk}/slices.npz", ContentFile(b"x")),
    ]
    kept = default_storage.save(f"drift/{labelled.pk + 1}/posted.csv", ContentFile(b"a\n1\n"))
    run = ModelRun.objects.create(dataset=labelled, name="resnet")
    run.features.save("features.npy", ContentFile(b"x"))
    features = run.features.storage, run.features.name
    assert all(default_storage.exists(name) for name in [*frozen, *others])
    assert features[0].exists(features[1])

    services.dataset_delete(dataset=labelled)

    assert not DatasetVersion.objects.exists()
    assert not any(default_storage.exists(name) for name in [*frozen, *others])
    assert not features[0].exists(features[1])  # a model run's features, in the quality app
    assert list(images.stored_files(images.dataset_prefix(labelled.pk))) == []
    assert default_storage.exists(kept)  # another dataset's


@pytest.mark.django_db(transaction=True)
def test_freezing_outside_a_transaction_reads_one_snapshot(labelled: Dataset, owner: Any) -> None:
    """Outside a transaction (a worker) PostgreSQL freezes from a REPEATABLE READ snapshot on a
    second connection; the version is the same as one read inline."""
    version = version_freeze(dataset=labelled, note="from a worker", created_by_id=owner.pk)
    assert (version.number, version.item_count, version.annotation_count) == (1, 4, 5)
    assert version.digest == digest_by_definition(labelled)
    assert version.dataset_state["items"] == 4
    table = pq.read_table(io.BytesIO(default_storage.open(version.file.name, "rb").read()))
    assert table.num_rows == 4


def test_a_frozen_version_keeps_its_field_table_beside_its_file(labelled: Dataset) -> None:
    from labeling.versions import version_fields, version_fields_name

    version = version_freeze(dataset=labelled)
    name = version_fields_name(version.file.name)
    assert name == f"datasets/{labelled.pk}/versions/1.fields.parquet"
    assert default_storage.exists(name)

    table = version_fields(version=version)
    assert table.column_names == ["text", "source", "__origin", "__label"]
    assert table.to_pydict() == {
        "text": ["Love it", "Meh", "Awful", "No label yet"],
        "source": ["web", "app", "email", "web"],
        "__origin": ["imported"] * 4,
        "__label": ["positive", "neutral", "negative", None],
    }
    # Without the table (a version frozen before there were any) the same from the JSON.
    default_storage.delete(name)
    assert version_fields(version=version).equals(table)
