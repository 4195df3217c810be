"""The augmentation page in a real browser: preview a recipe on a class, start the job, watch
its progress bar finish and read the outcome."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from labeling.models import Item, Origin
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.quality.test_augment_job import text_dataset
from workbench.jobs import Progress, job_claim, job_execute
from workbench.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def test_preview_start_and_watch_an_augmentation(
    page: Any, live_server: Any, owner: Any, upload: Any
) -> None:
    dataset = text_dataset(owner, upload)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/augment/?target=label&value=neg")
    expect(page.get_by_role("heading", name="Augment")).to_be_visible()
    page.get_by_label("Recipe", exact=True).select_option("word_delete")
    expect(page.locator("#recipe-defaults")).to_contain_text("p = 0.1")
    page.get_by_label("Parameters (JSON; empty for the defaults)").fill('{"p": 0.3}')
    page.get_by_label("Variants per item").fill("2")
    page.get_by_role("button", name="Preview").click()
    rows = page.locator(".preview-row")
    expect(rows).to_have_count(3)
    expect(rows.first.locator(".preview-variant")).to_have_count(2)
    expect(rows.first.locator(".preview-original")).to_contain_text("the battery died")
    screenshot(page, "augment-preview")
    assert not Item.objects.filter(origin=Origin.AUGMENTED).exists()

    # A bad parameter shows the reason, and no job starts.
    page.get_by_label("Parameters (JSON; empty for the defaults)").fill('{"p": 2}')
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview [role=alert]")).to_contain_text("p must be between 0 and 1")

    page.get_by_label("Parameters (JSON; empty for the defaults)").fill('{"p": 0.3}')
    page.get_by_role("button", name="Start augmentation").click()
    watch = page.locator(".job-watch")
    expect(watch).to_contain_text("is queued")
    job = Job.objects.get(kind="augment")
    assert job.params["recipe"]["steps"][0] == {"recipe": "word_delete", "p": 0.3}

    # A worker picks it up: the bar moves, then the page shows the outcome.
    assert job_claim(job.pk, worker="test").value == "claimed"
    Progress(job.pk, min_interval=0)(0.5, 1, "Augmenting items 1–3 of 3")
    expect(watch.locator("progress")).to_have_attribute("value", "0.5")
    expect(watch.locator("[data-job-message]")).to_have_text("Augmenting items 1–3 of 3")
    screenshot(page, "augment-running")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
    job_execute(job.pk, worker="test")
    result = page.locator(".augment-result")
    expect(result).to_contain_text(f"job #{job.pk} succeeded")
    expect(result).to_contain_text("6 new items from 3 parents")
    assert Item.objects.filter(origin=Origin.AUGMENTED).count() == 6
    # The only console message is the refused preview's 400.
    assert all("400 (Bad Request)" in e for e in page.console_errors), page.console_errors
    screenshot(page, "augment-done")
