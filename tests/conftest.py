"""Shared fixtures: fixed users (owner / reviewer / annotator / outsider), API clients, a
dataset, and a helper that uploads a file to the import API."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling import services
from labeling.models import Dataset, Role

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Hashing passwords properly costs ~0.2 s a user; the tests need no such strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str) -> Any:
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


@pytest.fixture
def owner(db: None) -> Any:
    return _user("owner")


@pytest.fixture
def reviewer(db: None) -> Any:
    return _user("reviewer")


@pytest.fixture
def annotator(db: None) -> Any:
    return _user("annotator")


@pytest.fixture
def outsider(db: None) -> Any:
    return _user("outsider")


def db_counts() -> dict[str, int]:
    """Row counts of everything an import or a label can touch: bad input changes none."""
    from labeling.models import Annotation, ImportBatch, Item, Label, LabelEvent, Labeller
    from workbench.models import Job

    return {
        "items": Item.objects.count(),
        "annotations": Annotation.objects.count(),
        "labels": Label.objects.count(),
        "batches": ImportBatch.objects.count(),
        "jobs": Job.objects.count(),
        "labellers": Labeller.objects.count(),
        "events": LabelEvent.objects.count(),
    }


def client_for(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(owner: Any) -> APIClient:
    """The owner's API client."""
    return client_for(owner)


@pytest.fixture
def dataset(owner: Any, reviewer: Any, annotator: Any) -> Dataset:
    ds = services.dataset_create(
        name="Reviews",
        created_by=owner,
        labels=["positive", "negative", "neutral"],
        annotators_per_item=3,
        guidelines="Label the overall sentiment.",
    )
    services.membership_set(dataset=ds, username="reviewer", role=Role.REVIEWER)
    services.membership_set(dataset=ds, username="annotator", role=Role.ANNOTATOR)
    return ds


Upload = Callable[..., Any]


@pytest.fixture
def upload(api: APIClient) -> Upload:
    """POST a file to a dataset's import endpoint; returns the response."""

    def post(
        dataset: Dataset,
        name: str,
        content: bytes | str,
        client: APIClient | None = None,
        **fields: Any,
    ) -> Any:
        raw = content.encode() if isinstance(content, str) else content
        file = io.BytesIO(raw)
        file.name = name
        return (client or api).post(
            f"/api/v1/datasets/{dataset.pk}/imports/",
            {"file": file, **fields},
            format="multipart",
        )

    return post
