"""Model runs and label issues through the public API: cleanlab's published label errors, bad
model runs, bad job parameters, and review decisions on the issues."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from labeling import services
from labeling.models import Dataset, Decision, Item, LabelEvent, Role
from quality.models import LabelIssue, ModelRun, Prediction
from tests.conftest import client_for, db_counts
from tests.shared_data import SHARED_DATA, missing

ERRORS = SHARED_DATA / "cleanlab_label_errors"


def dataset_with_labels(owner: Any, upload: Any, labels: list[int], k: int, name: str) -> Dataset:
    """One item per label, its label imported as the item's single (reference) label."""
    dataset = services.dataset_create(
        name=name, created_by=owner, labels=[f"c{i}" for i in range(k)], annotators_per_item=1
    )
    rows = "".join(f"e{i},Example {i},c{label}\n" for i, label in enumerate(labels))
    response = upload(dataset, f"{name}.csv", "id,text,label\n" + rows)
    assert response.status_code == 201, response.json()
    return dataset


def post_run(api: Any, dataset: Dataset, probs: Any, **extra: Any) -> Any:
    predictions = [
        {"external_id": f"e{i}", "probabilities": row} for i, row in enumerate(probs.tolist())
    ]
    body = {"name": "cv-model", "version": "1", "predictions": predictions, **extra}
    # As Python's json writes it: NaN as a bare NaN token.
    return api.post(
        f"/api/v1/datasets/{dataset.pk}/model-runs/",
        json.dumps(body),
        content_type="application/json",
    )


# cleanlab's published counts with prune_by_noise_rate on the test sets (label-errors repo).
PUBLISHED = [("mnist", 15), ("cifar10", 284), ("20news", 95), ("imdb", 1309)]


@pytest.mark.skipif(missing(ERRORS), reason=f"No cleanlab label-error data at {ERRORS}.")
@pytest.mark.parametrize(("name", "expected"), PUBLISHED)
def test_cleanlabs_published_label_errors_through_the_api(
    owner: Any, api: Any, upload: Any, run_job: Any, name: str, expected: int
) -> None:
    from cleanlab.filter import find_label_issues

    labels = np.load(
        ERRORS / "original_test_labels" / f"{name}_test_set_original_labels.npy"
    ).astype(int)
    probs = np.load(ERRORS / "cross_validated_predicted_probabilities" / f"{name}_test_set_pyx.npy")
    probs = probs.astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    k = probs.shape[1]
    dataset = dataset_with_labels(owner, upload, labels.tolist(), k, name)
    response = post_run(api, dataset, probs)
    assert response.status_code == 201, response.json()
    run = response.json()
    assert run["prediction_count"] == labels.size
    job = run_job(dataset, "label_issues", model_run=run["id"], filter_by="prune_by_noise_rate")
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["by_type"].get("label", 0) == expected
    bare = find_label_issues(labels, probs, filter_by="prune_by_noise_rate", n_jobs=1)
    found = set(
        LabelIssue.objects.filter(job_id=job["id"], issue_type="label").values_list(
            "item__external_id", flat=True
        )
    )
    assert found == {f"e{i}" for i in np.flatnonzero(bare)}
    page = api.get(f"/api/v1/datasets/{dataset.pk}/label-issues/?limit=5").json()
    assert page["open"] == expected
    scores = [row["score"] for row in page["results"]]
    assert scores == sorted(scores)  # worst first
    first = page["results"][0]
    assert first["given_label"] != first["suggested_label"]
    assert first["prediction"][0]["probability"] >= first["prediction"][1]["probability"]
    if name == "mnist":  # the page shows cleanlab's dataset health view
        from django.test import Client

        client = Client()
        client.force_login(owner)
        html = client.get(f"/datasets/{dataset.pk}/label-issues/").content.decode()
        assert "Dataset health" in html and "Labels that overlap most" in html


@pytest.fixture
def small(owner: Any, upload: Any, reviewer: Any) -> Dataset:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, size=60)
    dataset = dataset_with_labels(owner, upload, labels.tolist(), 3, "small")
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    return dataset


def confident_probs(labels: Any, flip: list[int]) -> Any:
    """A model that agrees with every label except on ``flip``, where it is sure of the next
    class: those items are the label issues."""
    probs = np.full((labels.size, 3), 0.05)
    truth = labels.copy()
    truth[flip] = (truth[flip] + 1) % 3
    probs[np.arange(labels.size), truth] = 0.9
    return probs


def given_labels(dataset: Dataset) -> Any:
    return np.array(
        [
            int(name[1:])
            for name in Item.objects.filter(dataset=dataset)
            .order_by("id")
            .values_list("reference_label__name", flat=True)
        ]
    )


