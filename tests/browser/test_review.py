"""The disagreement review queue in real Chromium, with the keyboard only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from labeling import services
from labeling.models import Dataset, Item, LabelEvent, Role
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def disputed(owner: Any, reviewer: Any, annotator: Any, upload: Any) -> Dataset:
    dataset = services.dataset_create(
        name="Toxicity",
        created_by=owner,
        labels=[{"name": "ok"}, {"name": "toxic"}, {"name": "unsure", "hotkey": "u"}],
        annotators_per_item=3,
    )
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    rows = [
        ("c1", "You are wonderful", "W1", "ok"), ("c1", "You are wonderful", "W2", "ok"),
        ("c1", "You are wonderful", "W3", "ok"),
        ("c2", "<b>Nobody</b> asked", "W1", "toxic"), ("c2", "<b>Nobody</b> asked", "W2", "ok"),
        ("c2", "<b>Nobody</b> asked", "W3", "toxic"),
        ("c3", "Go away", "W1", "toxic"), ("c3", "Go away", "W2", "ok"),
        ("c3", "Go away", "W3", "unsure"),
    ]  # fmt: skip
    content = "id,text,worker,label\n" + "".join(f'{i},"{t}",{w},{lab}\n' for i, t, w, lab in rows)
    mapping = {"external_id": "id", "data": ["text"], "labeller": "worker", "label": "label"}
    assert upload(dataset, "c.csv", content, mapping=json.dumps(mapping)).status_code == 201
    return dataset


def test_reviewer_resolves_a_disagreement_with_the_keyboard(
    page: Any, live_server: Any, disputed: Dataset
) -> None:
    log_in(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/datasets/{disputed.pk}/review/")
    # The three-way split (c3, confidence 1/3) comes first; the unanimous c1 never shows.
    expect(page.locator("#item")).to_contain_text("Go away")
    expect(page.locator("#left")).to_have_text("2")
    expect(page.locator("#answers tr")).to_have_count(3)
    screenshot(page, "review-first-item")
    page.keyboard.press("/")
    page.keyboard.type("Dismissive, not abusive")
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # ok
    expect(page.locator("#status")).to_contain_text("Decided: ok")
    c3 = Item.objects.select_related("reference_label").get(dataset=disputed, external_id="c3")
    assert (c3.reference_label.name, c3.reference_method) == ("ok", "decision")
    event = LabelEvent.objects.get(item=c3, kind="decision")
    assert (event.new_label, event.reason, event.actor.username) == (
        "ok",
        "Dismissive, not abusive",
        "reviewer",
    )
    # Next: c2 (toxic 2 of 3), its HTML shown as text; Enter accepts the consensus.
    expect(page.locator("#item")).to_contain_text("<b>Nobody</b> asked")
    assert page.locator("#item b").count() == 0
    expect(page.locator("#consensus-label")).to_have_text("toxic")
    page.keyboard.press("Enter")
    expect(page.locator("#item")).to_contain_text("No disagreements left")
    c2 = Item.objects.select_related("reference_label").get(dataset=disputed, external_id="c2")
    assert (c2.reference_label.name, c2.reference_method) == ("toxic", "decision")
    screenshot(page, "review-empty")
    assert page.console_errors == []


def test_annotators_cannot_open_the_review_queue(
    page: Any, live_server: Any, disputed: Dataset
) -> None:
    log_in(page, live_server, "annotator")
    response = page.goto(f"{live_server.url}/datasets/{disputed.pk}/review/")
    assert response.status == 403
    assert "toxic" not in page.content()


def test_reviewer_accepts_a_label_issue_suggestion_with_the_keyboard(
    page: Any, live_server: Any, owner: Any, reviewer: Any, api: Any, upload: Any, settings: Any
) -> None:
    from quality.models import LabelIssue
    from tests.quality.test_label_issues_api import dataset_with_labels

    settings.CELERY_TASK_ALWAYS_EAGER = True
    labels = [0, 1, 2] * 10
    dataset = dataset_with_labels(owner, upload, labels, 3, "digits")
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    # A model sure of every label but e4's, which it is sure is class 2 (given: class 1).
    probs = [[0.9 if c == lab else 0.05 for c in range(3)] for lab in labels]
    probs[4] = [0.04, 0.06, 0.9]
    predictions = [{"external_id": f"e{i}", "probabilities": p} for i, p in enumerate(probs)]
    run = api.post(
        f"/api/v1/datasets/{dataset.pk}/model-runs/",
        {"name": "cnn", "predictions": predictions},
        format="json",
    ).json()
    from workbench.jobs import job_create

    job_create(
        kind="label_issues", params={"model_run": run["id"]}, dataset=dataset, created_by=owner
    )
    assert LabelIssue.objects.filter(dataset=dataset).count() == 1

    log_in(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/label-issues/")
    expect(page.locator("#item")).to_contain_text("Example 4")
    expect(page.locator("#given")).to_have_text("c1")
    expect(page.locator("#suggested")).to_have_text("c2")
    screenshot(page, "label-issue")
    page.keyboard.press("/")
    page.keyboard.type("Model is right: a 2")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Accepted: c2")
    expect(page.locator("#item")).to_contain_text("No open label issues left")
    item = Item.objects.select_related("reference_label").get(dataset=dataset, external_id="e4")
    assert (item.reference_label.name, item.reference_method) == ("c2", "decision")
    event = LabelEvent.objects.get(item=item, kind="decision")
    assert (event.actor.username, event.old_label, event.new_label, event.reason) == (
        "reviewer",
        "c1",
        "c2",
        "Model is right: a 2",
    )
    assert event.created_at is not None
    export = api.get(f"/api/v1/datasets/{dataset.pk}/export/?format=csv")
    text = b"".join(export.streaming_content).decode()
    row = next(line for line in text.splitlines() if line.startswith("e4,") or ",e4," in line)
    assert "c2" in row and "decision" in row
    assert page.console_errors == []
