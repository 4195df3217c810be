"""The REST API: datasets, members, items, annotations; object-level permissions."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Annotation, Dataset, Item, LabelEvent, Membership
from tests.conftest import PASSWORD, client_for

ITEMS = (
    "id,text,source,device,stars,worker,label\n"
    "1,Great,web,ios,5,W1,positive\n"
    "1,Great,web,ios,5,W2,positive\n"
    "2,Awful,app,android,1,W1,negative\n"
    "3,Fine,web,android,3,,\n"
    "4,Okay,store,ios,03,,\n"
)


@pytest.fixture
def items(dataset: Dataset, upload: Any) -> Dataset:
    assert upload(dataset, "items.csv", ITEMS).status_code == 201
    return dataset


def test_token_auth(owner: Any, client: Any) -> None:
    response = client.post("/api/v1/auth/token/", {"username": "owner", "password": PASSWORD})
    token = response.json()["token"]
    assert client.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert client.get("/api/v1/datasets/").status_code in (401, 403)
    bad = client.post("/api/v1/auth/token/", {"username": "owner", "password": "nope"})
    assert bad.status_code == 400


def test_create_dataset_with_labels_in_both_shapes(api: Any, owner: Any) -> None:
    response = api.post(
        "/api/v1/datasets/",
        {
            "name": "Birds",
            "description": "Bird or not",
            "annotators_per_item": 3,
            "guidelines": "Look for feathers.",
            "labels": ["bird", {"name": "not bird", "hotkey": "n", "description": "Anything else"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["labels"] == [
        {"name": "bird", "hotkey": "1", "description": ""},
        {"name": "not bird", "hotkey": "n", "description": "Anything else"},
    ]
    assert (body["annotators_per_item"], body["task_type"], body["role"]) == (
        3,
        "single_label",
        "owner",
    )
    assert Membership.objects.get(dataset_id=body["id"]).user == owner


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "labels": ["a", "a"]}, "labels"),
        (
            {"name": "x", "labels": [{"name": "a", "hotkey": "1"}, {"name": "b", "hotkey": "1"}]},
            "labels",
        ),
        ({"name": "x", "labels": [{"title": "a"}]}, "labels"),
        ({"name": "x", "annotators_per_item": 0}, "annotators_per_item"),
        ({"labels": ["a"]}, "name"),
        ({"name": "x", "task_type": "regression"}, "task_type"),
    ],
)
def test_bad_dataset_payloads(api: Any, payload: dict[str, Any], field: str) -> None:
    response = api.post("/api/v1/datasets/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Dataset.objects.exists()


def test_update_dataset(items: Dataset, api: Any, reviewer: Any) -> None:
    url = f"/api/v1/datasets/{items.pk}/"
    response = api.patch(
        url,
        {
            "guidelines": "New rules",
            "labels": ["positive", "negative", "neutral", {"name": "mixed", "hotkey": "m"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["guidelines_version"] == 2
    assert [x["name"] for x in response.json()["labels"]][-1] == "mixed"
    # A label in use can't be removed; nothing changes.
    response = api.patch(url, {"labels": ["negative", "neutral"], "guidelines": "x"}, format="json")
    assert response.status_code == 400
    assert "positive" in str(response.json())
    items.refresh_from_db()
    assert (items.guidelines, items.labels.count()) == ("New rules", 4)
    assert client_for(reviewer).patch(url, {"name": "mine"}, format="json").status_code == 403


def test_members(dataset: Dataset, api: Any, outsider: Any, annotator: Any) -> None:
    url = f"/api/v1/datasets/{dataset.pk}/members/"
    assert {m["username"]: m["role"] for m in api.get(url).json()} == {
        "owner": "owner",
        "reviewer": "reviewer",
        "annotator": "annotator",
    }
    assert (
        api.post(url, {"username": "outsider", "role": "annotator"}, format="json").status_code
        == 201
    )
    assert api.post(url, {"username": "ghost", "role": "annotator"}, format="json").json() == {
        "username": ["There is no user named 'ghost'."]
    }
    assert (
        api.post(url, {"username": "owner", "role": "reviewer"}, format="json").status_code == 400
    )  # the last owner stays
    assert (
        client_for(annotator)
        .post(url, {"username": "annotator", "role": "owner"}, format="json")
        .status_code
        == 403
    )
    member = Membership.objects.get(dataset=dataset, user=outsider)
    assert api.delete(f"{url}{member.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_outsiders_see_nothing(items: Dataset, outsider: Any) -> None:
    client = client_for(outsider)
    assert client.get("/api/v1/datasets/").json()["results"] == []
    for path in [
        "",
        "members/",
        "items/",
        "annotations/",
        "imports/",
        "jobs/",
        f"items/{Item.objects.first().pk}/",
    ]:
        assert client.get(f"/api/v1/datasets/{items.pk}/{path}").status_code == 404, path
    assert client.delete(f"/api/v1/datasets/{items.pk}/").status_code == 404
    assert Dataset.objects.filter(pk=items.pk).exists()


def test_item_list_filters_and_pagination(items: Dataset, api: Any) -> None:
    url = f"/api/v1/datasets/{items.pk}/items/"
    ids = lambda r: [x["external_id"] for x in r.json()["results"]]  # noqa: E731
    assert ids(api.get(url)) == ["1", "2", "3", "4"]
    assert ids(api.get(url, {"metadata.source": "web"})) == ["1", "3"]
    assert ids(api.get(url, {"metadata.stars": "5"})) == ["1"]  # typed numbers match
    assert ids(api.get(url, {"metadata.stars": "03"})) == ["4"]  # leading zero stayed text
    assert ids(api.get(url, {"metadata.source": "web", "metadata.device": "android"})) == ["3"]
    assert ids(api.get(url, {"labelled": "false"})) == ["3", "4"]
    assert ids(api.get(url, {"reference_label": "negative"})) == ["2"]
    assert api.get(url, {"metadata.bad field": "x"}).status_code == 400
    page = api.get(url, {"page_size": 3})
    assert ids(page) == ["1", "2", "3"]
    assert ids(api.get(page.json()["next"])) == ["4"]


def test_deep_page_is_one_keyset_query(items: Dataset, api: Any) -> None:
    last = Item.objects.get(external_id="2").pk
    cursor = base64.b64encode(f"p={last}".encode()).decode()
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(f"/api/v1/datasets/{items.pk}/items/", {"cursor": cursor})
    assert [x["external_id"] for x in response.json()["results"]] == ["3", "4"]
    item_queries = [q["sql"] for q in ctx.captured_queries if "labeling_item" in q["sql"]]
    assert len(item_queries) == 1
    sql = item_queries[0].upper()
    assert "OFFSET" not in sql
    # ordered along the (dataset, id) index, not the primary key
    assert '"DATASET_ID" >=' in sql and '"DATASET_ID" ASC, "LABELING_ITEM"."ID" ASC' in sql


def test_annotators_are_blind(items: Dataset, annotator: Any, reviewer: Any) -> None:
    client = client_for(annotator)
    item = client.get(f"/api/v1/datasets/{items.pk}/items/").json()["results"][0]
    assert "reference_label" not in item and "annotation_count" not in item
    detail = client.get(f"/api/v1/datasets/{items.pk}/items/{item['id']}/").json()
    assert "annotations" not in detail and "reference_label" not in detail
    assert client.get(f"/api/v1/datasets/{items.pk}/annotations/").json()["results"] == []
    # filters on others' answers are ignored for annotators
    assert (
        len(
            client.get(
                f"/api/v1/datasets/{items.pk}/items/", {"reference_label": "negative"}
            ).json()["results"]
        )
        == 4
    )
    staff = client_for(reviewer).get(f"/api/v1/datasets/{items.pk}/items/{item['id']}/").json()
    assert {a["labeller"] for a in staff["annotations"]} == {"W1", "W2"}


def test_submit_annotations(items: Dataset, annotator: Any) -> None:
    client = client_for(annotator)
    url = f"/api/v1/datasets/{items.pk}/annotations/"
    three = Item.objects.get(external_id="3").pk
    four = Item.objects.get(external_id="4").pk
    response = client.post(
        url, {"item": three, "label": "neutral", "time_spent_ms": 2100}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["labeller"] == "annotator"
    assert Item.objects.get(pk=three).reference_label.name == "neutral"
    # change the answer: one annotation, two events
    client.post(url, {"item": three, "label": "positive"}, format="json")
    assert Annotation.objects.filter(item_id=three).get().label.name == "positive"
    events = LabelEvent.objects.filter(item_id=three, actor=annotator).order_by("id")
    assert [(e.old_label, e.new_label) for e in events] == [
        ("", "neutral"),
        ("neutral", "positive"),
    ]
    # the same answer again (a retry) changes nothing
    client.post(url, {"item": three, "label": "positive"}, format="json")
    assert LabelEvent.objects.filter(item_id=three, actor=annotator).count() == 2
    # bulk
    response = client.post(
        url,
        [{"item": four, "label": "negative"}, {"item": three, "label": "neutral"}],
        format="json",
    )
    assert response.status_code == 201 and len(response.json()) == 2
    mine = client.get(url).json()["results"]
    assert {a["labeller"] for a in mine} == {"annotator"} and len(mine) == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"item": 999999, "label": "positive"}, "no item 999999"),
        ({"item": "ITEM", "label": "sarcastic"}, "unknown label 'sarcastic'"),
        ({"label": "positive"}, "required"),
        ([], "empty"),
    ],
)
def test_bad_annotations_change_nothing(
    items: Dataset, annotator: Any, payload: Any, message: str
) -> None:
    if isinstance(payload, dict) and payload.get("item") == "ITEM":
        payload["item"] = Item.objects.get(external_id="3").pk
    before = (Annotation.objects.count(), LabelEvent.objects.count())
    response = client_for(annotator).post(
        f"/api/v1/datasets/{items.pk}/annotations/", payload, format="json"
    )
    assert response.status_code == 400
    assert message in str(response.json())
    assert (Annotation.objects.count(), LabelEvent.objects.count()) == before


def test_bulk_annotations_are_all_or_nothing(items: Dataset, annotator: Any) -> None:
    three = Item.objects.get(external_id="3").pk
    response = client_for(annotator).post(
        f"/api/v1/datasets/{items.pk}/annotations/",
        [{"item": three, "label": "neutral"}, {"item": three + 1000, "label": "neutral"}],
        format="json",
    )
    assert response.status_code == 400
    assert "Entry 2" in str(response.json())
    assert not Annotation.objects.filter(item_id=three).exists()


def test_item_of_another_dataset_is_unknown(items: Dataset, owner: Any, api: Any) -> None:
    from labeling import services

    other = services.dataset_create(name="other", created_by=owner, labels=["positive"])
    item = Item.objects.filter(dataset=items).first()
    response = api.post(
        f"/api/v1/datasets/{other.pk}/annotations/",
        {"item": item.pk, "label": "positive"},
        format="json",
    )
    assert response.status_code == 400
    assert api.get(f"/api/v1/datasets/{other.pk}/items/{item.pk}/").status_code == 404


def test_delete_dataset(items: Dataset, api: Any, reviewer: Any) -> None:
    assert client_for(reviewer).delete(f"/api/v1/datasets/{items.pk}/").status_code == 403
    assert api.delete(f"/api/v1/datasets/{items.pk}/").status_code == 204
    assert not Item.objects.exists()


def test_openapi_schema_and_docs(api: Any, client: Any, owner: Any) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/datasets/",
        "/api/v1/datasets/{dataset_id}/imports/",
        "/api/v1/datasets/{dataset_id}/export/",
        "/api/v1/jobs/{job_id}/",
        "/api/v1/datasets/{dataset_id}/annotations/",
        "/api/v1/auth/token/",
    ]:
        assert path in paths, path
    client.force_login(owner)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert "script-src 'self'" in docs["Content-Security-Policy"]


def test_openapi_schema_is_valid_and_complete(tmp_path: Any) -> None:
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    assert "/api/v1/datasets/{dataset_id}/items/" in out.read_text()


def test_cursor_walks_forward_and_back(items: Dataset, api: Any) -> None:
    url = f"/api/v1/datasets/{items.pk}/items/"

    def ids(response: Any) -> list[str]:
        return [x["external_id"] for x in response.json()["results"]]

    first = api.get(url, {"page_size": 2})
    assert ids(first) == ["1", "2"] and first.json()["previous"] is None
    second = api.get(first.json()["next"])
    assert ids(second) == ["3", "4"] and second.json()["next"] is None
    back = api.get(second.json()["previous"])
    assert ids(back) == ["1", "2"] and back.json()["previous"] is None
    assert api.get(url, {"cursor": "not-a-cursor"}).status_code == 404
    assert api.get(url, {"page_size": "many"}).status_code == 400


def test_jobs_list_newest_first(dataset: Dataset, api: Any) -> None:
    from workbench.models import Job

    made = [Job.objects.create(kind="import", dataset=dataset).pk for _ in range(3)]
    listed = [j["id"] for j in api.get("/api/v1/jobs/", {"page_size": 2}).json()["results"]]
    assert listed == sorted(made, reverse=True)[:2]
