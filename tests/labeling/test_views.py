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
    make("Second")
    make("Third")
    with CaptureQueriesContext(connection) as three:
        client.get("/")
    assert len(three.captured_queries) == len(one.captured_queries)


def test_home_needs_a_login(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
