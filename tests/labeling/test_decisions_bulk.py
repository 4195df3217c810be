"""Decisions posted as a list are recorded in bulk, all or nothing, each logged once."""

from __future__ import annotations

from typing import Any

from labeling.models import Dataset, Decision, Item, LabelEvent
from tests.conftest import client_for


def test_bulk_decisions(dataset: Dataset, upload: Any, reviewer: Any) -> None:
    rows = "".join(f"i{n},text {n},positive\n" for n in range(5))
    assert upload(dataset, "r.csv", "id,text,label\n" + rows).status_code == 201
    ids = list(Item.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True))
    api = client_for(reviewer)
    url = f"/api/v1/datasets/{dataset.pk}/decisions/"
    events = LabelEvent.objects.filter(kind=LabelEvent.Kind.DECISION)

    body = [
        {"item": ids[0], "label": "negative", "note": "sarcasm"},
        {"item": ids[1], "label": "neutral"},
        {"item": ids[2], "label": "positive"},
    ]
    response = api.post(url, body, format="json")
    assert response.status_code == 201, response.json()
    assert [d["item"] for d in response.json()] == ids[:3]
    assert [d["label"] for d in response.json()] == ["negative", "neutral", "positive"]
    refs = dict(Item.objects.filter(pk__in=ids).values_list("id", "reference_label__name"))
    assert [refs[pk] for pk in ids] == ["negative", "neutral", "positive", "positive", "positive"]
    assert set(Item.objects.filter(pk__in=ids[:3]).values_list("reference_method", flat=True)) == {
        "decision"
    }
    first = events.get(item_id=ids[0])
    assert (first.old_label, first.new_label, first.reason, first.actor) == (
        "positive",
        "negative",
        "sarcasm",
        reviewer,
    )
    assert events.count() == 3

    # Again with one change: one new event, the rest untouched.
    body[1] = {"item": ids[1], "label": "negative"}
    assert api.post(url, body, format="json").status_code == 201
    assert events.count() == 4
    assert events.filter(item_id=ids[1]).order_by("id").last().old_label == "neutral"
    assert Decision.objects.get(item_id=ids[1]).label.name == "negative"

    # All or nothing: an unknown item or label stores nothing.
    for bad in (
        [{"item": ids[3], "label": "negative"}, {"item": 999_999, "label": "negative"}],
        [{"item": ids[3], "label": "negative"}, {"item": ids[4], "label": "bogus"}],
    ):
        response = api.post(url, bad, format="json")
        assert response.status_code == 400, response.json()
        assert not Decision.objects.filter(item_id__in=ids[3:]).exists()
    assert events.count() == 4
