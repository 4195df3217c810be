"""The slice-analysis job through the public API: the lecture's error-analysis table built from
real labeller records (an import with a labeller column, reviewers' decisions) and a model run,
plus saved rules, error tags, discovery, drill-down, CSV and bad parameters."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np
import pytest

from labeling import services
from labeling.models import Dataset, Item
from workbench.models import Job

K = 3
LABELS = ["a", "b", "c"]
# slice → (items of 1,000, model right, items where one of three labellers is wrong), times 5
LECTURE = {
    "Clean speech": (600, 564, 90),
    "Car noise": (40, 35.6, 8.4),
    "People noise": (300, 261, 99),
    "Low bandwidth": (60, 42, 54),
}


def lecture_rows(scale: int) -> tuple[str, dict[str, int], dict[str, int], list[str]]:
    """CSV of one row per label (3 per item), the true class and the model's prediction per
    external id, and the items a reviewer must decide (where labellers disagree)."""
    rng = np.random.default_rng(11)
    lines = ["id,text,noise,device,worker,label"]
    truth: dict[str, int] = {}
    predicted: dict[str, int] = {}
    disputed: list[str] = []
    n = 0
    for name, (size, right, wrong) in LECTURE.items():
        size, right, wrong = int(size * scale), round(right * scale), round(wrong * scale)
        for i in range(size):
            ext = f"u{n}"
            true = int(rng.integers(0, K))
            truth[ext] = true
            predicted[ext] = true if i < right else (true + 1) % K
            labels = [true] * 3
            if i < wrong:
                labels[i % 3] = (true + 1) % K
                disputed.append(ext)
            device = "phone" if n % 2 else "laptop"
            for j in range(3):
                worker = f"w{(n + j) % 10}"
                lines.append(f"{ext},Clip {n},{name},{device},{worker},{LABELS[labels[j]]}")
            n += 1
    return "\n".join(lines) + "\n", truth, predicted, disputed


@pytest.fixture
def lecture(owner: Any, api: Any, upload: Any) -> tuple[Dataset, int]:
    """5,000 clips with the lecture's slices and rates, three labels each, a model run, and
    reviewers' decisions (the true class) on every clip whose labellers disagree."""
    dataset = services.dataset_create(
        name="Speech", created_by=owner, labels=LABELS, annotators_per_item=3
    )
    content, truth, predicted, disputed = lecture_rows(scale=5)
    mapping = {
        "external_id": "id",
        "data": ["text"],
        "metadata": ["noise", "device"],
        "labeller": "worker",
        "label": "label",
    }
    response = upload(dataset, "speech.csv", content, mapping=json.dumps(mapping))
    assert response.status_code == 201, response.json()
    ids = dict(Item.objects.filter(dataset=dataset).values_list("external_id", "id"))
    decisions = [{"item": ids[ext], "label": LABELS[truth[ext]]} for ext in disputed]
    response = api.post(f"/api/v1/datasets/{dataset.pk}/decisions/", decisions, format="json")
    assert response.status_code == 201, response.json()
    probabilities = np.full((len(predicted), K), 0.1)
    exts = list(predicted)
    probabilities[np.arange(len(exts)), [predicted[e] for e in exts]] = 0.8
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/model-runs/",
        {
            "name": "asr",
            "version": "1",
            "predictions": [
                {"external_id": e, "probabilities": p}
                for e, p in zip(exts, probabilities.tolist(), strict=True)
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return dataset, response.json()["id"]


def test_the_lecture_table_through_the_api(
    lecture: tuple[Dataset, int], api: Any, run_job: Any
) -> None:
    dataset, run_id = lecture
    job = run_job(dataset, kind="slices", fields=["noise"], text_fields=[], discover=False)
    assert job["status"] == "succeeded", job["error"]
    assert job["params"]["model_run"] == run_id  # the newest run by default

    report = api.get(f"/api/v1/datasets/{dataset.pk}/slices/").json()
    rows = {r["slice"]: r for r in report["rows"]}
    expected = {  # accuracy, HLP, gap, share, potential improvement
        "Clean speech": (0.94, 0.95, 0.01, 0.60, 0.0060),
        "Car noise": (0.89, 0.93, 0.04, 0.04, 0.0016),
        "People noise": (0.87, 0.89, 0.02, 0.30, 0.0060),
        "Low bandwidth": (0.70, 0.70, 0.00, 0.06, 0.0),
    }
    for name, (accuracy, hlp, gap, share, potential) in expected.items():
        row = rows[f"noise = {name}"]
        assert row["accuracy"] == pytest.approx(accuracy, abs=1e-9), name
        assert row["hlp"] == pytest.approx(hlp, abs=1e-9), name
        assert row["gap"] == pytest.approx(gap, abs=1e-9), name
        assert row["share"] == pytest.approx(share, abs=1e-9), name
        assert row["potential_improvement"] == pytest.approx(potential, abs=1e-9), name
        assert row["accuracy_low"] < row["accuracy"] < row["accuracy_high"] or accuracy == 1
        assert row["hlp_n"] == 3 * row["n_items"]
    assert [r["slice"] for r in report["rows"]][:4] == [
        "noise = Clean speech",
        "noise = People noise",
        "noise = Car noise",
        "noise = Low bandwidth",
    ]
    assert report["overall"]["n_items"] == 5000
    assert "potential_improvement" in report["definitions"]

    # The CSV download holds the same table.
    response = api.get(f"/api/v1/datasets/{dataset.pk}/slices/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["slice"] for r in table][:5] == [
        "All data",
        "noise = Clean speech",
        "noise = People noise",
        "noise = Car noise",
        "noise = Low bandwidth",
    ]
    assert float(table[3]["potential_improvement"]) == pytest.approx(0.0016)

    # Drill down: the items of a slice, as the job saw them.
    car = rows["noise = Car noise"]
    listed = api.get(f"/api/v1/datasets/{dataset.pk}/slices/{car['number']}/items/").json()
    assert listed["count"] == 200
    assert {r["metadata"]["noise"] for r in listed["results"]} == {"Car noise"}
    assert len(listed["results"]) == 50
    second = api.get(f"/api/v1/datasets/{dataset.pk}/slices/{car['number']}/items/?page=4")
    assert len(second.json()["results"]) == 50
    assert api.get(f"/api/v1/datasets/{dataset.pk}/slices/999/items/").status_code == 404
    export = api.get(f"/api/v1/datasets/{dataset.pk}/slices/{car['number']}/export/?format=csv")
    assert export.status_code == 200
    exported = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(exported) == 200
    assert {row["metadata.noise"] for row in exported} == {"Car noise"}


def test_rules_tags_and_discovery(lecture: tuple[Dataset, int], api: Any, run_job: Any) -> None:
    dataset, _ = lecture
    base = f"/api/v1/datasets/{dataset.pk}"
    bad = api.post(
        f"{base}/slice-rules/",
        {"name": "x", "conditions": [["nation", "=", "DE"]]},
        format="json",
    )
    assert bad.status_code == 400 and "nation" in json.dumps(bad.json())
    rule = api.post(
        f"{base}/slice-rules/",
        {
            "name": "Noisy phones",
            "conditions": [["noise", "!=", "Clean speech"], ["device", "=", "phone"]],
        },
        format="json",
    )
    assert rule.status_code == 201, rule.json()
    twice = api.post(
        f"{base}/slice-rules/",
        {"name": "Noisy phones", "conditions": [["device", "=", "x"]]},
        format="json",
    )
    assert twice.status_code == 400
    low = list(
        Item.objects.filter(dataset=dataset, metadata__noise="Low bandwidth").values_list(
            "id", flat=True
        )[:25]
    )
    assert (
        api.post(f"{base}/tags/", {"tag": "muffled", "items": low}, format="json").status_code
        == 201
    )

    job = run_job(dataset, kind="slices", min_items=20, min_labels=20)
    assert job["status"] == "succeeded", job["error"]
    rows = {r["slice"]: r for r in api.get(f"{base}/slices/").json()["rows"]}
    noisy_phones = (
        Item.objects.filter(dataset=dataset, metadata__device="phone")
        .exclude(metadata__noise="Clean speech")
        .count()
    )
    assert rows["Noisy phones"]["n_items"] == noisy_phones
    assert rows["Noisy phones"]["source"] == "rule"
    assert rows["tag: muffled"]["n_items"] == 25 and rows["tag: muffled"]["source"] == "tag"
    discovered = [r for r in rows.values() if r["source"] == "discovered"]
    assert discovered, "discovery found nothing"
    # The worst slice is Low bandwidth (30% wrong against 10% overall).
    top = max(discovered, key=lambda r: 1 - r["accuracy"])
    assert "Low bandwidth" in top["slice"]
    assert all(r["too_small"] is False for r in rows.values() if r["n_items"] >= 200)


def test_bad_parameters_change_nothing(lecture: tuple[Dataset, int], api: Any) -> None:
    dataset, _ = lecture
    url = f"/api/v1/datasets/{dataset.pk}/jobs/"
    before = Job.objects.count()
    for params, field in [
        ({"fields": ["nation"]}, "fields"),
        ({"numeric_bins": 1}, "numeric_bins"),
        ({"max_level": 4}, "max_level"),
        ({"model_run": 999}, "model_run"),
        ({"discover": "yes"}, "discover"),
        ({"colour": 1}, "params"),
    ]:
        response = api.post(url, {"kind": "slices", "params": params}, format="json")
        assert response.status_code == 400, params
        assert field in response.json(), response.json()
    assert Job.objects.count() == before
    assert api.get(f"/api/v1/datasets/{dataset.pk}/slices/").status_code == 404
