"""The agreement and labeller-quality pages, through Django's test client."""

from __future__ import annotations

import json
import random
import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from labeling import services
from labeling.models import Dataset, Role
from tests.quality.test_agreement_api import import_long
from workbench.models import Job

# Six labellers of falling accuracy over 60 items, four labels per item (a rotating window), so
# every pair shares items and agreement varies; "Gil" labels only four items (too few to pair).
LABELLERS = {"Ana": 0.95, "Ben": 0.9, "Cy": 0.85, "Dee": 0.7, "Eve": 0.55, "Fox": 0.3}
SOURCES = ["web", "email", "phone"]


def agreement_rows(seed: int = 7) -> list[dict[str, str]]:
    """Annotation rows (item, text, source, worker, label, time_spent_ms), deterministic."""
    rng = random.Random(seed)
    labels = ["pos", "neg", "neu"]
    names = list(LABELLERS)
    rows = []
    for i in range(60):
        truth = labels[i % 3]
        source = "fax" if i < 3 else SOURCES[(i // 3) % 3]
        for j in range(4):
            worker = names[(i + j) % 6]
            accuracy = LABELLERS[worker] - (0.25 if source == "phone" else 0.0)
            label = truth if rng.random() < accuracy else rng.choice(labels)
            time_ms = 1500 + 700 * names.index(worker) + rng.randrange(400)
            rows.append(
                {"item": f"i{i}", "text": f"Text {i}", "source": source, "worker": worker,
                 "label": label, "time_spent_ms": str(time_ms)}
            )  # fmt: skip
    for i in range(4):
        rows.append(
            {"item": f"i{i}", "text": f"Text {i}", "source": "fax", "worker": "Gil",
             "label": labels[i % 3], "time_spent_ms": "900"}
        )  # fmt: skip
    return rows


def import_rows(upload: Any, dataset: Dataset, rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    text = ",".join(columns) + "\n" + "".join(",".join(r[c] for c in columns) + "\n" for r in rows)
    mapping = {
        "external_id": "item",
        "labeller": "worker",
        "label": "label",
        "data": ["text"],
        "metadata": ["source"],
    }
    response = upload(dataset, "labels.csv", text, mapping=json.dumps(mapping))
    assert response.status_code == 201, response.json()


def make_dataset(owner: Any, upload: Any, name: str = "Sentiment") -> Dataset:
    dataset = services.dataset_create(
        name=name, created_by=owner, labels=["pos", "neg", "neu"], annotators_per_item=4
    )
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    import_rows(upload, dataset, agreement_rows())
    return dataset


def row_names(html: str) -> list[str]:
    """The labeller names of the labellers table, top to bottom."""
    body = html.split('<table class="grid labellers', 1)[1]
    return re.findall(r"<tr(?: class=\"flagged\")?>\s*<td>(.*?)</td>", body)


def page_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def three_labellers(owner: Any, reviewer: Any, annotator: Any, upload: Any) -> Dataset:
    """The hand-counted five items of test_agreement_api: i1 unanimous, i2 pos pos neg, i3
    unanimous, i4 a three-way split, i5 a single label."""
    dataset = services.dataset_create(
        name="Sentiment", created_by=owner, labels=["pos", "neg", "neu"], annotators_per_item=3
    )
    services.membership_set(dataset=dataset, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    import_long(
        upload,
        dataset,
        [
            ("i1", "A", "pos"), ("i1", "B", "pos"), ("i1", "C", "pos"),
            ("i2", "A", "pos"), ("i2", "B", "pos"), ("i2", "C", "neg"),
            ("i3", "A", "neg"), ("i3", "B", "neg"), ("i3", "C", "neg"),
            ("i4", "A", "pos"), ("i4", "B", "neu"), ("i4", "C", "neg"),
            ("i5", "A", "neu"),
        ],
    )  # fmt: skip
    return dataset


@pytest.fixture
def sentiment(owner: Any, reviewer: Any, annotator: Any, upload: Any) -> Dataset:
    return make_dataset(owner, upload)


def test_owner_and_reviewer_read_the_agreement_report(
    three_labellers: Dataset, run_job: Any, owner: Any, reviewer: Any
) -> None:
    job = run_job(three_labellers)
    assert job["status"] == "succeeded", job["error"]
    for user in (owner, reviewer):
        response = page_for(user).get(f"/datasets/{three_labellers.pk}/agreement/")
        assert response.status_code == 200
        html = response.content.decode()
        # Percent agreement: P_i = (1, 1/3, 1, 0) over the four items with 3 labels → 7/12.
        assert "58.3%" in html
        # Fleiss' kappa = 22/82 on the four items with three labels each, none left out.
        assert "0.27" in html and "on 4 items with 3 labels each, 0 left out" in html
        assert job["result"]["definitions"]["alpha"] in unescape(html)
        assert f'href="/datasets/{three_labellers.pk}/review/"' in html
        assert f'href="/datasets/{three_labellers.pk}/labellers/"' in html
        assert "Run the first agreement job" not in html
        assert "data-job-url" not in html  # nothing running


def test_the_report_draws_the_pairwise_heatmap(
    sentiment: Dataset, run_job: Any, owner: Any
) -> None:
    report = run_job(sentiment)["result"]
    html = page_for(owner).get(f"/datasets/{sentiment.pk}/agreement/").content.decode()
    heatmap = html.split('<svg class="heatmap"', 1)[1].split("</svg>", 1)[0]
    assert heatmap.count("<rect ") == 7 * 7  # Ana … Fox and Gil
    # Gil shares four items at most: fewer than 10, so undefined, in grey, with the reason.
    assert "Ana × Gil: undefined (they share 2 items, fewer than 10)" in heatmap
    ana, ben = report["pairwise"]["names"].index("Ana"), report["pairwise"]["names"].index("Ben")
    kappa = report["pairwise"]["kappa"][ana][ben]
    assert f"Ana × Ben: kappa {kappa:.2f} on 30 shared items" in heatmap
    top = report["confusions"][0]
    assert f'<td class="pair">{top["label_a"]} ↔ {top["label_b"]}</td>' in html
    # Slices: the three fax items are too few to judge, and say so.
    fax = html.split("<td>fax</td>", 1)[1].split("</tr>", 1)[0]
    assert "too small" in fax
    assert "Majority vote" in html and "of the items" in html


def test_undefined_figures_say_why_instead_of_a_number(
    owner: Any, reviewer: Any, upload: Any, run_job: Any
) -> None:
    dataset = services.dataset_create(name="Same", created_by=owner, labels=["a", "b"])
    rows = [
        {"item": f"i{i}", "text": "t", "source": "x", "worker": w, "label": "a",
         "time_spent_ms": "1000"}
        for i in range(3) for w in ("P", "Q")
    ]  # fmt: skip
    import_rows(upload, dataset, rows)
    assert run_job(dataset)["status"] == "succeeded"
    html = page_for(owner).get(f"/datasets/{dataset.pk}/agreement/").content.decode()
    headline = html.split('class="figures"', 1)[1].split("</section>", 1)[0]
    assert "every comparable label is the same class" in headline
    assert headline.count(">undefined<") == 2  # alpha and Fleiss' kappa; percent agreement is 100%
    assert "100.0%" in headline


def test_annotators_and_outsiders_are_refused(
    three_labellers: Dataset, run_job: Any, annotator: Any, outsider: Any
) -> None:
    run_job(three_labellers)
    for user in (annotator, outsider):
        for page in ("agreement", "labellers"):
            response = page_for(user).get(f"/datasets/{three_labellers.pk}/{page}/")
            assert response.status_code == 403, (user, page)
            assert "Not allowed" in response.content.decode()
        response = page_for(user).post(
            f"/datasets/{three_labellers.pk}/agreement/", {"consensus_method": "majority_vote"}
        )
        assert response.status_code == 403
    assert Job.objects.filter(kind="agreement").count() == 1
    response = Client().get(f"/datasets/{three_labellers.pk}/agreement/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_post_starts_a_job_then_the_page_follows_it(
    three_labellers: Dataset, reviewer: Any
) -> None:
    url = f"/datasets/{three_labellers.pk}/agreement/"
    client = page_for(reviewer)
    response = client.post(url, {"consensus_method": "dawid_skene"})
    assert response.status_code == 302 and response["Location"] == url
    job = Job.objects.get(kind="agreement")
    assert (job.kind, job.params["consensus_method"], job.status) == (
        "agreement",
        "dawid_skene",
        "queued",
    )
    assert job.created_by == reviewer
    html = client.get(url).content.decode()
    assert f"Started agreement job #{job.pk}." in html
    assert f'data-job-url="/api/v1/jobs/{job.pk}/"' in html
    assert "<progress" in html and "jobwatch.js" in html


def test_the_form_defaults_to_the_datasets_method_and_refuses_unknown_ones(
    three_labellers: Dataset, owner: Any
) -> None:
    three_labellers.consensus_method = "dawid_skene"
    three_labellers.save(update_fields=["consensus_method"])
    url = f"/datasets/{three_labellers.pk}/agreement/"
    client = page_for(owner)
    assert '<option value="dawid_skene" selected>' in client.get(url).content.decode()
    response = client.post(url, {"consensus_method": "vibes"}, follow=True)
    assert "Unknown method &#x27;vibes&#x27;" in response.content.decode()
    assert not Job.objects.filter(kind="agreement").exists()
    client.post(url, {})
    assert Job.objects.get(kind="agreement").params["consensus_method"] == "dawid_skene"


def test_the_form_needs_its_csrf_token(three_labellers: Dataset, owner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(f"/datasets/{three_labellers.pk}/agreement/", {})
    assert response.status_code == 403
    assert not Job.objects.filter(kind="agreement").exists()


def test_empty_states(dataset: Dataset, owner: Any, upload: Any) -> None:
    client = page_for(owner)
    html = client.get(f"/datasets/{dataset.pk}/agreement/").content.decode()
    assert "This dataset has no labels yet" in html and "Run agreement" not in html
    html = client.get(f"/datasets/{dataset.pk}/labellers/").content.decode()
    assert "No agreement report yet" in html
    assert f'href="/datasets/{dataset.pk}/agreement/"' in html

    rows = agreement_rows()[:8]
    for row in rows:
        row["label"] = {"pos": "positive", "neg": "negative", "neu": "neutral"}[row["label"]]
    import_rows(upload, dataset, rows)
    html = client.get(f"/datasets/{dataset.pk}/agreement/").content.decode()
    assert "Run the first agreement job" in html
    assert 'name="consensus_method"' in html and "csrfmiddlewaretoken" in html


def test_a_failed_job_shows_its_error(
    dataset: Dataset, owner: Any, upload: Any, run_job: Any
) -> None:
    assert upload(dataset, "t.csv", "text\nhello\n").status_code == 201
    job = run_job(dataset)
    assert job["status"] == "failed"
    html = page_for(owner).get(f"/datasets/{dataset.pk}/agreement/").content.decode()
    assert f"Agreement job #{job['id']} failed" in html
    assert "This dataset has no labels yet: label some items" in html


def test_labeller_names_are_escaped(owner: Any, reviewer: Any, upload: Any, run_job: Any) -> None:
    dataset = services.dataset_create(name="Escape", created_by=owner, labels=["a", "b"])
    rows = [
        {"item": f"i{i}", "text": "t", "source": "x", "worker": w, "label": "ab"[(i * k) % 2],
         "time_spent_ms": "1000"}
        for i in range(12) for k, w in enumerate(("<b>x</b>", "P", "Q"), start=1)
    ]  # fmt: skip
    import_rows(upload, dataset, rows)
    assert run_job(dataset)["status"] == "succeeded"
    client = page_for(owner)
    for page in ("agreement", "labellers"):
        html = client.get(f"/datasets/{dataset.pk}/{page}/").content.decode()
        assert "&lt;b&gt;x&lt;/b&gt;" in html, page
        assert "<b>x</b>" not in html, page


def test_labellers_table_sorts(sentiment: Dataset, run_job: Any, owner: Any) -> None:
    report = run_job(sentiment)["result"]
    url = f"/datasets/{sentiment.pk}/labellers/"
    client = page_for(owner)
    by_rate = sorted(report["labellers"], key=lambda r: (r["rate"], r["name"]))
    html = client.get(url).content.decode()
    # Worst agreement first by default: Fox, with his interval, flagged far below the rest.
    assert row_names(html) == [r["name"] for r in by_rate]
    fox = next(r for r in report["labellers"] if r["name"] == "Fox")
    low, high = round(100 * fox["low"]), round(100 * fox["high"])
    assert f"{round(100 * fox['rate'])}% ({low}–{high}%)" in html
    assert row_names(html)[0] == "Fox" and 'class="flagged"' in html
    assert f"{100 * report['median_labeller_agreement']:.0f}%" in html
    assert 'aria-sort="ascending"' in html and "?sort=agreement&amp;dir=desc" in html

    html = client.get(url, {"sort": "name", "dir": "asc"}).content.decode()
    assert row_names(html) == sorted(r["name"] for r in report["labellers"])
    html = client.get(url, {"sort": "agreement", "dir": "desc"}).content.decode()
    by_rate_desc = sorted(report["labellers"], key=lambda r: (-r["rate"], r["name"]))
    assert row_names(html) == [r["name"] for r in by_rate_desc]
    assert 'aria-sort="descending"' in html
    html = client.get(url, {"sort": "time", "dir": "asc"}).content.decode()
    assert row_names(html)[0] == "Gil"  # 0.9 s per item
    assert "0.9 s" in html


def test_labellers_show_their_dawid_skene_confusion(
    sentiment: Dataset, run_job: Any, owner: Any
) -> None:
    report = run_job(sentiment)["result"]
    fox = next(r for r in report["labellers"] if r["name"] == "Fox")
    matrix = fox["confusion"]
    assert len(matrix) == 3 and all(abs(sum(row) - 1) < 0.01 for row in matrix)
    html = page_for(owner).get(f"/datasets/{sentiment.pk}/labellers/").content.decode()
    assert "Dawid–Skene confusion of Fox" in html
    assert f'<td class="diagonal">{round(100 * matrix[0][0])}%</td>' in html


def test_an_unknown_sort_falls_back_to_the_default(
    sentiment: Dataset, run_job: Any, owner: Any
) -> None:
    run_job(sentiment)
    url = f"/datasets/{sentiment.pk}/labellers/"
    client = page_for(owner)
    default = row_names(client.get(url).content.decode())
    for query in ({"sort": "evil"}, {"sort": "<script>", "dir": "sideways"}, {"dir": "desc!"}):
        response = client.get(url, query)
        assert response.status_code == 200
        assert row_names(response.content.decode()) == default


def test_a_big_crowd_shows_the_best_connected_40_in_the_heatmap(
    owner: Any, upload: Any, run_job: Any
) -> None:
    dataset = services.dataset_create(name="Crowd", created_by=owner, labels=["a", "b", "c"])
    rows = [
        {"item": f"i{i}", "text": "t", "source": "x", "worker": f"w{w:02d}",
         "label": "abc"[(i + (w % 4 == 0) * (i % 2)) % 3], "time_spent_ms": "1000"}
        for i in range(12) for w in range(40)
    ]  # fmt: skip
    rows += [
        {"item": f"i{i}", "text": "t", "source": "x", "worker": f"late{w}", "label": "a",
         "time_spent_ms": "1000"}
        for w in range(5) for i in range(2)
    ]  # fmt: skip
    import_rows(upload, dataset, rows)
    assert run_job(dataset)["status"] == "succeeded"
    html = page_for(owner).get(f"/datasets/{dataset.pk}/agreement/").content.decode()
    assert "Showing the 40 labellers who share the most items with others, of 45." in html
    heatmap = html.split('<svg class="heatmap"', 1)[1].split("</svg>", 1)[0]
    assert heatmap.count("<rect ") == 40 * 40 and "late" not in heatmap
