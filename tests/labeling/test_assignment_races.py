"""Races, with real concurrent requests on separate database connections (PostgreSQL in CI)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from labeling import services
from labeling.models import Annotation, Item, Reservation, Role
from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same moment, each in its own thread (and connection)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def members(ds: Any, names: list[str]) -> list[Any]:
    clients = []
    for name in names:
        user = get_user_model().objects.create_user(username=name, password=PASSWORD)
        services.membership_set(dataset=ds, username=name, role=Role.ANNOTATOR)
        clients.append(client_for(user))
    return clients


def test_two_labellers_racing_for_the_last_slot(owner: Any, upload: Any) -> None:
    ds = services.dataset_create(
        name="race", created_by=owner, labels=["a", "b"], annotators_per_item=2
    )
    rows = "".join(f"{n},text {n},W0,a\n" for n in range(10))
    assert upload(ds, "x.csv", "id,text,worker,label\n" + rows).status_code == 201
    ann, bob = members(ds, ["ann", "bob"])
    outcomes = Counter()
    url = f"/api/v1/datasets/{ds.pk}/annotations/"
    for item in Item.objects.filter(dataset=ds):
        statuses = run_together(
            [
                lambda c=c, i=item.pk: (
                    c.post(url, {"item": i, "label": "b"}, format="json").status_code
                )
                for c in (ann, bob)
            ]
        )
        outcomes[tuple(sorted(statuses))] += 1
        assert Annotation.objects.filter(item=item).count() == 2
    assert outcomes == Counter({(201, 409): 10})
    assert set(Item.objects.filter(dataset=ds).values_list("annotation_count", flat=True)) == {2}


@pytest.mark.parametrize("round_", range(4))
def test_concurrent_next_item_never_overbooks(owner: Any, upload: Any, round_: int) -> None:
    ds = services.dataset_create(
        name=f"rush {round_}", created_by=owner, labels=["a"], annotators_per_item=1
    )
    rows = "".join(f"{n},text {n}\n" for n in range(4))
    assert upload(ds, "x.csv", "id,text\n" + rows).status_code == 201
    clients = members(ds, [f"l{round_}-{n}" for n in range(8)])
    url = f"/api/v1/datasets/{ds.pk}/next-item/"
    responses = run_together([lambda c=c: c.get(url) for c in clients])
    got = [r.json()["item"]["id"] for r in responses if r.status_code == 200]
    assert sorted(r.status_code for r in responses) == [200] * 4 + [204] * 4
    assert len(set(got)) == 4  # each item to one labeller only
    assert Reservation.objects.filter(item__dataset=ds).count() == 4
