"""The baseline-model job: out-of-sample probabilities stored as a model run with its lineage,
then the label-issue job on it finds labels flipped on purpose."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from labeling import services
from quality.models import LabelIssue, ModelRun

TOPICS = {
    "sport": "match goal team coach league score player season referee stadium",
    "food": "recipe oven flour sugar butter taste dinner kitchen spice sauce",
    "tech": "laptop software update battery screen chip cloud server code app",
}


def texts(n: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    names = list(TOPICS)
    for i in range(n):
        topic = names[i % 3]
        words = rng.choice(TOPICS[topic].split(), size=8).tolist()
        rows.append((f"t{i}", " ".join(words)))
    return rows


def test_baseline_then_label_issues_find_flipped_labels(
    owner: Any, api: Any, upload: Any, run_job: Any
) -> None:
    dataset = services.dataset_create(
        name="Topics", created_by=owner, labels=list(TOPICS), annotators_per_item=1
    )
    rows = texts(300)
    names = list(TOPICS)
    flipped = {5, 50, 100, 150, 200, 250}
    lines = []
    for i, (ext, text) in enumerate(rows):
        label = names[(i + (1 if i in flipped else 0)) % 3]
        lines.append(f"{ext},{text},{label}\n")
    assert upload(dataset, "t.csv", "id,text,label\n" + "".join(lines)).status_code == 201

    job = run_job(dataset, "baseline_model", folds=5, seed=1)
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["kind"] == "text" and result["items"] == 300
    assert len(result["fold_metrics"]) == 5 and result["accuracy"] > 0.9
    run = ModelRun.objects.get(pk=result["model_run"])
    assert (run.source, run.job_id, run.prediction_count) == ("baseline", job["id"], 300)
    assert run.dataset_state["items"] == 300 and run.hyperparameters
    assert run.features  # an embedding for Datalab's checks

    issues = run_job(dataset, "label_issues", model_run=run.pk)
    assert issues["status"] == "succeeded", issues["error"]
    found = set(
        LabelIssue.objects.filter(job_id=issues["id"], issue_type="label").values_list(
            "item__external_id", flat=True
        )
    )
    planted = {f"t{i}" for i in flipped}
    # cleanlab's pruning is conservative on a 2% noise rate: most, not always all, are found.
    assert len(planted & found) >= 5
    assert len(found - planted) <= 3  # and few clean items are flagged


def png(value: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (8, 8), color=value).save(out, format="PNG")
    return out.getvalue()


def test_baseline_on_images(owner: Any, upload: Any, run_job: Any) -> None:
    dataset = services.dataset_create(
        name="Light", created_by=owner, labels=["dark", "bright"], annotators_per_item=1
    )
    archive = io.BytesIO()
    rows = ["file,label\n"]
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(40):
            bright = i % 2 == 0
            z.writestr(f"img{i}.png", png(220 + i % 20 if bright else 20 + i % 20))
            rows.append(f"img{i}.png,{'bright' if bright else 'dark'}\n")
        z.writestr("labels.csv", "".join(rows))
    assert upload(dataset, "imgs.zip", archive.getvalue()).status_code == 201
    job = run_job(dataset, "baseline_model", folds=4)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["kind"] == "image" and job["result"]["accuracy"] > 0.9


def test_bad_baseline_params_and_data(owner: Any, api: Any, upload: Any, run_job: Any) -> None:
    dataset = services.dataset_create(name="Tiny", created_by=owner, labels=["a", "b"])
    url = f"/api/v1/datasets/{dataset.pk}/jobs/"
    response = api.post(url, {"kind": "baseline_model", "params": {"folds": 1}}, format="json")
    assert response.status_code == 400 and "folds" in response.json()
    job = run_job(dataset, "baseline_model")
    assert job["status"] == "failed" and "labelled items" in job["error"]
    assert upload(dataset, "t.csv", "id,text,label\n1,x,a\n2,y,a\n3,z,b\n").status_code == 201
    job = run_job(dataset, "baseline_model")
    assert job["status"] == "failed" and "baseline model can't run" in job["error"]
    assert not ModelRun.objects.exists()
    assert json.dumps(job)  # the error is plain text
