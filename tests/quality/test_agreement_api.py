"""Agreement, consensus and review through the REST API on imported datasets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labeling import services
from labeling.models import Dataset, Decision, Item, LabelEvent, Role
from tests.conftest import client_for, db_counts
from tests.shared_data import SHARED_DATA, missing

REFERENCE = SHARED_DATA / "agreement_reference" / "agreement_reference.json"


def long_csv(rows: list[tuple[str, str, str]]) -> str:
    return "item,text,worker,label\n" + "".join(
        f"{i},Text of {i},{w},{lab}\n" for i, w, lab in rows
    )


def import_long(upload: Any, dataset: Dataset, rows: list[tuple[str, str, str]]) -> None:
    """One row per annotation, the item's text repeated on each."""
    mapping = {"external_id": "item", "labeller": "worker", "label": "label", "data": ["text"]}
    response = upload(dataset, "labels.csv", long_csv(rows), mapping=json.dumps(mapping))
    assert response.status_code == 201, response.json()


@pytest.fixture
def three_labellers(owner: Any, reviewer: Any, annotator: Any, upload: Any) -> Dataset:
    dataset = services.dataset_create(
        name="Sentiment", created_by=owner, labels=["pos", "neg", "neu"], annotators_per_item=3
    )
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    # i1 unanimous pos; i2 pos pos neg; i3 neg neg neg; i4 pos neu neg (three-way split);
    # i5 a single label.
    import_long(
        upload,
        dataset,
        [
            ("i1", "A", "pos"), ("i1", "B", "pos"), ("i1", "C", "pos"),
            ("i2", "A", "pos"), ("i2", "B", "pos"), ("i2", "C", "neg"),
            ("i3", "A", "neg"), ("i3", "B", "neg"), ("i3", "C", "neg"),
            ("i4", "A", "pos"), ("i4", "B", "neu"), ("i4", "C", "neg"),
            ("i5", "A", "neu"),
        ],
    )  # fmt: skip
    return dataset


def test_agreement_report_through_the_api(three_labellers: Dataset, run_job: Any, api: Any) -> None:
    job = run_job(three_labellers)
    assert job["status"] == "succeeded", job["error"]
    report = api.get(f"/api/v1/datasets/{three_labellers.pk}/agreement/").json()["report"]
    assert report["counts"] == {
        "items": 5,
        "labellers": 3,
        "annotations": 13,
        "items_with_2plus": 4,
    }
    # Percent agreement: P_i = (1, 1/3, 1, 0) over the four items with 3 labels → 7/12.
    assert report["percent_agreement"]["value"] == pytest.approx(7 / 12)
    # Fleiss on the 4 items with 3 labels: P̄ = 7/12; pooled shares pos 5/12, neg 6/12, neu 1/12
    # → P̄e = (25 + 36 + 1) / 144 = 62/144; kappa = (7/12 - 62/144) / (1 - 62/144) = 22/82.
    assert report["fleiss"]["value"] == pytest.approx(22 / 82)
    assert (report["fleiss"]["n_items"], report["fleiss"]["raters_per_item"]) == (4, 3)
    labellers = {row["name"]: row for row in report["labellers"]}
    # C against the others: i1 agree, i2 disagree (pos), i3 agree, i4 others split pos/neu → 0.
    assert labellers["C"]["n"] == 4 and labellers["C"]["agree"] == pytest.approx(2)
    assert report["labels"] == ["pos", "neg", "neu"]
    assert "alpha" in report["definitions"]
    consensus = api.get(f"/api/v1/datasets/{three_labellers.pk}/consensus/").json()["results"]
    by_id = {row["external_id"]: row for row in consensus}
    assert by_id["i2"]["label"] == "pos"
    assert by_id["i2"]["method"] == "majority_vote"
    assert by_id["i2"]["confidence"] == pytest.approx(2 / 3)
    assert by_id["i5"]["n_labels"] == 1


def test_only_staff_see_agreement_and_consensus(
    three_labellers: Dataset, run_job: Any, annotator: Any, outsider: Any
) -> None:
    run_job(three_labellers)
    for path in ("agreement", "consensus", "disagreements", "decisions", "labellers"):
        url = f"/api/v1/datasets/{three_labellers.pk}/{path}/"
        assert client_for(annotator).get(url).status_code == 403, path
        assert client_for(outsider).get(url).status_code == 404, path


def test_no_report_yet_says_how_to_start_one(three_labellers: Dataset, api: Any) -> None:
    response = api.get(f"/api/v1/datasets/{three_labellers.pk}/agreement/")
    assert response.status_code == 404
    assert '"kind": "agreement"' in response.json()["detail"]


