"""The labelling screen in real Chromium, with the keyboard only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from labeling import services
from labeling.models import Annotation, Dataset, Item, LabelEvent, Role, Skip
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reviews(owner: Any, upload: Any) -> Dataset:
    ds = services.dataset_create(
        name="Reviews",
        created_by=owner,
        annotators_per_item=2,
        guidelines=(
            "Positive if the writer would buy again.\n\nMixed reviews: the last sentence wins."
        ),
        labels=[
            {"name": "positive", "description": "Would buy again"},
            {"name": "negative", "description": "Would not"},
            {"name": "mixed", "hotkey": "m", "description": "Both"},
        ],
    )
    rows = (
        'r1,"Great battery, fast delivery."\n'
        'r2,"<script>alert(1)</script><b>bold?</b> Broke in a week."\n'
        "r3,Okay for the price.\n"
        "r4,Would not recommend.\n"
    )
    assert upload(ds, "r.csv", "id,text\n" + rows).status_code == 201
    for name in ("ann", "bob"):
        get_user_model().objects.create_user(username=name, password=PASSWORD)
        services.membership_set(dataset=ds, username=name, role=Role.ANNOTATOR)
    return ds


# The pages' strict CSP forbids eval, so waits use locators (no wait_for_function).
def item_text(page: Any) -> str:
    expect(page.locator("#item")).not_to_contain_text("Loading")
    return page.inner_text("#item")


def press_and_wait(page: Any, key: str, before: str) -> str:
    page.keyboard.press(key)
    expect(page.locator("#item")).not_to_have_text(before, timeout=10_000)
    return page.inner_text("#item")


def test_label_with_the_keyboard_only(page: Any, live_server: Any, reviews: Dataset) -> None:
    log_in(page, live_server, "ann")
    page.goto(f"{live_server.url}/datasets/{reviews.pk}/label/")
    first = item_text(page)
    assert "Great battery" in first
    screenshot(page, "label-first-item")
    second = press_and_wait(page, "1", first)  # positive
    assert "<script>alert(1)</script><b>bold?</b> Broke in a week." in second  # text, not HTML
    assert page.locator("#item b").count() == 0
    third = press_and_wait(page, "m", second)  # a custom hotkey: mixed
    # back to the last answer, change it, and go on
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#item")).to_contain_text("Broke")
    assert page.get_attribute("[data-label=mixed]", "aria-pressed") == "true"
    screenshot(page, "label-review-earlier-answer")
    page.keyboard.press("2")  # negative instead
    expect(page.locator("#status")).to_contain_text("Changed")
    expect(page.locator("#item")).to_have_text(third, timeout=10_000)
    # skip with a reason, with the keyboard
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.type("Not a review")
    fourth = press_and_wait(page, "Enter", third)
    # guidelines, one key away
    page.keyboard.press("?")
    assert page.is_visible("#guidelines") and "last sentence wins" in page.inner_text("#guidelines")
    screenshot(page, "label-guidelines")
    page.keyboard.press("Escape")
    assert not page.is_visible("#guidelines")
    press_and_wait(page, "1", fourth)
    page.wait_for_selector("text=Nothing left for you to label here.")
    assert page.console_errors == []

    mine = dict(
        Annotation.objects.filter(labeller__name="ann").values_list(
            "item__external_id", "label__name"
        )
    )
    assert mine == {"r1": "positive", "r2": "negative", "r4": "positive"}
    assert Skip.objects.get(labeller__name="ann").reason == "Not a review"
    assert all(
        t and t > 0
        for t in Annotation.objects.filter(labeller__name="ann").values_list(
            "time_spent_ms", flat=True
        )
    )
    assert LabelEvent.objects.filter(old_label="mixed", new_label="negative").exists()
    # a reload keeps the progress
    page.reload()
    page.wait_for_selector("text=Nothing left for you to label here.")
    assert page.inner_text("#mine") == "3"
    screenshot(page, "label-done")


def test_a_second_labeller_gets_the_items_that_need_a_second_label(
    page: Any, live_server: Any, reviews: Dataset
) -> None:
    ann_items = [Item.objects.get(dataset=reviews, external_id=e).pk for e in ("r3", "r4")]
    ann = get_user_model().objects.get(username="ann")
    services.annotations_submit(
        dataset=reviews, user=ann, entries=[{"item": i, "label": "positive"} for i in ann_items]
    )
    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/datasets/{reviews.pk}/label/")
    first = item_text(page)
    assert "Okay for the price." in first  # r3 already has one label: breadth-first
    second = press_and_wait(page, "2", first)
    assert "Would not recommend." in second
    # bob never sees ann's answer anywhere on the page
    assert "positive" not in page.inner_text("#item") + page.inner_text("#item-meta")
    assert page.get_attribute("[data-label=positive]", "aria-pressed") == "false"


def test_outsiders_get_the_403_page(
    page: Any, live_server: Any, reviews: Dataset, outsider: Any
) -> None:
    log_in(page, live_server, "outsider")
    response = page.goto(f"{live_server.url}/datasets/{reviews.pk}/label/")
    assert response.status == 403
    assert "Not allowed" in page.inner_text("h1")
    screenshot(page, "label-403")


def test_image_items(page: Any, live_server: Any, owner: Any, upload: Any) -> None:
    from tests.labeling.test_images import CSV, PNG, make_zip

    ds = services.dataset_create(
        name="Pets", created_by=owner, labels=["positive", "negative"], annotators_per_item=2
    )
    zipped = make_zip({"cats/cat1.png": PNG, "cat2.png": PNG, "labels.csv": CSV.encode()})
    assert upload(ds, "pets.zip", zipped).status_code == 201
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/datasets/{ds.pk}/label/")
    image = page.locator("img.item-image")
    expect(image).to_be_visible()
    expect(image).to_have_js_property("naturalWidth", 1)  # served, and allowed by the CSP
    screenshot(page, "label-image")
    assert page.console_errors == []
