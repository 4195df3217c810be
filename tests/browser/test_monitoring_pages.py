"""Drift and data-quality pages in a real browser: start a comparison and a report from the
page and read them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.quality.test_drift_job import monitored  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_drift_and_data_quality_pages(
    page: Any,
    live_server: Any,
    monitored: Any,  # noqa: F811 - the imported fixture
    settings: Any,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    dataset, first, second = monitored
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/drift/")
    expect(page.get_by_role("heading", name="No drift report yet")).to_be_visible()
    page.get_by_label("Compare").select_option(f"batch:{second}")
    page.get_by_label("with").select_option(f"batch:{first}")
    page.get_by_role("button", name="Check for drift").click()
    expect(page.locator(".verdict")).to_contain_text("No drift in 4 fields")
    expect(page.locator("svg.drift-hist")).to_have_count(2)
    assert page.console_errors == []
    screenshot(page, "drift")

    page.goto(f"{live_server.url}/datasets/{dataset.pk}/data-quality/")
    page.get_by_label("Rules (JSON)").fill(
        '[{"field": "country", "check": "allowed", "values": ["DE", "FR"]}]'
    )
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".messages")).to_contain_text("Saved the rules")
    page.get_by_label("Report on").select_option(f"batch:{first}")
    page.get_by_role("button", name="Make the report").click()
    expect(page.get_by_role("heading", name="Import batch")).to_contain_text("3000 rows")
    expect(page.locator("table").filter(has_text="country in")).to_contain_text("failed")
    assert page.console_errors == []
    screenshot(page, "data-quality")