def test_bad_agreement_params_are_refused(three_labellers: Dataset, api: Any) -> None:
    url = f"/api/v1/datasets/{three_labellers.pk}/jobs/"
    before = db_counts()
    response = api.post(
        url, {"kind": "agreement", "params": {"consensus_method": "vibes"}}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown method 'vibes'" in str(response.json())
    response = api.post(url, {"kind": "agreement", "params": {"min_sharde": 3}}, format="json")
    assert response.status_code == 400 and "min_sharde" in str(response.json())
    assert db_counts() == before


def test_a_dataset_without_labels_fails_with_a_clear_error(
    dataset: Dataset, upload: Any, run_job: Any
) -> None:
    assert upload(dataset, "t.csv", "text\nhello\n").status_code == 201
    job = run_job(dataset)
    assert job["status"] == "failed"
    assert "no labels yet" in job["error"]


def test_decision_becomes_the_reference_label_and_is_logged(
    three_labellers: Dataset, run_job: Any, reviewer: Any
) -> None:
    run_job(three_labellers)
    client = client_for(reviewer)
    base = f"/api/v1/datasets/{three_labellers.pk}"
    queue = client.get(f"{base}/disagreements/").json()
    # i4 (three-way split, confidence 1/3) comes before i2 (2/3); unanimous i1, i3 are not there.
    assert [row["external_id"] for row in queue["results"]] == ["i4", "i2"]
    assert queue["count"] == 2
    first = queue["results"][0]
    assert sorted(a["labeller"] for a in first["answers"]) == ["A", "B", "C"]
    assert all(a["reliability"] is not None for a in first["answers"])
    response = client.post(
        f"{base}/decisions/", {"item": first["item"], "label": "neu", "note": "sarcasm"}
    )
    assert response.status_code == 201, response.json()
    item = Item.objects.select_related("reference_label").get(pk=first["item"])
    assert (item.reference_label.name, item.reference_method, item.reference_confidence) == (
        "neu",
        "decision",
        1.0,
    )
    event = LabelEvent.objects.filter(item=item, kind="decision").get()
    assert (event.new_label, event.reason, event.actor) == ("neu", "sarcasm", reviewer)
    assert event.old_label in {"pos", "neg", "neu"}
    # The same decision again (a retried request) changes nothing.
    assert (
        client.post(
            f"{base}/decisions/", {"item": first["item"], "label": "neu", "note": "sarcasm"}
        ).status_code
        == 201
    )
    assert LabelEvent.objects.filter(item=item, kind="decision").count() == 1
    assert [r["external_id"] for r in client.get(f"{base}/disagreements/").json()["results"]] == [
        "i2"
    ]
    consensus = {r["external_id"]: r for r in client.get(f"{base}/consensus/").json()["results"]}
    assert consensus["i4"]["method"] == "decision"
    # A new agreement run keeps the decision as the reference label.
    run_job(three_labellers)
    item.refresh_from_db()
    assert item.reference_method == "decision"


def test_bad_decisions_change_nothing(
    three_labellers: Dataset, reviewer: Any, annotator: Any
) -> None:
    base = f"/api/v1/datasets/{three_labellers.pk}"
    item = Item.objects.get(dataset=three_labellers, external_id="i2")
    client = client_for(reviewer)
    before = db_counts()
    response = client.post(
        f"{base}/decisions/",
        [{"item": item.pk, "label": "neg"}, {"item": item.pk, "label": "purple"}],
        format="json",
    )
    assert response.status_code == 400 and "Unknown label 'purple'" in str(response.json())
    response = client.post(f"{base}/decisions/", {"item": 999999, "label": "neg"})
    assert response.status_code == 400 and "no item 999999" in str(response.json())
    response = client_for(annotator).post(f"{base}/decisions/", {"item": item.pk, "label": "neg"})
    assert response.status_code == 403
    assert db_counts() == before and not Decision.objects.exists()


def test_accept_unanimous_items(three_labellers: Dataset, reviewer: Any) -> None:
    base = f"/api/v1/datasets/{three_labellers.pk}"
    response = client_for(reviewer).post(f"{base}/decisions/accept-unanimous/", {})
    assert response.json() == {"decided": 2}  # i1 and i3; i5 has a single label
    decided = Decision.objects.filter(item__dataset=three_labellers).select_related("item")
    assert sorted(d.item.external_id for d in decided) == ["i1", "i3"]
    assert {d.method for d in decided} == {"consensus"}
    assert LabelEvent.objects.filter(kind="decision").count() == 2
    assert client_for(reviewer).post(f"{base}/decisions/accept-unanimous/", {}).json() == {
        "decided": 0
    }


def test_dawid_skene_consensus_follows_the_reliable_labellers(
    owner: Any, upload: Any, run_job: Any, api: Any
) -> None:
    dataset = services.dataset_create(
        name="Spam", created_by=owner, labels=["ham", "spam"], annotators_per_item=3
    )
    # Labellers A and B are always right on 40 gold-like items; C always says the opposite and
    # D agrees with A. On item "x", C and D outvote A: majority vote follows them, Dawid-Skene
    # has learnt that C is always wrong and sides with A.
    rows = []
    for i in range(40):
        truth = "spam" if i % 3 == 0 else "ham"
        wrong = "ham" if truth == "spam" else "spam"
        rows += [(f"g{i}", "A", truth), (f"g{i}", "B", truth), (f"g{i}", "C", wrong)]
        if i < 20:
            rows.append((f"g{i}", "D", truth))
    rows += [("x", "A", "spam"), ("x", "C", "ham"), ("x", "D", "ham")]
    dataset.annotators_per_item = 4
    dataset.save()
    import_long(upload, dataset, rows)
    job = run_job(dataset, consensus_method="dawid_skene")
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["consensus"]["method"] == "dawid_skene"
    x = Item.objects.select_related("reference_label").get(dataset=dataset, external_id="x")
    assert (x.reference_label.name, x.reference_method) == ("spam", "dawid_skene")
    assert x.reference_confidence > 0.9
    dataset.refresh_from_db()
    assert dataset.consensus_method == "dawid_skene"
    labellers = {r["name"]: r for r in job["result"]["labellers"]}
    assert labellers["C"]["ds_accuracy"] < 0.1 < 0.9 < labellers["A"]["ds_accuracy"]
    assert labellers["C"]["flagged"] and not labellers["A"]["flagged"]
    # A new answer on a new item gets the fitted model's consensus without a new job.
    user = services.labeller_for_user(dataset=dataset, user=owner)
    assert user
    import_long(upload, dataset, [("y", "A", "ham"), ("y", "C", "spam")])
    y = Item.objects.select_related("reference_label").get(dataset=dataset, external_id="y")
    assert (y.reference_label.name, y.reference_method) == ("ham", "dawid_skene")
    # Back to majority vote: the reference labels follow.
    assert (
        api.patch(
            f"/api/v1/datasets/{dataset.pk}/", {"consensus_method": "majority_vote"}, format="json"
        ).status_code
        == 200
    )
    x.refresh_from_db()
    assert (x.reference_label.name, x.reference_method) == ("ham", "majority_vote")


@pytest.mark.skipif(missing(REFERENCE), reason=f"No reference data at {REFERENCE}.")
def test_published_values_through_an_imported_dataset(
    owner: Any, upload: Any, run_job: Any, api: Any
) -> None:
    example = json.loads(REFERENCE.read_text())["krippendorff2011_C"]
    dataset = services.dataset_create(
        name="Krippendorff 2011", created_by=owner, labels=["1", "2", "3", "4", "5"],
        annotators_per_item=4,
    )  # fmt: skip
    api.patch(f"/api/v1/datasets/{dataset.pk}/", {"labels_ordered": True}, format="json")
    rows = [
        (f"u{unit}", f"observer{o}", str(value))
        for o, observer in enumerate(example["data"])
        for unit, value in enumerate(observer)
        if value is not None
    ]
    import_long(upload, dataset, rows)
    report = run_job(dataset)["result"]
    expected = example["expected"]
    assert report["alpha_nominal"]["value"] == pytest.approx(expected["nominal"], abs=5e-4)
    assert report["level"] == "ordinal"
    assert report["alpha"]["value"] == pytest.approx(expected["ordinal"], abs=5e-4)
    assert report["alpha_interval"]["value"] == pytest.approx(expected["interval"], abs=5e-4)

    fleiss = json.loads(REFERENCE.read_text())["wikipedia_fleiss_10x5"]
    dataset = services.dataset_create(
        name="Fleiss", created_by=owner, labels=["a", "b", "c", "d", "e"], annotators_per_item=14
    )
    rows = []
    for subject, counts in enumerate(fleiss["data"]):
        rater = 0
        for category, count in enumerate(counts):
            for _ in range(count):
                rows.append((f"s{subject}", f"r{rater}", "abcde"[category]))
                rater += 1
    import_long(upload, dataset, rows)
    report = run_job(dataset)["result"]
    assert report["fleiss"]["value"] == pytest.approx(fleiss["expected"]["fleiss_kappa"], abs=5e-4)
    assert report["percent_agreement"]["value"] == pytest.approx(
        fleiss["expected"]["P_bar"], abs=5e-4
    )


def test_undefined_figures_are_reported_as_such(owner: Any, upload: Any, run_job: Any) -> None:
    dataset = services.dataset_create(
        name="Edge", created_by=owner, labels=["yes", "no", "never used"], annotators_per_item=2
    )
    # One labeller only: nothing can be compared.
    import_long(upload, dataset, [("a", "solo", "yes"), ("b", "solo", "no")])
    report = run_job(dataset)["result"]
    assert report["alpha"]["value"] is None and report["alpha"]["reason"]
    assert report["fleiss"]["value"] is None and report["fleiss"]["reason"]
    assert report["percent_agreement"]["value"] is None
    assert report["labellers"][0]["n"] == 0 and report["labellers"][0]["rate"] is None
    # Everyone unanimous on one class: agreement is perfect but kappa/alpha are undefined
    # (no variation to correct for chance), shown as such rather than as a number.
    unanimous = [("c", "P", "yes"), ("c", "Q", "yes"), ("d", "P", "yes"), ("d", "Q", "yes")]
    import_long(upload, dataset, unanimous)
    report = run_job(dataset)["result"]
    assert report["percent_agreement"]["value"] == 1.0
    assert report["alpha"]["value"] is None and report["alpha"]["reason"]
    assert report["fleiss"]["value"] is None and report["fleiss"]["reason"]
    classes = {row["label"]: row for row in report["classes"]}
    assert classes["never used"]["pairs"] == 0 and classes["never used"]["agreement"] is None


def _reference(name: str) -> dict[str, Any]:
    example: dict[str, Any] = json.loads(REFERENCE.read_text())[name]
    return example


def _pair_kappa(report: dict[str, Any], a: str, b: str) -> float:
    pairwise = report["pairwise"]
    names = pairwise["names"]
    value: float = pairwise["kappa"][names.index(a)][names.index(b)]
    return value


@pytest.mark.skipif(missing(REFERENCE), reason=f"No reference data at {REFERENCE}.")
def test_every_published_example_through_the_api(
    owner: Any, upload: Any, run_job: Any, api: Any
) -> None:
    def dataset_with(name: str, labels: list[str], rows: list[tuple[str, str, str]]) -> Dataset:
        dataset = services.dataset_create(
            name=name, created_by=owner, labels=labels, annotators_per_item=20
        )
        api.patch(f"/api/v1/datasets/{dataset.pk}/", {"labels_ordered": True}, format="json")
        import_long(upload, dataset, rows)
        return dataset

    # Wikipedia's Krippendorff example: coders x units with gaps.
    example = _reference("wikipedia_krippendorff_3x15")
    rows = [
        (f"u{u}", f"coder{c}", str(v))
        for c, coder in enumerate(example["data"])
        for u, v in enumerate(coder)
        if v is not None
    ]
    report = run_job(dataset_with("Wikipedia alpha", ["1", "2", "3", "4"], rows))["result"]
    assert report["alpha_nominal"]["value"] == pytest.approx(
        example["expected"]["nominal"], abs=5e-4
    )
    assert report["alpha_interval"]["value"] == pytest.approx(
        example["expected"]["interval"], abs=5e-4
    )

    # Fleiss (1971): 30 patients x 6 psychiatrists, 5 diagnoses.
    example = _reference("fleiss1971_diagnoses")
    rows = [
        (f"p{p}", f"psychiatrist{r}", str(code))
        for p, patient in enumerate(example["data"])
        for r, code in enumerate(patient)
    ]
    report = run_job(dataset_with("Fleiss 1971", ["1", "2", "3", "4", "5"], rows))["result"]
    assert report["fleiss"]["value"] == pytest.approx(example["expected"]["fleiss_kappa"], abs=5e-4)

    # SAS's Cohen table, expanded into the two raters' labels: pairwise kappa of the two.
    example = _reference("sas_cohen_3x3")
    rows, n = [], 0
    for i, row in enumerate(example["data"]):
        for j, count in enumerate(row):
            for _ in range(count):
                rows += [(f"s{n}", "rater1", "abc"[i]), (f"s{n}", "rater2", "abc"[j])]
                n += 1
    report = run_job(dataset_with("SAS", ["a", "b", "c"], rows))["result"]
    assert _pair_kappa(report, "rater1", "rater2") == pytest.approx(
        example["expected"]["kappa"], abs=5e-4
    )

    # irr's anxiety ratings, raters 2 and 3 (unweighted; the scale values that occur are the
    # labels, as irr codes them).
    example = _reference("irr_anxiety_kappa2")
    rows = [
        (f"s{s}", f"rater{r}", str(subject[r]))
        for s, subject in enumerate(example["data"])
        for r in (1, 2)
    ]
    labels = sorted({v for _, _, v in rows}, key=int)
    report = run_job(dataset_with("anxiety", labels, rows))["result"]
    assert _pair_kappa(report, "rater1", "rater2") == pytest.approx(
        example["expected"]["kappa2(anxiety[,2:3]) unweighted"], abs=5e-4
    )
