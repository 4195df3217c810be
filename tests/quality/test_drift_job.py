"""Drift monitoring through the public API: two import batches from the same distribution
report no drift; a posted batch with a mean shift, a new category, more missing values and
longer texts is flagged on exactly those fields; bad requests change nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from labeling import services
from labeling.models import Dataset, ImportBatch
from workbench.models import Job

WORDS = ["good", "bad", "slow", "fast", "cheap", "broken", "nice", "late", "fine", "odd"]


def batch_csv(n: int, seed: int, *, shifted: bool = False, ids: str = "x") -> str:
    rng = np.random.default_rng(seed)
    lines = ["id,text,score,country,channel,label"]
    for i in range(n):
        words = rng.integers(8 if shifted else 4, 14 if shifted else 9)
        text = " ".join(rng.choice(WORDS, words))
        score = rng.normal(51.0 if shifted else 50.0, 5.0)
        country = rng.choice(["DE", "FR", "US"], p=[0.5, 0.3, 0.2])
        if shifted and rng.random() < 0.1:
            country = "XX"
        channel = rng.choice(["web", "app"])
        if rng.random() < (0.3 if shifted else 0.02):
            channel = ""
        label = rng.choice(["pos", "neg"])
        lines.append(f"{ids}{i},{text},{score:.3f},{country},{channel},{label}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def monitored(owner: Any, upload: Any) -> tuple[Dataset, int, int]:
    dataset = services.dataset_create(name="Tickets", created_by=owner, labels=["pos", "neg"])
    mapping = {
        "external_id": "id",
        "data": ["text"],
        "metadata": ["score", "country", "channel"],
        "label": "label",
    }
    for name, seed, prefix in (("a.csv", 1, "a"), ("b.csv", 2, "b")):
        response = upload(
            dataset, name, batch_csv(3000, seed, ids=prefix), mapping=json.dumps(mapping)
        )
        assert response.status_code == 201, response.json()
    first, second = ImportBatch.objects.filter(dataset=dataset).order_by("id")
    return dataset, first.pk, second.pk


def test_same_distribution_no_drift_shifted_batch_flagged(
    monitored: tuple[Dataset, int, int], api: Any, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    settings.CELERY_TASK_ALWAYS_EAGER = True
    dataset, first, second = monitored
    url = f"/api/v1/datasets/{dataset.pk}/drift/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            url,
            {"reference": {"import_batch": first}, "current": {"import_batch": second}},
            format="json",
        )
    assert response.status_code == 202, response.json()
    report = api.get(response.json()["report"]).json()
    assert report["job"]["status"] == "succeeded", report["job"]["error"]
    assert report["verdict"] == "no drift", report["reasons"]
    assert report["reference"]["rows"] == report["current"]["rows"] == 3000

    # A monitoring script posts a shifted batch as a file: flagged on exactly the shifted fields.
    shifted = io.BytesIO(batch_csv(3000, 3, shifted=True).encode())
    shifted.name = "today.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            url,
            {"file": shifted, "reference": json.dumps({"import_batch": first})},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    report = api.get(response.json()["report"]).json()
    assert report["verdict"] == "drift"
    assert set(report["drifted_fields"]) == {"text", "score", "country", "channel"}
    reasons = " ".join(report["reasons"])
    assert "XX" in reasons and "missing" in reasons
    assert report["current"]["name"] == "posted file today.csv"
    assert api.get(url).json()["job"]["id"] == report["job"]["id"]  # the newest report


def test_bad_drift_requests_change_nothing(monitored: tuple[Dataset, int, int], api: Any) -> None:
    dataset, first, _ = monitored
    url = f"/api/v1/datasets/{dataset.pk}/drift/"
    for body, field in [
        ({"reference": {"import_batch": first}}, "current"),
        ({"reference": {"import_batch": 999}, "current": {"dataset": True}}, "reference"),
        ({"current": {"version": 7}}, "current"),
        ({"current": {"dataset": True}, "thresholds": {"psi": -1}}, "thresholds"),
        ({"current": {"dataset": True}, "colour": 1}, "params"),
    ]:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), response.json()
    wrong = io.BytesIO(b"not a table")
    wrong.name = "today.exe"
    response = api.post(url, {"file": wrong}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()
    assert not Job.objects.filter(kind="drift").exists()
    assert api.get(url).status_code == 404


def test_drift_page_shows_the_verdict_and_charts(
    monitored: tuple[Dataset, int, int], owner: Any, annotator: Any, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from django.test import Client

    dataset, first, second = monitored
    settings.CELERY_TASK_ALWAYS_EAGER = True
    page = Client()
    page.force_login(owner)
    url = f"/datasets/{dataset.pk}/drift/"
    assert "No drift report yet" in page.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = page.post(url, {"current": f"batch:{second}", "reference": f"batch:{first}"})
    assert response.status_code == 302
    html = page.get(url).content.decode()
    assert "No drift in 4 fields" in html
    assert html.count('class="drift-hist"') == 2  # score and the text's length
    assert html.count('class="drift-cats"') >= 2  # country, channel (and the labels)
    response = page.post(url, {"current": "batch:999"}, follow=True)
    assert "There is no import batch 999" in response.content.decode()
    watcher = Client()
    watcher.force_login(annotator)
    assert watcher.get(url).status_code == 403


def test_data_quality_report_with_rules(
    monitored: tuple[Dataset, int, int], api: Any, run_job: Any
) -> None:
    dataset, first, _ = monitored
    base = f"/api/v1/datasets/{dataset.pk}"
    bad = api.put(
        f"{base}/quality-rules/",
        {"rules": [{"field": "nation", "check": "required"}]},
        format="json",
    )
    assert bad.status_code == 400 and "nation" in json.dumps(bad.json())
    rules = [
        {"field": "channel", "check": "required"},
        {"field": "country", "check": "allowed", "values": ["DE", "FR"]},
        {"field": "score", "check": "range", "min": 0, "max": 100},
    ]
    saved = api.put(f"{base}/quality-rules/", {"rules": rules}, format="json")
    assert saved.status_code == 200, saved.json()
    assert api.get(f"{base}/quality-rules/").json()["rules"] == saved.json()["rules"]
    assert api.get(f"{base}/quality-report/").status_code == 404

    job = run_job(dataset, kind="data_quality", target={"import_batch": first})
    assert job["status"] == "succeeded", job["error"]
    report = api.get(f"{base}/quality-report/").json()
    assert report["rows"] == 3000
    fields = {f["name"]: f for f in report["fields"]}
    assert fields["score"]["kind"] == "numeric"
    assert fields["text"]["kind"] == "text"
    results = {r["rule"]["check"]: r for r in report["rules"]}
    us = sum(1 for line in batch_csv(3000, 1, ids="a").splitlines()[1:] if ",US," in line)
    missing = fields["channel"]["missing"]
    assert results["allowed"]["violations"] == us and not results["allowed"]["passed"]
    assert results["required"]["violations"] == missing
    assert results["range"]["passed"]
    assert report["class_balance"]["labelled"] == 3000
    # Bad targets and rules: 400, no job.
    for params in ({"target": {"import_batch": 999}}, {"rules": [{"field": "x", "check": "odd"}]}):
        response = api.post(
            f"{base}/jobs/", {"kind": "data_quality", "params": params}, format="json"
        )
        assert response.status_code == 400, params


def test_lineage_names_the_version_each_job_read(
    monitored: tuple[Dataset, int, int], owner: Any, annotator: Any, api: Any, run_job: Any
) -> None:
    from django.test import Client

    dataset, _, second = monitored
    frozen = run_job(dataset, kind="freeze_version", note="baseline")
    assert frozen["status"] == "succeeded", frozen["error"]
    on_version = run_job(dataset, kind="data_quality", target={"version": 1})
    assert on_version["status"] == "succeeded", on_version["error"]
    baseline = run_job(dataset, kind="baseline_model", folds=2)
    assert baseline["status"] == "succeeded", baseline["error"]
    from quality.models import ModelRun

    assert ModelRun.objects.get(job_id=baseline["id"]).trained_on == "v1"
    drift = run_job(
        dataset, kind="drift", reference={"version": 1}, current={"import_batch": second}
    )
    assert drift["status"] == "succeeded", drift["error"]
    assert drift["result"]["reference"]["rows"] == 6000  # both batches were frozen
    # A label changes: the live data is no longer version 1.
    item = api.get(f"/api/v1/datasets/{dataset.pk}/items/?page_size=1").json()["results"][0]
    api.post(
        f"/api/v1/datasets/{dataset.pk}/decisions/",
        {"item": item["id"], "label": "neg"},
        format="json",
    )
    later = run_job(dataset, kind="data_quality")
    assert api.get(f"/api/v1/jobs/{on_version['id']}/").json()["dataset_version"] == 1
    assert api.get(f"/api/v1/jobs/{later['id']}/").json()["dataset_version"] is None
    page = Client()
    page.force_login(owner)
    html = page.get(f"/datasets/{dataset.pk}/lineage/").content.decode()
    version_part, live_part = html.split('id="live-title"')
    assert f"#{on_version['id']} " in version_part and f"#{drift['id']} " in version_part
    assert f"#{later['id']} " in live_part and f"#{later['id']} " not in version_part
    assert "Model runs trained on it: #" in version_part
    watcher = Client()
    watcher.force_login(annotator)
    assert watcher.get(f"/datasets/{dataset.pk}/lineage/").status_code == 403


def test_an_unlabelled_batch_against_a_labelled_reference(
    monitored: tuple[Dataset, int, int], api: Any, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    """The usual monitoring case: production inputs without labels against labelled data."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    dataset, first, _ = monitored
    rows = batch_csv(2000, 9).splitlines()
    unlabelled = io.BytesIO("\n".join(line.rsplit(",", 1)[0] for line in rows).encode())
    unlabelled.name = "prod.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/datasets/{dataset.pk}/drift/",
            {"file": unlabelled, "reference": json.dumps({"import_batch": first})},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    report = api.get(response.json()["report"]).json()
    assert report["job"]["status"] == "succeeded", report["job"]["error"]
    assert report["verdict"] == "no drift" and report["labels"] is None


