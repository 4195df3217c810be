"""The error-analysis pages: the lecture's slice table as a page, the drill-down into a slice's
items, running the job, saving and deleting rules; staff only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from labeling import services
from labeling.models import Dataset, Item, Role
from quality.models import SliceRule
from quality.rule_text import parse_conditions
from tests.quality.test_slices_job import lecture  # noqa: F401 - a fixture
from workbench.errors import BadInput
from workbench.models import Job

Lecture = tuple[Dataset, int]


def page_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def table_rows(html: str) -> list[str]:
    """The slice names of the table's rows, top to bottom ("All data" first)."""
    body = html.split('class="grid error-table"', 1)[1].split("</table>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r'<th scope="row">(?:<a [^>]*>)?(.*?)(?:</a>|<span)', body)
    ]


@pytest.fixture
def table(lecture: Lecture, run_job: Any, reviewer: Any, annotator: Any) -> Lecture:  # noqa: F811
    """The lecture's dataset with its slice table by noise, a reviewer and an annotator."""
    dataset, run_id = lecture
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    job = run_job(dataset, kind="slices", fields=["noise"], text_fields=[], discover=False)
    assert job["status"] == "succeeded", job["error"]
    return dataset, run_id


def test_the_page_shows_the_lecture_table(table: Lecture, reviewer: Any) -> None:
    dataset, run_id = table
    response = page_for(reviewer).get(f"/datasets/{dataset.pk}/slices/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Error analysis</h1>" in html
    assert table_rows(html) == [
        "All data",
        "noise = Clean speech",
        "noise = People noise",
        "noise = Car noise",
        "noise = Low bandwidth",
    ]
    row = html.split("noise = Clean speech</a>", 1)[1].split("</tr>", 1)[0]
    # Accuracy, HLP, gap, share and potential improvement, the rates with interval and count.
    assert '<span class="rate-value">94.0%</span>' in row
    assert re.search(r"9\d\.\d–9\d\.\d% · n=3,000", row)
    assert '<span class="rate-value">95.0%</span>' in row
    assert "n=9,000" in row
    assert ">1.0%</td>" in row and ">60.0%</td>" in row and ">0.60%</td>" in row
    car = html.split("noise = Car noise</a>", 1)[1].split("</tr>", 1)[0]
    assert ">89.0%<" in car and ">93.0%<" in car and ">4.0%<" in car and ">0.16%<" in car
    low = html.split("noise = Low bandwidth</a>", 1)[1].split("</tr>", 1)[0]
    assert ">0.0%</td>" in low and ">0.00%</td>" in low
    assert '<span class="tag source">metadata</span>' in html
    assert "too small to judge</span>" not in html.split("</table>", 1)[0]
    # The chart: one row per slice, each linking to its items.
    assert html.count('<g class="chart-row') == 4
    assert f'href="/api/v1/datasets/{dataset.pk}/slices/?format=csv&amp;job=' in html
    assert f"model run #{run_id}" in html
    assert "Discovery was off for this table" in html


def test_too_small_slices_are_marked_not_hidden(
    lecture: Lecture,  # noqa: F811
    run_job: Any,
    owner: Any,
) -> None:
    dataset, _ = lecture
    job = run_job(dataset, kind="slices", fields=["noise"], text_fields=[], min_items=250)
    assert job["status"] == "succeeded", job["error"]
    html = page_for(owner).get(f"/datasets/{dataset.pk}/slices/").content.decode()
    car = html.split("noise = Car noise</a>", 1)[1].split("</tr>", 1)[0]
    assert "too small to judge" in car  # 200 items < 250
    assert '<tr class="slice-row too-small">' in html
    assert "noise = Clean speech" in html


def test_drill_down_lists_the_slices_items_a_page_at_a_time(table: Lecture, owner: Any) -> None:
    dataset, _ = table
    client = page_for(owner)
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    link = re.search(r'<a href="([^"]+)">noise = Car noise</a>', html)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    first = client.get(url)
    assert first.status_code == 200
    page = first.content.decode()
    assert "<h1>noise = Car noise</h1>" in page
    assert "Items 1–50 of 200, with the prediction of model run #" in page
    assert page.count('<td class="external-id">') == 50
    assert "Page 1 of 4" in page
    assert ">89.0%<" in page and ">0.16%<" in page
    assert "Export this slice (CSV)" in page
    assert re.search(r"/api/v1/datasets/\d+/slices/\d+/export/\?format=csv&amp;job=\d+", page)
    car_ids = set(
        Item.objects.filter(dataset=dataset, metadata__noise="Car noise").values_list(
            "external_id", flat=True
        )
    )
    shown = set(
        re.findall(r'<td class="external-id"><a href="/datasets/\d+/items/\d+/">([^<\s]+)', page)
    )
    assert len(shown) == 50 and shown <= car_ids
    nxt = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert nxt is not None
    last = client.get(url.split("?")[0] + "?" + nxt.group(1).split("?")[1].replace("&amp;", "&"))
    second = set(
        re.findall(
            r'<td class="external-id"><a href="/datasets/\d+/items/\d+/">([^<\s]+)',
            last.content.decode(),
        )
    )
    assert len(second) == 50 and second <= car_ids and not second & shown
    fourth = client.get(url + "&page=4").content.decode()
    assert "Items 151–200 of 200" in fourth and 'rel="next"' not in fourth
    # The model's predictions: the lecture's model is wrong on 22 of Car noise's 200 clips,
    # all of them among its last items.
    assert page.count('<td class="prediction">') == 50 and "tag wrong" not in page
    assert fourth.count('<span class="tag wrong">wrong</span>') == 22
    # Junk page numbers fall back to a real page; unknown slices are 404, not 500.
    assert client.get(url + "&page=abc").status_code == 200
    assert client.get(f"/datasets/{dataset.pk}/slices/999/").status_code == 404
    assert client.get(f"/datasets/{dataset.pk}/slices/0/?job=123456").status_code == 404


def test_staff_only(table: Lecture, annotator: Any, outsider: Any) -> None:
    dataset, _ = table
    for user in (annotator, outsider):
        client = page_for(user)
        assert client.get(f"/datasets/{dataset.pk}/slices/").status_code == 403
        assert client.get(f"/datasets/{dataset.pk}/slices/0/").status_code == 403
        response = client.post(f"/datasets/{dataset.pk}/slices/", {"action": "run"})
        assert response.status_code == 403
    assert not Job.objects.filter(dataset=dataset, created_by__in=[annotator, outsider]).exists()
    response = Client().get(f"/datasets/{dataset.pk}/slices/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_forms_need_the_csrf_token(table: Lecture, owner: Any) -> None:
    dataset, _ = table
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    assert html.count('<form method="post"') == html.count('name="csrfmiddlewaretoken"')
    response = client.post(
        f"/datasets/{dataset.pk}/slices/",
        {"action": "add_rule", "name": "x", "conditions": "noise = Car noise"},
    )
    assert response.status_code == 403
    assert not SliceRule.objects.exists()


def test_empty_states(owner: Any, api: Any) -> None:
    dataset = services.dataset_create(name="Empty", created_by=owner, labels=["a", "b"])
    client = page_for(owner)
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    assert "No model run yet" in html
    assert f'href="/datasets/{dataset.pk}/label-issues/"' in html
    assert "Run error analysis" not in html
    assert "No rules yet." in html and "No error tags yet." in html
    assert "Potential improvement = max(gap, 0) × share" in html  # the definitions
    assert client.get(f"/datasets/{dataset.pk}/slices/0/").status_code == 404

    # With a model run but no table yet: the form, and no table.
    upload = api.post(
        f"/api/v1/datasets/{dataset.pk}/imports/",
        {"file": _file("id,text\nx1,hello\nx2,bye\n")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    run = api.post(
        f"/api/v1/datasets/{dataset.pk}/model-runs/",
        {
            "name": "tiny",
            "predictions": [
                {"external_id": "x1", "probabilities": [0.9, 0.1]},
                {"external_id": "x2", "probabilities": [0.2, 0.8]},
            ],
        },
        format="json",
    )
    assert run.status_code == 201, run.json()
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    assert "Run the first error analysis" in html
    assert f'<option value="{run.json()["id"]}">' in html
    assert "error-table" not in html


def _file(content: str) -> Any:
    import io

    file = io.BytesIO(content.encode())
    file.name = "items.csv"
    return file


def test_running_the_job_from_the_page(
    lecture: Lecture,  # noqa: F811
    owner: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dataset, run_id = lecture
    client = page_for(owner)
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    assert "Run the first error analysis" in html
    assert f'<option value="{run_id}">' in html

    # Queued: the page follows it live.
    response = client.post(
        f"/datasets/{dataset.pk}/slices/",
        {"action": "run", "model_run": str(run_id), "choose_fields": "1", "fields": ["noise"]},
    )
    assert response.status_code == 302
    job = Job.objects.get(dataset=dataset, kind="slices")
    assert job.params["model_run"] == run_id
    assert job.params["fields"] == ["noise"] and job.params["text_fields"] == []
    assert job.params["discover"] is False and job.params["rules"] is False
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    assert f"Started slice analysis job #{job.pk}." in html
    assert f'data-job-url="/api/v1/jobs/{job.pk}/"' in html
    assert "Slice analysis job #" in html and "is <span data-job-status>queued</span>" in html

    # Run for real: the table appears, and the jobs page links to it.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/datasets/{dataset.pk}/slices/",
            {"action": "run", "model_run": str(run_id), "discover": "on", "rules": "on"},
        )
    done = Job.objects.filter(dataset=dataset, kind="slices").order_by("-id").first()
    assert done is not None and done.status == Job.Status.SUCCEEDED, done and done.error
    assert done.params["discover"] is True and set(done.params["fields"]) == {"noise", "device"}
    html = client.get(f"/datasets/{dataset.pk}/slices/").content.decode()
    assert "noise = Clean speech" in html and 'class="grid discovered-table"' in html
    assert "data-job-url" not in html
    jobs = client.get(f"/datasets/{dataset.pk}/jobs/").content.decode()
    assert f'href="/datasets/{dataset.pk}/slices/"' in jobs


def test_bad_run_requests_get_a_message_and_no_job(lecture: Lecture, owner: Any) -> None:  # noqa: F811
    dataset, _ = lecture
    client = page_for(owner)
    url = f"/datasets/{dataset.pk}/slices/"
    for form, text in [
        ({"model_run": "999999"}, "Model run 999999 is not one of this dataset"),
        ({"model_run": "abc"}, "model_run: A model run"),
        ({"min_items": "-3"}, "min_items: A whole number"),
        ({"choose_fields": "1", "fields": ["nation"]}, "Not fields of this dataset: nation"),
    ]:
        response = client.post(url, {"action": "run", **form}, follow=True)
        assert response.status_code == 200
        assert text in response.content.decode(), form
    response = client.post(url, {"action": "explode"}, follow=True)
    assert "Unknown action." in response.content.decode()
    assert not Job.objects.filter(dataset=dataset, kind="slices").exists()


def test_adding_and_deleting_rules(lecture: Lecture, owner: Any) -> None:  # noqa: F811
    dataset, _ = lecture
    client = page_for(owner)
    url = f"/datasets/{dataset.pk}/slices/"
    response = client.post(
        url,
        {
            "action": "add_rule",
            "name": "Noisy <phones>",
            "conditions": "noise in Car noise, People noise\n\ndevice = phone\n",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Saved the rule &#x27;Noisy &lt;phones&gt;&#x27;" in html
    rule = SliceRule.objects.get(dataset=dataset)
    assert rule.conditions == [
        ["noise", "in", ["Car noise", "People noise"]],
        ["device", "=", "phone"],
    ]
    assert rule.created_by == owner
    assert "<code>noise in Car noise, People noise</code>" in html
    assert "Noisy &lt;phones&gt;" in html and "Noisy <phones>" not in html

    # Refused: the message, what was typed is kept, nothing is saved.
    for form, text in [
        ({"name": "x", "conditions": "nation = DE"}, "nation"),
        ({"name": "y", "conditions": "noise"}, "Line 1: &#x27;noise&#x27; is not field operator"),
        ({"name": "z", "conditions": "noise in"}, "needs a value"),
        ({"name": "", "conditions": "device = phone"}, "Give the rule a name."),
        ({"name": "w", "conditions": "  "}, "Write at least one condition"),
        ({"name": "Noisy <phones>", "conditions": "device = laptop"}, "already a rule named"),
    ]:
        response = client.post(url, {"action": "add_rule", **form})
        assert response.status_code == 200
        html = response.content.decode()
        assert text in html, form
        assert f">{form['conditions']}</textarea>" in html
    assert SliceRule.objects.filter(dataset=dataset).count() == 1

    response = client.post(url, {"action": "delete_rule", "rule": str(rule.pk)}, follow=True)
    assert "Deleted the rule." in response.content.decode()
    assert not SliceRule.objects.filter(dataset=dataset).exists()
    response = client.post(url, {"action": "delete_rule", "rule": str(rule.pk)}, follow=True)
    assert "There is no such rule in this dataset." in response.content.decode()


def test_a_rule_from_the_page_joins_the_next_table(
    lecture: Lecture,  # noqa: F811
    owner: Any,
    run_job: Any,
) -> None:
    dataset, _ = lecture
    client = page_for(owner)
    url = f"/datasets/{dataset.pk}/slices/"
    client.post(url, {"action": "add_rule", "name": "Quiet", "conditions": "noise = Clean speech"})
    job = run_job(dataset, kind="slices", fields=["noise"], text_fields=[], discover=False)
    assert job["status"] == "succeeded", job["error"]
    html = client.get(url).content.decode()
    # The rule's row, tagged as a rule, and the rules list links to it.
    assert re.search(
        r'<a href="[^"]+">Quiet</a>\s*<span class="slice-size"><span class="tag source">rule', html
    )
    assert html.count(">Quiet</a>") == 2  # the table and the rules list
    assert html.count(">Quiet</text></a>") == 1  # the chart


def test_save_a_discovered_slice_as_a_rule(
    lecture: Lecture,  # noqa: F811
    owner: Any,
    run_job: Any,
) -> None:
    dataset, _ = lecture
    job = run_job(dataset, kind="slices", fields=["noise", "device"], text_fields=[])
    assert job["status"] == "succeeded", job["error"]
    discovered = job["result"]["discovered"]
    index = next(i for i, d in enumerate(discovered) if d["name"] == "noise = Low bandwidth")
    client = page_for(owner)
    url = f"/datasets/{dataset.pk}/slices/"
    html = client.get(url).content.decode()
    assert html.count("Save as rule</button>") == len(discovered)
    response = client.post(
        url, {"action": "save_discovered", "job": str(job["id"]), "index": str(index)}, follow=True
    )
    html = response.content.decode()
    assert "Saved the rule &#x27;noise = Low bandwidth&#x27;" in html
    rule = SliceRule.objects.get(dataset=dataset)
    assert rule.name == "noise = Low bandwidth"
    assert rule.conditions == [["noise", "=", "Low bandwidth"]]
    assert "saved as a rule" in html
    assert html.count("Save as rule</button>") == len(discovered) - 1
    # Twice, or a slice that isn't there: a message, nothing more.
    for form in (
        {"job": str(job["id"]), "index": str(index)},
        {"job": str(job["id"]), "index": "999"},
        {"job": "999999", "index": "0"},
        {"job": "x", "index": "y"},
    ):
        response = client.post(url, {"action": "save_discovered", **form}, follow=True)
        assert 'class="error"' in response.content.decode(), form
    assert SliceRule.objects.filter(dataset=dataset).count() == 1


def test_error_tags_are_listed_with_their_counts(
    lecture: Lecture,  # noqa: F811
    owner: Any,
    api: Any,
    run_job: Any,
) -> None:
    dataset, _ = lecture
    items = list(
        Item.objects.filter(dataset=dataset, metadata__noise="Low bandwidth").values_list(
            "id", flat=True
        )[:25]
    )
    tagged = api.post(
        f"/api/v1/datasets/{dataset.pk}/tags/",
        {"tag": "<muffled>", "items": items},
        format="json",
    )
    assert tagged.status_code == 201
    job = run_job(dataset, kind="slices", fields=["noise"], text_fields=[], discover=False)
    assert job["status"] == "succeeded"
    html = page_for(owner).get(f"/datasets/{dataset.pk}/slices/").content.decode()
    tags = html.split('id="tags"', 1)[1].split("</section>", 1)[0]
    assert "&lt;muffled&gt;</a>" in tags and "25 items" in tags
    assert "<muffled>" not in html
    assert '<span class="tag source">tag</span>' in html


def test_the_dataset_page_links_here(table: Lecture, owner: Any) -> None:
    dataset, _ = table
    html = page_for(owner).get(f"/datasets/{dataset.pk}/").content.decode()
    assert f'<a href="/datasets/{dataset.pk}/slices/">Error analysis</a>' in html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country = DE", [["country", "=", "DE"]]),
        ("score < 0.5", [["score", "<", 0.5]]),
        ("score>=2", [["score", ">=", 2]]),
        ("zip = 01234", [["zip", "=", "01234"]]),
        ('code = "42"', [["code", "=", "42"]]),
        ("noise in Car noise, People noise", [["noise", "in", ["Car noise", "People noise"]]]),
        ("size not in 1, 2", [["size", "not in", [1, 2]]]),
        ("phone model == Pixel 7", [["phone model", "=", "Pixel 7"]]),
        ("text contains refund", [["text", "contains", "refund"]]),
        ("inspector is not missing", [["inspector", "is not missing", None]]),
        ("a = 1\nb is missing", [["a", "=", 1], ["b", "is missing", None]]),
        # "in" is an operator only as a word; the value is the rest of the line.
        ("inside = a = b", [["inside", "=", "a = b"]]),
    ],
)
def test_typed_conditions(text: str, expected: list[list[Any]]) -> None:
    assert parse_conditions(text, ["phone model", "inspector", "noise", "size"]) == expected


@pytest.mark.parametrize(
    "text", ["", "country", "country DE", "noise in", "b is missing now", "x = 1\ny <"]
)
def test_typed_conditions_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_conditions(text, [])
