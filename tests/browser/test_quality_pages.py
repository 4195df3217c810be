"""The agreement and labeller-quality pages in a real browser: run the job, read the report,
follow a running job's progress, sort the labellers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from labeling.models import Dataset
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.quality.test_quality_pages import make_dataset
from workbench.jobs import Progress, job_cancel, job_claim, job_execute
from workbench.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def queued_job(dataset: Dataset, owner: Any) -> Job:
    """An agreement job that no worker has picked up yet."""
    return Job.objects.create(
        kind="agreement",
        dataset=dataset,
        params={"consensus_method": "majority_vote", "min_shared": 10},
        created_by=owner,
    )


def test_run_the_first_agreement_job_and_read_the_report(
    page: Any, live_server: Any, owner: Any, reviewer: Any, annotator: Any, upload: Any,
    settings: Any,
) -> None:  # fmt: skip
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the job runs during the POST
    dataset = make_dataset(owner, upload)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/agreement/")
    expect(page.get_by_role("heading", name="Run the first agreement job")).to_be_visible()
    screenshot(page, "agreement-empty")
    page.get_by_label("Consensus method").select_option("dawid_skene")
    page.get_by_role("button", name="Run agreement").click()

    expect(page.locator(".messages")).to_contain_text("Started agreement job")
    expect(page.locator("svg.heatmap .cell rect")).to_have_count(7 * 7)
    expect(page.locator(".figure").first).to_contain_text("Krippendorff's alpha (nominal)")
    expect(page.locator(".figure", has_text="Fleiss' kappa")).to_contain_text("with 4 labels each")
    expect(page.locator("dl.facts")).to_contain_text("Dawid–Skene")
    expect(page.get_by_role("heading", name="Run the first agreement job")).to_have_count(0)
    page.locator(".figure details summary").first.click()
    expect(page.locator(".figure details p").first).to_contain_text("observed / expected")
    assert page.console_errors == []
    screenshot(page, "agreement-report")

    page.get_by_role("link", name="Labeller quality").click()
    expect(page.get_by_role("heading", name="Labeller quality")).to_be_visible()
    first_cells = page.locator("table.labellers tbody tr td:first-child")
    expect(first_cells).to_have_count(7)
    expect(first_cells.first).to_have_text("Fox")  # the worst agreement first
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Agreement")
    page.get_by_role("link", name="Labeller", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Labeller")
    expect(first_cells).to_have_text(["Ana", "Ben", "Cy", "Dee", "Eve", "Fox", "Gil"])
    page.get_by_role("link", name=re.compile("^Labeller")).first.click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Labeller")
    expect(first_cells.first).to_have_text("Gil")
    page.get_by_role("link", name="Agreement (95% interval)").click()
    expect(first_cells.first).to_have_text("Fox")
    # Fox's Dawid-Skene confusion matrix opens from the accuracy cell.
    page.locator("table.labellers tbody tr").first.locator("details.confusion summary").click()
    matrix = page.locator("table.confusion-matrix").first
    expect(matrix).to_be_visible()
    expect(matrix.locator("tbody tr")).to_have_count(3)
    assert page.console_errors == []
    screenshot(page, "labellers")


def test_the_page_follows_a_running_job(
    page: Any, live_server: Any, owner: Any, reviewer: Any, annotator: Any, upload: Any
) -> None:
    dataset = make_dataset(owner, upload)
    job = queued_job(dataset, owner)
    log_in(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/agreement/")
    watch = page.locator(".job-watch")
    expect(watch).to_contain_text(f"Agreement job #{job.pk} is queued")
    expect(watch.locator("[data-job-message]")).to_have_text("Waiting for a worker…")

    # A worker takes the job and reports progress: the page shows it without a reload.
    assert job_claim(job.pk, worker="test").value == "claimed"
    Progress(job.pk, min_interval=0)(0.4, 1, "Agreement per metadata slice")
    expect(watch.locator("[data-job-status]")).to_have_text("running")
    expect(watch.locator("[data-job-message]")).to_have_text("Agreement per metadata slice")
    expect(watch.locator("progress")).to_have_attribute("value", "0.4")
    screenshot(page, "agreement-running")

    # Cancelled: the page reloads and says so.
    job_cancel(job=job)
    expect(page.locator(".notice")).to_contain_text(f"Agreement job #{job.pk} was cancelled")
    expect(page.locator(".job-watch")).to_have_count(0)
    assert page.console_errors == []


def test_the_page_shows_the_report_when_the_job_finishes(
    page: Any, live_server: Any, owner: Any, reviewer: Any, annotator: Any, upload: Any
) -> None:
    dataset = make_dataset(owner, upload)
    job = queued_job(dataset, owner)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/agreement/")
    expect(page.locator(".job-watch")).to_be_visible()
    expect(page.locator("svg.heatmap")).to_have_count(0)
    job_execute(job.pk, worker="test")
    expect(page.locator("svg.heatmap .cell rect")).to_have_count(7 * 7)
    expect(page.locator(".run-meta")).to_contain_text(f"Report of job #{job.pk}")
    expect(page.locator(".job-watch")).to_have_count(0)
    assert page.console_errors == []
