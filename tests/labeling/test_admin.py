"""The Django admin: staff manage datasets, labels and members."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from labeling.models import Dataset, Membership


@pytest.fixture
def admin_client_logged_in(client: Any, db: None) -> Any:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(user)
    return client


def test_admin_pages_load(admin_client_logged_in: Any, dataset: Dataset, upload: Any) -> None:
    from labeling.versions import version_freeze

    upload(dataset, "a.csv", "id,text,worker,label\n1,a,W1,positive\n")
    version = version_freeze(dataset=dataset)
    for path in [
        "labeling/datasetversion/",
        f"labeling/datasetversion/{version.pk}/change/",
        "labeling/dataset/",
        f"labeling/dataset/{dataset.pk}/change/",
        "labeling/dataset/add/",
        "labeling/item/",
        "labeling/annotation/",
        "labeling/importbatch/",
        "labeling/labelevent/",
        "labeling/labeller/",
        "workbench/job/",
    ]:
        assert admin_client_logged_in.get(f"/admin/{path}").status_code == 200, path


def test_create_dataset_with_labels_and_members_in_the_admin(
    admin_client_logged_in: Any, owner: Any
) -> None:
    response = admin_client_logged_in.post(
        "/admin/labeling/dataset/add/",
        {
            "name": "Admin-made",
            "description": "",
            "task_type": "single_label",
            "guidelines": "Be kind.",
            "assignment": "breadth_first",
            "assignment_seed": 0,
            "annotators_per_item": 2,
            "consensus_method": "majority_vote",
            "labels-TOTAL_FORMS": 2,
            "labels-INITIAL_FORMS": 0,
            "labels-0-name": "yes",
            "labels-0-hotkey": "y",
            "labels-0-position": 0,
            "labels-1-name": "no",
            "labels-1-hotkey": "n",
            "labels-1-position": 1,
            "memberships-TOTAL_FORMS": 1,
            "memberships-INITIAL_FORMS": 0,
            "memberships-0-user": owner.pk,
            "memberships-0-role": "owner",
        },
    )
    assert response.status_code == 302, [
        (f.formset.prefix, f.formset.errors, f.formset.non_form_errors())
        for f in response.context["inline_admin_formsets"]
    ] + [response.context["adminform"].form.errors]
    dataset = Dataset.objects.get(name="Admin-made")
    assert list(dataset.labels.values_list("name", "hotkey")) == [("yes", "y"), ("no", "n")]
    assert Membership.objects.get(dataset=dataset).user == owner


def test_frozen_versions_cannot_be_changed_in_the_admin(
    admin_client_logged_in: Any, dataset: Dataset, upload: Any
) -> None:
    from labeling.models import DatasetVersion
    from labeling.versions import version_freeze

    upload(dataset, "a.csv", "id,text,worker,label\n1,a,W1,positive\n")
    version = version_freeze(dataset=dataset, note="kept")

    assert admin_client_logged_in.get("/admin/labeling/datasetversion/add/").status_code == 403
    response = admin_client_logged_in.post(
        f"/admin/labeling/datasetversion/{version.pk}/change/", {"note": "changed"}
    )
    assert response.status_code == 403
    response = admin_client_logged_in.post(
        f"/admin/labeling/datasetversion/{version.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert DatasetVersion.objects.get(pk=version.pk).note == "kept"
