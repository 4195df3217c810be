"""Pages in a real browser: log in, see your datasets, read the API docs."""

from __future__ import annotations

from typing import Any

import pytest

from labeling import services
from labeling.models import Role
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")


def test_log_in_and_see_your_datasets(
    page: Any, live_server: Any, owner: Any, annotator: Any, upload: Any
) -> None:
    mine = services.dataset_create(
        name="Support tickets",
        created_by=owner,
        labels=["bug", "question"],
        description='<script>alert("x")</script> Tickets from the help desk',
        annotators_per_item=2,
    )
    services.membership_set(dataset=mine, username="annotator", role=Role.ANNOTATOR)
    services.dataset_create(name="Secret project", created_by=owner, labels=["a"])
    rows = "".join(f"t{i},Ticket {i},W{i % 2},bug\n" for i in range(6))
    assert upload(mine, "t.csv", "id,text,worker,label\n" + rows).status_code == 201

    log_in(page, live_server, "annotator")
    assert page.locator("h1").inner_text() == "Your datasets"
    row = page.locator("tbody tr").first
    assert "Support tickets" in row.inner_text()
    assert '<script>alert("x")</script>' in row.inner_text()  # shown as text, not run
    assert "Secret project" not in page.content()
    assert page.console_errors == []
    screenshot(page, "home-annotator")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")


def test_wrong_password_says_so(page: Any, live_server: Any, owner: Any) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.locator("[role=alert]").inner_text()
    screenshot(page, "login-error")


def test_empty_state_and_api_docs(page: Any, live_server: Any, outsider: Any) -> None:
    log_in(page, live_server, "outsider")
    assert "No datasets yet" in page.inner_text("main")
    screenshot(page, "home-empty")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert "/api/v1/datasets/" in page.inner_text(".swagger-ui")
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
    screenshot(page, "api-docs")


def test_dataset_page_in_the_browser(page: Any, live_server: Any, owner: Any, upload: Any) -> None:
    ds = services.dataset_create(
        name="Tickets",
        created_by=owner,
        labels=["bug", "question"],
        annotators_per_item=2,
        description="Help desk tickets",
    )
    rows = "".join(
        f"t{i},Ticket {i},W{i % 3},{'bug' if i % 3 else 'question'}\n" for i in range(12)
    )
    assert upload(ds, "tickets.csv", "id,text,worker,label\n" + rows).status_code == 201
    log_in(page, live_server, "owner")
    page.click("text=Tickets")
    assert page.locator("h1").inner_text() == "Tickets"
    assert "Label distribution" in page.inner_text("main")
    assert page.locator("rect.bar").count() == 2
    assert page.console_errors == []
    screenshot(page, "dataset-owner")
