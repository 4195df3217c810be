"""Pages, through Django's test client (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import services
from labeling.models import Role


def test_home_shows_progress_in_a_fixed_number_of_queries(
    client: Any, owner: Any, annotator: Any, upload: Any
) -> None:
    def make(name: str) -> None:
        ds = services.dataset_create(
            name=name, created_by=owner, labels=["a", "b"], annotators_per_item=2
        )
        services.membership_set(dataset=ds, username="annotator", role=Role.ANNOTATOR)
        rows = "id,text,worker,label\n1,x,W1,a\n1,x,W2,b\n2,y,W1,a\n"
        assert upload(ds, "x.csv", rows).status_code == 201

    client.force_login(annotator)
    make("First")
    with CaptureQueriesContext(connection) as one:
        response = client.get("/")
    row = response.context["datasets"][0]
    assert (row["items"], row["labelled"], row["complete"], row["annotations"]) == (2, 2, 1, 3)
    assert row["mine"] == 0
    make("Second")
    make("Third")
    with CaptureQueriesContext(connection) as three:
        client.get("/")
    assert len(three.captured_queries) == len(one.captured_queries)


def test_home_needs_a_login(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_dataset_page(
    client: Any, owner: Any, annotator: Any, outsider: Any, dataset: Any, upload: Any
) -> None:
    rows = "id,text,worker,label\n1,a,W1,positive\n1,a,W2,positive\n2,b,W1,negative\n"
    assert upload(dataset, "x.csv", rows).status_code == 201
    url = f"/datasets/{dataset.pk}/"
    client.force_login(owner)
    page = client.get(url)
    assert page.status_code == 200
    dist = {row["label"].name: row["items"] for row in page.context["distribution"]}
    assert dist == {"positive": 1, "negative": 1, "neutral": 0}
    assert b"x.csv" in page.content and b"Start labelling" in page.content
    client.force_login(annotator)
    page = client.get(url)
    assert page.status_code == 200 and page.context["distribution"] == []  # blind
    assert b"x.csv" not in page.content
    assert (
        client.post(url, {"action": "set", "username": "outsider", "role": "reviewer"}).status_code
        == 403
    )
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_owner_manages_members_in_the_browser(
    client: Any, owner: Any, outsider: Any, dataset: Any
) -> None:
    from labeling.models import Membership

    url = f"/datasets/{dataset.pk}/"
    client.force_login(owner)
    response = client.post(
        url, {"action": "set", "username": "outsider", "role": "reviewer"}, follow=True
    )
    assert "outsider is now reviewer" in response.content.decode()
    member = Membership.objects.get(dataset=dataset, user=outsider)
    assert member.role == "reviewer"
    response = client.post(
        url, {"action": "set", "username": "ghost", "role": "annotator"}, follow=True
    )
    assert "There is no user named &#x27;ghost&#x27;." in response.content.decode()
    client.post(url, {"action": "remove", "member": member.pk})
    assert not Membership.objects.filter(pk=member.pk).exists()
    owner_membership = Membership.objects.get(dataset=dataset, user=owner)
    response = client.post(url, {"action": "remove", "member": owner_membership.pk}, follow=True)
    assert "at least one owner" in response.content.decode()


def test_only_owners_open_the_import_page(
    client: Any, reviewer: Any, owner: Any, dataset: Any
) -> None:
    url = f"/datasets/{dataset.pk}/import/"
    client.force_login(reviewer)
    assert client.get(url).status_code == 403
    client.force_login(owner)
    assert client.get(url).status_code == 200
    # importing an upload that was never previewed (or has expired) is refused clearly
    response = client.post(url, {"action": "import", "token": "nope"}, follow=True)
    assert "That upload has expired" in response.content.decode()
