"""CROWDLAB as the dataset's consensus method, through the public API: a simulated crowd imported
as uploaded answers, a model run posted by external id, the agreement job run with
``consensus_method=crowdlab``; the reference labels beat majority vote, labellers get a CROWDLAB
quality, and a dataset without a model run is refused with a clear message."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.test import Client

from labeling import services
from labeling.models import Dataset, Item
from tests.quality.test_crowdlab import K, _crowd
from workbench.models import Job


def crowd_dataset(owner: Any, upload: Any, crowd: dict[str, Any]) -> Dataset:
    dataset = services.dataset_create(
        name="Crowd", created_by=owner, labels=[f"c{k}" for k in range(K)], annotators_per_item=3
    )
    rows = "".join(
        f"i{item},Item {item},w{labeller},c{label}\n"
        for item, labeller, label in zip(
            crowd["items"].tolist(),
            crowd["labellers"].tolist(),
            crowd["labels"].tolist(),
            strict=True,
        )
    )
    mapping = {"external_id": "id", "data": ["text"], "labeller": "worker", "label": "label"}
    response = upload(
        dataset, "crowd.csv", "id,text,worker,label\n" + rows, mapping=json.dumps(mapping)
    )
    assert response.status_code == 201, response.json()
    return dataset


def post_model_run(api: Any, dataset: Dataset, probs: Any) -> int:
    predictions = [
        {"external_id": f"i{i}", "probabilities": row} for i, row in enumerate(probs.tolist())
    ]
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/model-runs/",
        {"name": "cv", "version": "1", "predictions": predictions},
        format="json",
    )
    assert response.status_code == 201, response.json()
    run_id: int = response.json()["id"]
    return run_id


def accuracy(dataset: Dataset, truth: Any) -> float:
    rows = Item.objects.filter(dataset=dataset).values_list("external_id", "reference_label__name")
    got = dict(rows)
    return float(np.mean([got[f"i{i}"] == f"c{t}" for i, t in enumerate(truth.tolist())]))


def test_crowdlab_consensus_through_the_api(
    owner: Any, api: Any, upload: Any, run_job: Any
) -> None:
    crowd = _crowd(seed=3, n_items=300, n_labellers=15)
    dataset = crowd_dataset(owner, upload, crowd)

    refused = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/",
        {"kind": "agreement", "params": {"consensus_method": "crowdlab"}},
        format="json",
    )
    assert refused.status_code == 400
    assert "model run" in json.dumps(refused.json())
    assert not Job.objects.filter(dataset=dataset, kind="agreement").exists()

    job = run_job(dataset, consensus_method="majority_vote")
    assert job["status"] == "succeeded", job["error"]
    majority = accuracy(dataset, crowd["truth"])

    run_id = post_model_run(api, dataset, crowd["probs"])
    job = run_job(dataset, consensus_method="crowdlab")
    assert job["status"] == "succeeded", job["error"]
    crowdlab = accuracy(dataset, crowd["truth"])
    print(f"majority vote {majority:.3f}, CROWDLAB {crowdlab:.3f}")
    assert crowdlab >= majority + 0.02

    dataset.refresh_from_db()
    assert dataset.consensus_method == "crowdlab"
    report = api.get(f"/api/v1/datasets/{dataset.pk}/agreement/").json()["report"]
    assert report["consensus"]["method"] == "crowdlab"
    assert report["consensus"]["model_run"] == run_id
    assert report["consensus"]["crowdlab_items"] == 300
    methods = set(Item.objects.filter(dataset=dataset).values_list("reference_method", flat=True))
    assert methods == {"crowdlab"}

    consensus = api.get(f"/api/v1/datasets/{dataset.pk}/consensus/?page_size=5").json()
    assert {row["method"] for row in consensus["results"]} == {"crowdlab"}
    assert all(0 <= row["confidence"] <= 1 for row in consensus["results"])

    labellers = api.get(f"/api/v1/datasets/{dataset.pk}/labellers/").json()
    quality = {row["name"]: row["crowdlab_quality"] for row in labellers["labellers"]}
    assert "crowdlab_quality" in labellers["definitions"]
    # The better labellers get the higher quality scores.
    names = [f"w{i}" for i in range(15)]
    scores = np.array([quality[n] for n in names])
    assert np.corrcoef(scores, crowd["accuracy"])[0, 1] > 0.5

    browser = Client()
    browser.force_login(owner)
    page = browser.get(f"/datasets/{dataset.pk}/labellers/?sort=crowdlab&dir=desc")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'aria-sort="descending"' in html
    assert "CROWDLAB quality" in html
    # Sorted by CROWDLAB quality, the best labeller comes first.
    best = names[int(np.argmax(scores))]
    assert html.index(f"<td>{best}</td>") < min(
        html.index(f"<td>{n}</td>") for n in names if n != best
    )


def test_crowdlab_refuses_a_model_run_of_another_dataset(owner: Any, api: Any, upload: Any) -> None:
    crowd = _crowd(seed=4, n_items=30, n_labellers=5)
    first = crowd_dataset(owner, upload, crowd)
    second = crowd_dataset(owner, upload, crowd)
    run_id = post_model_run(api, first, crowd["probs"])
    response = api.post(
        f"/api/v1/datasets/{second.pk}/jobs/",
        {"kind": "agreement", "params": {"consensus_method": "crowdlab", "model_run": run_id}},
        format="json",
    )
    assert response.status_code == 400
    assert f"Model run {run_id} is not one of this dataset's." in json.dumps(response.json())


def test_active_learning_orders_the_labelling_queue(
    owner: Any, api: Any, upload: Any, run_job: Any
) -> None:
    """The active_learning job scores every item of the model run; under active-learning
    assignment next-item hands out the lowest score first, then the rest breadth-first."""
    crowd = _crowd(seed=5, n_items=120, n_labellers=8)
    dataset = services.dataset_create(
        name="AL", created_by=owner, labels=[f"c{k}" for k in range(K)], annotators_per_item=4
    )
    labelled = crowd["items"] < 80  # items 80..119 have no label yet
    rows = "".join(
        f"i{item},Item {item},w{labeller},c{label}\n"
        for item, labeller, label in zip(
            crowd["items"][labelled].tolist(),
            crowd["labellers"][labelled].tolist(),
            crowd["labels"][labelled].tolist(),
            strict=True,
        )
    )
    rows += "".join(f"i{item},Item {item},,\n" for item in range(80, 120))
    mapping = {"external_id": "id", "data": ["text"], "labeller": "worker", "label": "label"}
    response = upload(
        dataset, "al.csv", "id,text,worker,label\n" + rows, mapping=json.dumps(mapping)
    )
    assert response.status_code == 201, response.json()

    refused = api.post(
        f"/api/v1/datasets/{dataset.pk}/jobs/", {"kind": "active_learning"}, format="json"
    )
    assert refused.status_code == 400
    assert "Active learning needs a model run" in json.dumps(refused.json())

    post_model_run(api, dataset, crowd["probs"])
    job = run_job(dataset, kind="active_learning")
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["items_scored"] == 120
    assert (result["labelled_items"], result["unlabelled_items"]) == (80, 40)

    priority = dict(Item.objects.filter(dataset=dataset).values_list("external_id", "priority"))
    assert all(v is not None and 0 <= v <= 1 for v in priority.values())
    ranked = sorted(priority, key=lambda ext: (priority[ext], int(ext[1:])))
    assert [row["item"] for row in result["next"]] == [
        Item.objects.get(dataset=dataset, external_id=ext).pk for ext in ranked[:10]
    ]

    assert (
        api.patch(
            f"/api/v1/datasets/{dataset.pk}/", {"assignment": "active_learning"}, format="json"
        ).status_code
        == 200
    )
    served = []
    for _ in range(3):
        nxt = api.get(f"/api/v1/datasets/{dataset.pk}/next-item/").json()["item"]
        served.append(nxt["external_id"])
        answer = api.post(
            f"/api/v1/datasets/{dataset.pk}/annotations/",
            {"item": nxt["id"], "label": "c0", "time_spent_ms": 500},
            format="json",
        )
        assert answer.status_code == 201, answer.json()
    assert served == ranked[:3]

    # Scores are replaced, not added to: a job on a run covering fewer items clears the rest.
    run_id = post_model_run(api, dataset, crowd["probs"][:100])
    job = run_job(dataset, kind="active_learning", model_run=run_id)
    assert job["status"] == "succeeded", job["error"]
    unscored = Item.objects.filter(dataset=dataset, priority__isnull=True)
    assert sorted(unscored.values_list("external_id", flat=True)) == sorted(
        f"i{n}" for n in range(100, 120)
    )
