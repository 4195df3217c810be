"""An item's page: content, provenance (import batch, parent and recipe), augmented children,
every label, the decision and the label history; escaped; staff only."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from labeling.models import Dataset, Item
from tests.conftest import client_for


def page_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_item_page_shows_provenance_and_history(
    dataset: Dataset, upload: Any, owner: Any, reviewer: Any, annotator: Any, outsider: Any,
    settings: Any, django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    mapping = {
        "external_id": "id",
        "data": ["text"],
        "metadata": ["source"],
        "labeller": "w",
        "label": "label",
    }
    content = (
        "id,text,source,w,label\n"
        "a,<script>alert(1)</script> great,web,ann,positive\n"
        "a,<script>alert(1)</script> great,web,bob,negative\n"
        "b,fine,app,ann,neutral\n"
    )
    response = upload(dataset, "r.csv", content, mapping=json.dumps(mapping), source="Shop reviews")
    assert response.status_code == 201, response.json()
    item = Item.objects.get(dataset=dataset, external_id="a")
    api = client_for(reviewer)
    base = f"/api/v1/datasets/{dataset.pk}"
    decided = api.post(
        f"{base}/decisions/",
        {"item": item.pk, "label": "positive", "note": "sarcasm? no"},
        format="json",
    )
    assert decided.status_code == 201
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        job = client_for(owner).post(  # augmentation adds items: owners only
            f"{base}/jobs/",
            {"kind": "augment", "params": {"recipe": "typo", "target": {"items": [item.pk]}}},
            format="json",
        )
    assert job.status_code == 202, job.json()
    child = Item.objects.get(parent=item)

    html = page_for(reviewer).get(f"/datasets/{dataset.pk}/items/{item.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; great" in html and "<script>alert" not in html
    assert "Shop reviews" in html and "r.csv" in html  # the import batch
    assert "ann" in html and "bob" in html and "negative" in html  # every label
    assert "sarcasm? no" in html  # the decision and its note, in the history too
    assert html.count("sarcasm? no") >= 2
    assert f'href="/datasets/{dataset.pk}/items/{child.pk}/"' in html  # augmented children

    child_html = page_for(owner).get(f"/datasets/{dataset.pk}/items/{child.pk}/").content.decode()
    assert f'href="/datasets/{dataset.pk}/items/{item.pk}/"' in child_html  # its parent
    assert "&quot;recipe&quot;: &quot;typo&quot;" in child_html  # the recipe

    assert page_for(annotator).get(f"/datasets/{dataset.pk}/items/{item.pk}/").status_code == 403
    assert page_for(outsider).get(f"/datasets/{dataset.pk}/items/{item.pk}/").status_code in (
        403,
        404,
    )
    other = Item.objects.get(dataset=dataset, external_id="b")
    assert page_for(owner).get(f"/datasets/{dataset.pk}/items/{other.pk + 999}/").status_code == 404


def test_reviewers_tag_items_on_their_page(
    dataset: Dataset, upload: Any, reviewer: Any, annotator: Any
) -> None:
    from labeling.models import ItemTag

    assert upload(dataset, "r.csv", "id,text\na,one\n").status_code == 201
    item = Item.objects.get(dataset=dataset)
    url = f"/datasets/{dataset.pk}/items/{item.pk}/"
    page = page_for(reviewer)
    assert page.post(url, {"tags": "car noise, blurry ,"}).status_code == 302
    assert sorted(ItemTag.objects.filter(item=item).values_list("tag", flat=True)) == [
        "blurry",
        "car noise",
    ]
    html = page.get(url).content.decode()
    assert 'value="car noise"' not in html  # reviewers delete nothing: no remove button
    assert page.post(url, {"remove": "blurry"}).status_code == 403
    owner = page_for(dataset.created_by)
    assert 'value="car noise"' in owner.get(url).content.decode()  # the owner's remove button
    owner.post(url, {"remove": "blurry"})
    assert list(ItemTag.objects.filter(item=item).values_list("tag", flat=True)) == ["car noise"]
    response = page.post(url, {"tags": "x" * 80}, follow=True)
    assert "at most 64" in response.content.decode()
    assert page_for(annotator).post(url, {"tags": "sneaky"}).status_code == 403
    assert not ItemTag.objects.filter(tag="sneaky").exists()
