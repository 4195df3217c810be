"""next-item: which item a labeller gets, reservations, skips, and the overlap cap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from labeling import services
from labeling.models import Annotation, Dataset, Item, Reservation, Role
from tests.conftest import PASSWORD, client_for


def labeller(name: str, dataset: Dataset) -> Any:
    user = get_user_model().objects.create_user(username=name, password=PASSWORD)
    services.membership_set(dataset=dataset, username=name, role=Role.ANNOTATOR)
    return client_for(user)


@pytest.fixture
def two_per_item(owner: Any, upload: Any) -> Dataset:
    ds = services.dataset_create(
        name="pairs", created_by=owner, labels=["yes", "no"], annotators_per_item=2
    )
    rows = "".join(f"i{n},text {n}\n" for n in range(1, 6))
    assert upload(ds, "items.csv", "id,text\n" + rows).status_code == 201
    return ds


def take(client: Any, ds: Dataset) -> dict[str, Any] | None:
    response = client.get(f"/api/v1/datasets/{ds.pk}/next-item/")
    assert response.status_code in (200, 204), response.content
    return response.json() if response.status_code == 200 else None


def answer(client: Any, ds: Dataset, item: int, label: str = "yes") -> Any:
    return client.post(
        f"/api/v1/datasets/{ds.pk}/annotations/",
        {"item": item, "label": label, "time_spent_ms": 900},
        format="json",
    )


def test_breadth_first_and_never_the_same_item_twice(two_per_item: Dataset) -> None:
    ds = two_per_item
    ann, bob = labeller("ann", ds), labeller("bob", ds)
    first = take(ann, ds)
    assert first is not None and first["item"]["external_id"] == "i1"
    assert "reference_label" not in first["item"]  # blind
    # asking again before answering gives the same (reserved) item
    assert take(ann, ds)["item"]["id"] == first["item"]["id"]
    assert answer(ann, ds, first["item"]["id"]).status_code == 201
    # breadth-first: bob gets the item that already has a label
    assert take(bob, ds)["item"]["external_id"] == "i1"
    nxt = take(ann, ds)
    assert nxt["item"]["external_id"] == "i2"
    assert nxt["progress"]["labelled_by_you"] == 1


def test_reservations_keep_items_within_their_overlap(two_per_item: Dataset) -> None:
    ds = two_per_item
    ann, bob, cat = labeller("ann", ds), labeller("bob", ds), labeller("cat", ds)
    got = [take(c, ds)["item"]["external_id"] for c in (ann, bob, cat)]
    # two people may hold i1 (it needs two labels); the third gets another item
    assert got == ["i1", "i1", "i2"]


def test_expired_reservations_free_the_item(two_per_item: Dataset, settings: Any) -> None:
    ds = two_per_item
    ds.annotators_per_item = 1
    ds.save()
    ann, bob = labeller("ann", ds), labeller("bob", ds)
    assert take(ann, ds)["item"]["external_id"] == "i1"
    assert take(bob, ds)["item"]["external_id"] == "i2"
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    cat = labeller("cat", ds)
    assert take(cat, ds)["item"]["external_id"] == "i1"


def test_skip_and_the_end_of_the_queue(two_per_item: Dataset) -> None:
    ds = two_per_item
    ann = labeller("ann", ds)
    first = take(ann, ds)["item"]["id"]
    response = ann.post(
        f"/api/v1/datasets/{ds.pk}/skips/", {"item": first, "reason": "unreadable"}, format="json"
    )
    assert response.status_code == 201
    seen = []
    while (nxt := take(ann, ds)) is not None:
        seen.append(nxt["item"]["external_id"])
        assert answer(ann, ds, nxt["item"]["id"]).status_code == 201
    assert seen == ["i2", "i3", "i4", "i5"]  # never the skipped one, then 204


def test_a_full_item_refuses_another_label(two_per_item: Dataset) -> None:
    ds = two_per_item
    item = Item.objects.get(dataset=ds, external_id="i1").pk
    ann, bob, cat = labeller("ann", ds), labeller("bob", ds), labeller("cat", ds)
    assert answer(ann, ds, item).status_code == 201
    assert answer(bob, ds, item, "no").status_code == 201
    response = answer(cat, ds, item)
    assert response.status_code == 409
    assert "already has the 2 label(s) it needs" in response.json()["detail"]
    # the ones who labelled it may still change their answer
    assert answer(bob, ds, item, "yes").status_code == 201
    assert Annotation.objects.filter(item_id=item).count() == 2


def test_a_retried_submit_is_stored_once(two_per_item: Dataset) -> None:
    ds = two_per_item
    ann = labeller("ann", ds)
    item = take(ann, ds)["item"]["id"]
    first, again = answer(ann, ds, item), answer(ann, ds, item)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Annotation.objects.filter(item_id=item).count() == 1
    assert not Reservation.objects.exists()


def test_sequential_and_random_orders(owner: Any, upload: Any) -> None:
    orders = {}
    for mode in ("sequential", "random"):
        ds = services.dataset_create(
            name=mode, created_by=owner, labels=["a"], assignment=mode, assignment_seed=7
        )
        rows = "".join(f"{n},t{n}\n" for n in range(1, 31))
        assert upload(ds, "x.csv", "id,text\n" + rows).status_code == 201
        client = labeller(f"l-{mode}", ds)
        seen = []
        for _ in range(5):
            item = take(client, ds)["item"]
            seen.append(item["external_id"])
            answer(client, ds, item["id"], "a")
        orders[mode] = seen
    assert orders["sequential"] == ["1", "2", "3", "4", "5"]
    assert orders["random"] != orders["sequential"]
    assert len(set(orders["random"])) == 5


def test_outsiders_get_nothing(two_per_item: Dataset, outsider: Any) -> None:
    client = client_for(outsider)
    assert client.get(f"/api/v1/datasets/{two_per_item.pk}/next-item/").status_code == 404
    assert (
        client.post(
            f"/api/v1/datasets/{two_per_item.pk}/skips/", {"item": 1}, format="json"
        ).status_code
        == 404
    )