def test_bad_model_runs_change_nothing(small: Dataset, api: Any) -> None:
    labels = given_labels(small)
    good = confident_probs(labels, [])
    before = db_counts() | {"runs": ModelRun.objects.count(), "preds": Prediction.objects.count()}
    cases = [
        (np.full((60, 2), 0.5), "has 2 probabilities; the dataset has 3 labels"),
        (np.where(np.arange(180).reshape(60, 3) == 4, np.nan, good), "NaN"),
        (np.where(np.arange(180).reshape(60, 3) == 4, -0.1, good), "negative"),
        (good * 0.5, "sum"),
    ]
    for probs, message in cases:
        response = post_run(api, small, probs)
        assert response.status_code == 400, message
        assert message in json.dumps(response.json()), (message, response.json())
    unknown = api.post(
        f"/api/v1/datasets/{small.pk}/model-runs/",
        {"name": "m", "predictions": [{"external_id": "nope", "probabilities": [0.2, 0.3, 0.5]}]},
        format="json",
    )
    assert unknown.status_code == 400 and "nope" in unknown.json()["detail"]
    twice = api.post(
        f"/api/v1/datasets/{small.pk}/model-runs/",
        {
            "name": "m",
            "predictions": [{"external_id": "e1", "probabilities": [0.2, 0.3, 0.5]}] * 2,
        },
        format="json",
    )
    assert twice.status_code == 400 and "more than one prediction" in twice.json()["detail"]
    after = db_counts() | {"runs": ModelRun.objects.count(), "preds": Prediction.objects.count()}
    assert after == before


def test_small_drift_from_one_is_renormalised_and_reported(small: Dataset, api: Any) -> None:
    probs = confident_probs(given_labels(small), []) * 1.00002
    response = post_run(api, small, probs, labels=["c0", "c1", "c2"], trained_on="v1")
    assert response.status_code == 201, response.json()
    assert response.json()["renormalised_count"] == 60
    stored = np.frombuffer(bytes(Prediction.objects.first().probabilities), dtype="<f8")
    assert stored.sum() == pytest.approx(1.0, abs=1e-12)


def test_bad_label_issue_jobs_are_refused(
    small: Dataset, api: Any, owner: Any, upload: Any
) -> None:
    url = f"/api/v1/datasets/{small.pk}/jobs/"
    response = api.post(url, {"kind": "label_issues", "params": {}}, format="json")
    assert response.status_code == 400 and "model_run" in response.json()
    other = dataset_with_labels(owner, upload, [0, 1, 2, 0], 3, "other")
    run = post_run(api, other, np.full((4, 3), 1 / 3)).json()
    response = api.post(
        url, {"kind": "label_issues", "params": {"model_run": run["id"]}}, format="json"
    )
    assert response.status_code == 400
    assert "belongs to another dataset" in json.dumps(response.json())
    response = api.post(
        url,
        {"kind": "label_issues", "params": {"model_run": run["id"], "filter_by": "vibes"}},
        format="json",
    )
    assert "Unknown filter_by" in json.dumps(response.json())


def test_one_class_or_no_labels_fail_with_a_clear_error(
    owner: Any, api: Any, upload: Any, run_job: Any
) -> None:
    one = dataset_with_labels(owner, upload, [0] * 20, 3, "one")
    run = post_run(api, one, np.tile([0.8, 0.1, 0.1], (20, 1))).json()
    job = run_job(one, "label_issues", model_run=run["id"])
    assert job["status"] == "failed" and "class" in job["error"]
    assert not LabelIssue.objects.exists()
    unlabelled = services.dataset_create(name="u", created_by=owner, labels=["a", "b"])
    assert upload(unlabelled, "u.csv", "id,text\ne0,x\ne1,y\n").status_code == 201
    response = api.post(
        f"/api/v1/datasets/{unlabelled.pk}/model-runs/",
        {"name": "m", "predictions": [{"external_id": "e0", "probabilities": [0.5, 0.5]}]},
        format="json",
    )
    job = run_job(unlabelled, "label_issues", model_run=response.json()["id"])
    assert job["status"] == "failed" and "has a label yet" in job["error"]


