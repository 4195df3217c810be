"""Real crowd data through the public API: Snow et al. 2008 RTE, TEMP and WSD imported as
uploaded (one row per Mechanical Turk answer), the agreement job run with majority vote and
with Dawid-Skene, and the consensus read back from /consensus/ and compared with gold."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labeling import services
from labeling.models import Item
from tests.shared_data import SHARED_DATA, missing

SNOW = SHARED_DATA / "snow2008"
LABELS = SNOW / "all_collected_data"

pytestmark = pytest.mark.skipif(
    missing(LABELS),
    reason=f"The Snow et al. 2008 reference data is not at {LABELS} (../shared/data/snow2008).",
)


def consensus_accuracy(api: Any, dataset_id: int) -> float:
    gold = dict(
        Item.objects.filter(dataset_id=dataset_id).values_list("external_id", "metadata__gold")
    )
    right = total = 0
    url = f"/api/v1/datasets/{dataset_id}/consensus/?page_size=1000"
    while url:
        page = api.get(url).json()
        for row in page["results"]:
            total += 1
            right += row["label"] == str(gold[row["external_id"]])
        url = page["next"]
    assert total == len(gold)
    return right / total


def assert_new_answers_would_agree(dataset_id: int) -> None:
    """The job's reference labels are exactly what the per-answer refresh computes (same
    method, stored model, tie-break keys), so a new answer never flips another item."""

    def snapshot() -> list[tuple[Any, ...]]:
        return list(
            Item.objects.filter(dataset_id=dataset_id)
            .order_by("id")
            .values_list("reference_label_id", "reference_method", "annotation_count")
        )

    def confidences() -> list[float]:
        return list(
            Item.objects.filter(dataset_id=dataset_id)
            .order_by("id")
            .values_list("reference_confidence", flat=True)
        )

    before, before_confidence = snapshot(), confidences()
    services.reference_labels_refresh(dataset_id=dataset_id)
    assert snapshot() == before
    assert confidences() == pytest.approx(before_confidence, abs=1e-9)


# (task, labels, majority-vote floor, Dawid-Skene floor). Published: RTE majority vote ~89.7%
# with random ties, Dawid-Skene ~92.8% (../shared/data/README.md).
TASKS = [
    ("rte", ["0", "1"], 0.89, 0.92),
    ("temp", ["1", "2"], 0.93, 0.935),
    ("wsd", ["1", "2", "3"], 0.99, 0.99),
]


@pytest.mark.parametrize(("task", "labels", "mv_floor", "ds_floor"), TASKS)
def test_consensus_matches_gold(
    owner: Any,
    api: Any,
    upload: Any,
    run_job: Any,
    task: str,
    labels: list[str],
    mv_floor: float,
    ds_floor: float,
) -> None:
    dataset = services.dataset_create(
        name=task.upper(), created_by=owner, labels=labels, annotators_per_item=10
    )
    mapping = {
        "external_id": "orig_id",
        "data": ["orig_id"],
        "metadata": ["gold"],
        "labeller": "!amt_worker_ids",
        "label": "response",
    }
    path = LABELS / f"{task}.standardized.tsv"
    response = upload(dataset, path.name, path.read_bytes(), mapping=json.dumps(mapping))
    assert response.status_code == 201, response.json()

    job = run_job(dataset, consensus_method="majority_vote")
    assert job["status"] == "succeeded", job["error"]
    majority = consensus_accuracy(api, dataset.pk)
    assert_new_answers_would_agree(dataset.pk)
    job = run_job(dataset, consensus_method="dawid_skene")
    assert job["status"] == "succeeded", job["error"]
    dawid_skene = consensus_accuracy(api, dataset.pk)
    assert_new_answers_would_agree(dataset.pk)
    print(f"{task}: majority vote {majority:.4f}, Dawid-Skene {dawid_skene:.4f}")
    assert majority >= mv_floor
    assert dawid_skene >= ds_floor
    assert dawid_skene >= majority - 0.005
    report = api.get(f"/api/v1/datasets/{dataset.pk}/agreement/").json()["report"]
    assert report["consensus"]["method"] == "dawid_skene"
    assert report["counts"]["annotations"] == sum(1 for _ in path.open()) - 1
