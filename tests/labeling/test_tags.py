"""Error tags: reviewers tag items with reasons; all-or-nothing, staff only, filterable."""

from __future__ import annotations

from typing import Any

from labeling import services
from labeling.models import Dataset, Item, ItemTag
from tests.conftest import client_for


def test_tag_items_list_filter_and_remove(
    dataset: Dataset, upload: Any, reviewer: Any, annotator: Any
) -> None:
    assert upload(dataset, "items.csv", "id,text\na,one\nb,two\nc,three\n").status_code == 201
    a, b, c = Item.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True)
    api = client_for(reviewer)
    base = f"/api/v1/datasets/{dataset.pk}"

    response = api.post(f"{base}/tags/", {"tag": "  car   noise ", "items": [a, b]}, format="json")
    assert response.status_code == 201 and response.json() == {"tagged": 2}
    # Again: nothing new; a second tag on one item.
    assert api.post(f"{base}/tags/", {"tag": "car noise", "items": [a]}, format="json").json() == {
        "tagged": 0
    }
    api.post(f"{base}/tags/", {"tag": "blurry", "items": [a]}, format="json")
    assert api.get(f"{base}/tags/").json()["tags"] == [
        {"tag": "car noise", "items": 2},
        {"tag": "blurry", "items": 1},
    ]
    listed = api.get(f"{base}/items/", {"tag": "car noise"}).json()["results"]
    assert [row["id"] for row in listed] == [a, b]
    assert sorted(api.get(f"{base}/items/{a}/").json()["tags"]) == ["blurry", "car noise"]

    # All or nothing: an item of another dataset, an empty tag, a too long one.
    other = services.dataset_create(name="Other", created_by=dataset.created_by, labels=["x"])
    assert upload(other, "o.csv", "id,text\nz,zed\n").status_code == 201
    foreign = Item.objects.get(dataset=other).pk
    response = api.post(f"{base}/tags/", {"tag": "typo", "items": [c, foreign]}, format="json")
    assert response.status_code == 400
    assert f"Not items of this dataset: {foreign}." in response.json()["items"][0]
    assert api.post(f"{base}/tags/", {"tag": " ", "items": [c]}, format="json").status_code == 400
    long = api.post(f"{base}/tags/", {"tag": "x" * 65, "items": [c]}, format="json")
    assert long.status_code == 400 and "at most 64" in long.json()["tag"][0]
    assert not ItemTag.objects.filter(tag="typo").exists()

    # Reviewers delete nothing; owners remove a tag.
    assert api.delete(f"{base}/items/{b}/tags/car noise/").status_code == 403
    owner = client_for(dataset.created_by)
    assert owner.delete(f"{base}/items/{b}/tags/car noise/").status_code == 204
    assert owner.delete(f"{base}/items/{b}/tags/car noise/").status_code == 404
    assert api.get(f"{base}/tags/").json()["tags"][0] == {"tag": "blurry", "items": 1}

    # Annotators neither tag nor see tags.
    blind = client_for(annotator)
    assert blind.post(f"{base}/tags/", {"tag": "x", "items": [c]}, format="json").status_code == 403
    assert blind.get(f"{base}/tags/").status_code == 403
    assert "tags" not in blind.get(f"{base}/items/{a}/").json()