def test_review_label_issues(small: Dataset, api: Any, run_job: Any, reviewer: Any) -> None:
    labels = given_labels(small)
    run = post_run(api, small, confident_probs(labels, [3, 10, 20, 30])).json()
    job = run_job(small, "label_issues", model_run=run["id"])
    assert job["status"] == "succeeded", job["error"]
    client = client_for(reviewer)
    base = f"/api/v1/datasets/{small.pk}/label-issues"
    issues = client.get(f"{base}/").json()["results"]
    assert sorted(i["external_id"] for i in issues) == ["e10", "e20", "e3", "e30"]
    first, second, third, fourth = issues
    # Accept: the suggestion becomes the reference label, logged with the reviewer and why.
    response = client.post(f"{base}/{first['id']}/decide/", {"action": "accept", "note": "typo"})
    assert response.status_code == 200, response.json()
    item = Item.objects.select_related("reference_label").get(pk=first["item"])
    assert item.reference_label.name == first["suggested_label"]
    event = LabelEvent.objects.get(item=item, kind="decision")
    assert (event.old_label, event.new_label, event.reason, event.actor) == (
        first["given_label"],
        first["suggested_label"],
        "typo",
        reviewer,
    )
    assert Decision.objects.get(item=item).method == "cleanlab"
    # Keep, relabel, bulk accept.
    assert client.post(f"{base}/{second['id']}/decide/", {"action": "keep"}).status_code == 200
    assert Item.objects.get(pk=second["item"]).reference_label.name == second["given_label"]
    other = next(
        f"c{i}" for i in range(3) if f"c{i}" not in (third["given_label"], third["suggested_label"])
    )
    response = client.post(f"{base}/{third['id']}/decide/", {"action": "relabel", "label": other})
    assert response.status_code == 200
    assert Item.objects.get(pk=third["item"]).reference_label.name == other
    assert client.post(f"{base}/accept/", {"issues": [fourth["id"]]}, format="json").json() == {
        "accepted": 1
    }
    statuses = dict(LabelIssue.objects.values_list("item__external_id", "status"))
    assert sorted(statuses.values()) == ["accepted", "accepted", "rejected", "relabelled"]
    assert client.get(f"{base}/").json()["open"] == 0
    # A re-run skips decided items unless asked.
    again = run_job(small, "label_issues", model_run=run["id"])
    assert again["result"]["issues"] == 0 and again["result"]["skipped_decided"] >= 2
    # The export carries the new reference labels and how they were decided.
    export = api.get(f"/api/v1/datasets/{small.pk}/export/?format=jsonl")
    lines = [json.loads(line) for line in b"".join(export.streaming_content).splitlines()]
    row = next(r for r in lines if r["external_id"] == first["external_id"])
    assert row["reference_label"] == first["suggested_label"]
    # Bad decisions: unknown action, unknown issue, annotators.
    assert client.post(f"{base}/{first['id']}/decide/", {"action": "x"}).status_code == 400
    assert client.post(f"{base}/999999/decide/", {"action": "keep"}).status_code == 400


def test_model_run_upload_command(small: Dataset, tmp_path: Any, owner: Any) -> None:
    from django.core.management import CommandError, call_command

    probs = confident_probs(given_labels(small), [])
    table = tmp_path / "run.csv"
    table.write_text(
        "external_id,c0,c1,c2\n"
        + "".join(f"e{i},{p[0]},{p[1]},{p[2]}\n" for i, p in enumerate(probs.tolist()))
    )
    call_command(
        "model_run_upload", str(small.pk), str(table), "--name", "resnet", "--model-version", "2",
        "--user", "owner", "--trained-on", "v3", "--hyperparameters", '{"lr": 0.1}',
    )  # fmt: skip
    run = ModelRun.objects.get(dataset=small)
    assert (run.name, run.version, run.trained_on, run.hyperparameters) == (
        "resnet",
        "2",
        "v3",
        {"lr": 0.1},
    )
    assert run.prediction_count == 60 and run.created_by == owner
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,c0,c1\ne0,0.5,0.5\n")
    with pytest.raises(CommandError, match="missing: c2"):
        call_command("model_run_upload", str(small.pk), str(bad), "--name", "x")
    negative = tmp_path / "negative.json"
    negative.write_text(json.dumps([{"external_id": "e0", "probabilities": [1.2, -0.1, -0.1]}]))
    with pytest.raises(CommandError, match="negative"):
        call_command("model_run_upload", str(small.pk), str(negative), "--name", "x")
    assert ModelRun.objects.count() == 1


def test_label_issues_page(small: Dataset, owner: Any, annotator: Any, api: Any) -> None:
    from django.test import Client

    from workbench.models import Job

    services.membership_set(dataset=small, username="annotator", role=Role.ANNOTATOR)
    page = Client()
    page.force_login(owner)
    url = f"/datasets/{small.pk}/label-issues/"
    html = page.get(url).content.decode()
    assert "No label-issue report yet" in html and "No model runs yet" in html
    response = page.post(url, {"action": "baseline"})
    assert response.status_code == 302
    assert Job.objects.get(kind="baseline_model").params == {"folds": 5, "seed": 0}
    response = page.post(url, {"action": "issues", "model_run": "999"}, follow=True)
    assert "There is no model run 999" in response.content.decode()
    run = post_run(api, small, confident_probs(given_labels(small), [3])).json()
    html = page.get(url).content.decode()
    assert f"#{run['id']} cv-model" in html and "Find label issues" in html
    assert "Order the labelling queue" in html
    response = page.post(url, {"action": "active_learning", "model_run": str(run["id"])})
    assert response.status_code == 302
    assert Job.objects.get(kind="active_learning").params == {"model_run": run["id"]}
    response = page.post(url, {"action": "active_learning", "model_run": "abc"}, follow=True)
    assert "is not one of this dataset" in response.content.decode()
    watcher = Client()
    watcher.force_login(annotator)
    assert watcher.get(url).status_code == 403
