"""The jobs page: every job of a dataset with its status, progress, parameters, duration and
result link; cancel and run again; staff only."""

from __future__ import annotations

from typing import Any

from django.test import Client

from labeling import services
from labeling.models import Dataset
from workbench.jobs import job_create
from workbench.models import Job


def page_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_empty_state(owner: Any) -> None:
    dataset = services.dataset_create(name="Empty", created_by=owner, labels=["a", "b"])
    html = page_for(owner).get(f"/datasets/{dataset.pk}/jobs/").content.decode()
    assert "No jobs yet" in html


def test_jobs_listed_cancelled_and_run_again(
    dataset: Dataset, owner: Any, reviewer: Any, annotator: Any, outsider: Any, upload: Any
) -> None:
    assert upload(dataset, "items.csv", "id,text\na,<b>one</b>\nb,two\n").status_code == 201
    queued = job_create(
        kind="agreement",
        params={"consensus_method": "majority_vote"},
        dataset=dataset,
        created_by=owner,
    )
    url = f"/datasets/{dataset.pk}/jobs/"
    client = page_for(reviewer)
    html = client.get(url).content.decode()
    imported = Job.objects.get(dataset=dataset, kind="import")
    # Newest first; the queued job is followed live, the finished import links to its page.
    assert html.index(f'id="job-{queued.pk}"') < html.index(f'id="job-{imported.pk}"')
    assert f'data-job-url="/api/v1/jobs/{queued.pk}/"' in html
    assert f'data-job-url="/api/v1/jobs/{imported.pk}/"' not in html
    assert "&quot;consensus_method&quot;: &quot;majority_vote&quot;" in html
    assert f'href="/datasets/{dataset.pk}/"' in html

    response = client.post(url, {"job": queued.pk, "action": "cancel"}, follow=True)
    assert f"Cancelled job #{queued.pk}." in response.content.decode()
    queued.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED

    response = client.post(url, {"job": queued.pk, "action": "rerun"}, follow=True)
    again = Job.objects.filter(dataset=dataset, kind="agreement").order_by("-id").first()
    assert again is not None and again.pk != queued.pk and again.params == queued.params
    assert f"Started job #{again.pk}, a re-run of #{queued.pk}." in response.content.decode()

    response = client.post(url, {"job": imported.pk, "action": "rerun"}, follow=True)
    assert "Import jobs can&#x27;t be re-run" in response.content.decode()
    response = client.post(url, {"job": imported.pk, "action": "cancel"}, follow=True)
    assert "already succeeded" in response.content.decode()

    other = services.dataset_create(name="Other", created_by=owner, labels=["a"])
    foreign = job_create(kind="agreement", params={}, dataset=other, created_by=owner)
    response = client.post(url, {"job": foreign.pk, "action": "cancel"}, follow=True)
    assert "There is no such job in this dataset." in response.content.decode()
    foreign.refresh_from_db()
    assert foreign.status == Job.Status.QUEUED

    assert page_for(annotator).get(url).status_code == 403
    assert page_for(outsider).get(url).status_code in (403, 404)
