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