def test_numeric_data_fields_are_compared_as_numbers_not_text_lengths(
    owner: Any, upload: Any, api: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A table's data fields hold numbers: a shift of their values (same number of digits, so
    the same text lengths) is drift, and the data-quality report summarises them as numbers."""
    dataset = services.dataset_create(name="Sensors", created_by=owner, labels=["ok", "bad"])
    rng = np.random.default_rng(7)

    def table(n: int, mean: float, prefix: str) -> str:
        rows = [
            f"{prefix}{i},{rng.normal(mean, 3.0):.2f},{rng.choice(['ok', 'bad'])}" for i in range(n)
        ]
        return "id,pressure,label\n" + "\n".join(rows) + "\n"

    mapping = json.dumps({"external_id": "id", "data": ["pressure"], "label": "label"})
    for name, mean, prefix in (("a.csv", 50.0, "a"), ("b.csv", 56.0, "b")):
        assert upload(dataset, name, table(2000, mean, prefix), mapping=mapping).status_code == 201
    first, second = ImportBatch.objects.filter(dataset=dataset).order_by("id")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/datasets/{dataset.pk}/drift/",
            {"reference": {"import_batch": first.pk}, "current": {"import_batch": second.pk}},
            format="json",
        )
    report = api.get(response.json()["report"]).json()
    pressure = next(f for f in report["fields"] if f["field"] == "pressure")
    assert pressure["kind"] == "numeric" and pressure["drifted"], pressure
    assert report["verdict"] == "drift"

    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            f"/api/v1/datasets/{dataset.pk}/jobs/",
            {"kind": "data_quality", "params": {"target": {"import_batch": first.pk}}},
            format="json",
        )
    quality = api.get(f"/api/v1/datasets/{dataset.pk}/quality-report/").json()
    field = next(f for f in quality["fields"] if f["name"] == "pressure")
    assert field["numeric"]["mean"] == pytest.approx(50.0, abs=0.5), field
