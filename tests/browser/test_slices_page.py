"""The error-analysis pages in a real browser: read the lecture's slice table and its chart,
open the top slice's items, follow a running slice job until its table appears."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from labeling import services
from labeling.models import Dataset, Item, Role
from quality.slice_views import CHART_ROWS
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.quality.conftest import run_job  # noqa: F401 - a fixture
from tests.quality.test_slices_job import lecture  # noqa: F401 - a fixture
from workbench.jobs import Progress, job_claim, job_execute
from workbench.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

Lecture = tuple[Dataset, int]


def test_read_the_table_and_open_the_top_slice(
    page: Any,
    live_server: Any,
    lecture: Lecture,  # noqa: F811
    reviewer: Any,
    api: Any,
    run_job: Any,  # noqa: F811
) -> None:
    dataset, _ = lecture
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    muffled = list(
        Item.objects.filter(dataset=dataset, metadata__noise="Low bandwidth").values_list(
            "id", flat=True
        )[:20]
    )
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/tags/", {"tag": "muffled", "items": muffled}, format="json"
    )
    assert response.status_code == 201
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/slice-rules/",
        {
            "name": "Noisy phones",
            "conditions": [["noise", "!=", "Clean speech"], ["device", "=", "phone"]],
        },
        format="json",
    )
    assert response.status_code == 201
    job = run_job(dataset, kind="slices", fields=["noise", "device"], text_fields=[])
    assert job["status"] == "succeeded", job["error"]

    log_in(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    page.get_by_role("link", name="Error analysis").click()
    expect(page.get_by_role("heading", name="Error analysis", exact=True)).to_be_visible()

    rows = page.locator("table.error-table tbody tr")
    expect(rows.first.locator("th")).to_contain_text("All data")
    expect(rows.first).to_contain_text("n=5,000")
    names = page.locator("table.error-table tbody tr.slice-row th a")
    top = names.first.inner_text()
    # The lecture's slices keep the lecture's order (by potential improvement); discovery may
    # find the same slices again, just below them.
    lecture_order = [
        n for n in names.all_inner_texts() if n.startswith("noise = ") and " and " not in n
    ]
    assert list(dict.fromkeys(lecture_order)) == [
        "noise = Clean speech",
        "noise = People noise",
        "noise = Car noise",
        "noise = Low bandwidth",
    ]
    clean = page.locator("table.error-table tr.slice-row", has_text="noise = Clean speech").first
    expect(clean.locator("td").nth(0)).to_contain_text("94.0%")
    expect(clean.locator("td").nth(1)).to_contain_text("95.0%")
    expect(clean.locator("td").nth(4)).to_have_text("0.60%")
    expect(page.locator("table.error-table")).to_contain_text("Noisy phones")
    expect(page.locator("table.error-table")).to_contain_text("tag: muffled")
    expect(page.locator("table.error-table .too-small-badge").first).to_be_visible()
    # The chart draws each slice once, though discovery may list it again.
    distinct = len(set(names.all_inner_texts()))
    expect(page.locator("svg.slice-chart .chart-row")).to_have_count(min(CHART_ROWS, distinct))
    expect(page.locator("table.discovered-table tbody tr").first).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", f"/api/v1/datasets/{dataset.pk}/slices/?format=csv&job={job['id']}"
    )
    assert page.console_errors == []
    screenshot(page, "slices-table")

    # The top slice's items.
    names.first.click()
    expect(page.get_by_role("heading", name=top)).to_be_visible()
    expect(page.locator("table.slice-items tbody tr")).to_have_count(50)
    expect(page.get_by_role("link", name="Export this slice (CSV)")).to_be_visible()
    expect(page.locator(".pager")).to_contain_text("Page 1 of")
    assert page.console_errors == []
    screenshot(page, "slice-items")
    page.get_by_role("link", name="Next ›").click()
    expect(page.locator(".pager")).to_contain_text("Page 2 of")
    expect(page.locator("table.slice-items tbody tr").first).to_be_visible()
    assert page.console_errors == []


def test_save_a_discovered_slice_and_add_a_rule(
    page: Any,
    live_server: Any,
    lecture: Lecture,  # noqa: F811
    run_job: Any,  # noqa: F811
) -> None:
    dataset, _ = lecture
    job = run_job(dataset, kind="slices", fields=["noise", "device"], text_fields=[])
    assert job["status"] == "succeeded", job["error"]
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/slices/")
    low = page.locator("table.discovered-table tr", has_text="noise = Low bandwidth").first
    low.get_by_role("button", name="Save as rule").click()
    expect(page.locator(".messages")).to_contain_text("Saved the rule 'noise = Low bandwidth'")
    expect(page.locator("table.rules-table")).to_contain_text("noise = Low bandwidth")

    page.get_by_label("Name").fill("Phones, not clean")
    page.get_by_label("Conditions, one a line").fill("device = phone\nnoise != Clean speech")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".messages")).to_contain_text("Saved the rule 'Phones, not clean'")
    expect(page.locator("table.rules-table tbody tr")).to_have_count(2)

    page.get_by_label("Name").fill("Broken")
    page.get_by_label("Conditions, one a line").fill("nation = DE")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".messages .error")).to_contain_text("nation")
    expect(page.get_by_label("Conditions, one a line")).to_have_value("nation = DE")
    screenshot(page, "slices-rules")

    page.get_by_role("button", name="Delete the rule Phones, not clean").click()
    expect(page.locator("table.rules-table tbody tr")).to_have_count(1)
    assert page.console_errors == []


def test_the_page_follows_a_running_slice_job(
    page: Any,
    live_server: Any,
    lecture: Lecture,  # noqa: F811
    owner: Any,
) -> None:
    dataset, run_id = lecture
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/slices/")
    expect(page.get_by_role("heading", name="Run the first error analysis")).to_be_visible()
    screenshot(page, "slices-empty")
    job = Job.objects.create(
        kind="slices",
        dataset=dataset,
        params={
            "model_run": run_id,
            "fields": ["noise"],
            "text_fields": [],
            "numeric_bins": 4,
            "max_values": 30,
            "min_items": 30,
            "min_labels": 30,
            "max_level": 2,
            "top_k": 10,
            "discover": False,
            "rules": True,
        },
        created_by=owner,
    )
    page.reload()
    watch = page.locator(".job-watch")
    expect(watch).to_contain_text(f"Slice analysis job #{job.pk} is queued")
    assert job_claim(job.pk, worker="test").value == "claimed"
    Progress(job.pk, min_interval=0)(0.3, 1, "Slicing")
    expect(watch.locator("[data-job-message]")).to_have_text("Slicing")
    expect(watch.locator("progress")).to_have_attribute("value", "0.3")
    screenshot(page, "slices-running")

    # That worker is gone (no heartbeat); another one takes the job and finishes it.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=None)
    job_execute(job.pk, worker="test")
    expect(page.locator("table.error-table tbody tr.slice-row")).to_have_count(4)
    expect(page.locator(".job-watch")).to_have_count(0)
    expect(page.locator(".run-meta")).to_contain_text(f"Table of job #{job.pk}")
    assert page.console_errors == []
