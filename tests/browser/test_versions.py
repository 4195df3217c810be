"""Dataset versions in real Chromium: freeze a version, decide a label in the review queue,
freeze again, compare the two and see the change with who and why; follow a running freeze."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from labeling import services
from labeling.models import Dataset, DatasetVersion, Item, Role
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from workbench.jobs import job_execute
from workbench.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def disputed(owner: Any, reviewer: Any, annotator: Any, upload: Any) -> Dataset:
    dataset = services.dataset_create(
        name="Toxicity", created_by=owner, labels=["ok", "toxic", "unsure"], annotators_per_item=3
    )
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    rows = [
        ("c1", "You are wonderful", "W1", "ok"), ("c1", "You are wonderful", "W2", "ok"),
        ("c2", "Nobody asked", "W1", "toxic"), ("c2", "Nobody asked", "W2", "toxic"),
        ("c3", "Go away", "W1", "toxic"), ("c3", "Go away", "W2", "toxic"),
        ("c3", "Go away", "W3", "ok"),
    ]  # fmt: skip
    content = "id,text,worker,label\n" + "".join(f'{i},"{t}",{w},{lab}\n' for i, t, w, lab in rows)
    mapping = {"external_id": "id", "data": ["text"], "labeller": "worker", "label": "label"}
    assert upload(dataset, "c.csv", content, mapping=json.dumps(mapping)).status_code == 201
    return dataset


def test_freeze_review_freeze_again_and_compare(
    page: Any, live_server: Any, disputed: Dataset, settings: Any, upload: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the freeze job runs during the POST
    log_in(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/datasets/{disputed.pk}/")
    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("heading", name="No versions yet")).to_be_visible()
    screenshot(page, "versions-empty")

    page.get_by_label("Note").fill("Raw crowd labels")
    page.get_by_role("button", name="Freeze a version").click()
    expect(page.locator(".messages")).to_contain_text("Froze version 1.")
    rows = page.locator("table.versions-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Raw crowd labels")

    # A reviewer overrules the majority (toxic) on c3 in the review queue, with a note.
    page.goto(f"{live_server.url}/datasets/{disputed.pk}/review/")
    expect(page.locator("#item")).to_contain_text("Go away")
    page.keyboard.press("/")
    page.keyboard.type("Dismissive, not abusive")
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # ok
    expect(page.locator("#status")).to_contain_text("Decided: ok")

    # A new item comes in, and one item's text is corrected (no service edits items yet).
    more = 'id,text\nc4,"A long new comment that goes on and on, to see how the tables wrap it"\n'
    assert upload(disputed, "more.csv", more, mapping='{"external_id": "id"}').status_code == 201
    Item.objects.filter(dataset=disputed, external_id="c2").update(data={"text": "Nobody asked!"})

    page.goto(f"{live_server.url}/datasets/{disputed.pk}/versions/")
    page.get_by_label("Note").fill("After the review round")
    page.get_by_role("button", name="Freeze a version").click()
    expect(page.locator(".messages")).to_contain_text("Froze version 2.")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("After the review round")
    first, second = DatasetVersion.objects.filter(dataset=disputed).order_by("number")
    assert first.digest != second.digest
    expect(rows.first.locator("code.digest")).to_have_text(second.digest[:12])
    assert page.console_errors == []
    screenshot(page, "versions-list")

    rows.first.get_by_role("link", name="Compare with v1").click()
    expect(page.get_by_role("heading", name="Compare versions")).to_be_visible()
    expect(page.get_by_label("From", exact=True)).to_have_value("1")
    expect(page.get_by_label("to", exact=True)).to_have_value("2")
    stats = page.locator(".compare-stats .stat")
    expect(stats.nth(0)).to_contain_text("1added")
    expect(stats.nth(2)).to_contain_text("1changed")
    expect(page.locator("table.item-changes tbody tr")).to_contain_text("Nobody asked!")
    expect(stats.nth(3)).to_contain_text("1label changes")
    change = page.locator("table.label-changes tbody tr")
    expect(change).to_have_count(1)
    expect(change.first).to_contain_text("c3")
    expect(change.first.locator("td").nth(2)).to_have_text("ok")
    expect(change.first.locator(".event-who")).to_have_text("reviewer")
    expect(change.first).to_contain_text("Dismissive, not abusive")
    shift = page.locator("table.shift-table tbody tr", has_text="ok")
    expect(shift.locator("td.shift")).to_have_text("+1")
    expect(shift.locator("td.shift")).to_have_class("num shift up")
    assert page.console_errors == []
    screenshot(page, "versions-compare")

    # Swap the two in the selects: the change reads the other way round.
    page.get_by_label("From", exact=True).select_option("2")
    page.get_by_label("to", exact=True).select_option("1")
    page.get_by_role("button", name="Compare").click()
    expect(shift.locator("td.shift")).to_have_text("−1")

    page.goto(f"{live_server.url}/datasets/{disputed.pk}/versions/2/")
    expect(page.get_by_role("heading", name="Version 2")).to_be_visible()
    expect(page.locator("code.full-digest")).to_have_text(second.digest)
    expect(page.locator(".export-links a")).to_have_count(4)
    assert page.console_errors == []
    screenshot(page, "version-detail")


def test_the_page_follows_a_running_freeze(
    page: Any, live_server: Any, disputed: Dataset, owner: Any
) -> None:
    job = Job.objects.create(
        kind="freeze_version", dataset=disputed, params={"note": "nightly"}, created_by=owner
    )
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{disputed.pk}/versions/")
    watch = page.locator(".job-watch")
    expect(watch).to_contain_text(f"Freeze job #{job.pk} is queued")
    expect(page.get_by_role("button", name="Freeze a version")).to_be_disabled()
    screenshot(page, "versions-job-running")
    job_execute(job.pk, worker="test")  # the page reloads when the job has finished
    expect(page.locator(".job-watch")).to_have_count(0)
    expect(page.locator("table.versions-table tbody tr")).to_have_count(1)
    expect(page.locator("table.versions-table")).to_contain_text("nightly")
    assert page.console_errors == []


def test_annotators_cannot_open_versions(page: Any, live_server: Any, disputed: Dataset) -> None:
    log_in(page, live_server, "annotator")
    response = page.goto(f"{live_server.url}/datasets/{disputed.pk}/versions/")
    assert response.status == 403
