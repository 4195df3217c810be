"""Pages in a real browser: log in, see your datasets, read the API docs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

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


def test_import_page_previews_then_imports(
    page: Any, live_server: Any, owner: Any, tmp_path: Any
) -> None:
    from labeling.models import ImportBatch, Item

    ds = services.dataset_create(name="Inbox", created_by=owner, labels=["spam", "ham"])
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,label\n1,Win money now,spam\n2,Lunch at noon?,hma\n3,,ham\n")
    good = tmp_path / "good.csv"
    good.write_text(
        "id,text,sender,label\n1,Win money now,x@spam.biz,spam\n"
        "2,<i>Lunch</i> at noon?,boss@work.com,ham\n"
    )
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{ds.pk}/")
    page.click("text=Import")
    page.set_input_files("#file", str(bad))
    page.click("button[value=preview]")
    errors = page.locator("table.errors tbody tr")
    expect(errors).to_have_count(2)
    assert "hma" in errors.nth(0).inner_text() and "label" in errors.nth(0).inner_text()
    assert errors.nth(1).inner_text().startswith("3")
    screenshot(page, "import-errors")
    assert not Item.objects.exists() and not ImportBatch.objects.exists()

    page.set_input_files("#file", str(good))
    page.click("button[value=preview]")
    expect(page.locator(".preview h2")).to_contain_text("Ready to import good.csv")
    assert "<i>Lunch</i> at noon?" in page.inner_text(".preview table")  # shown as text
    assert "sender" in page.inner_text(".preview")
    screenshot(page, "import-preview")
    assert not Item.objects.exists()
    page.click("button[value=import]")
    expect(page.locator(".messages")).to_contain_text("Imported good.csv: 2 items")
    assert Item.objects.filter(dataset=ds).count() == 2
    assert ImportBatch.objects.get().source == ""
    # the bad file's preview answered 400, as it should; nothing else went wrong
    assert [e for e in page.console_errors if "status of 400" not in e] == []
