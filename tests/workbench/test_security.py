"""Secure by default: sign-in throttling, blind annotators, reviewers who change nothing of the
dataset's set-up, JSON errors with request ids, and a clean `check --deploy`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from labeling import services
from labeling.models import Dataset, Item, Membership
from quality.models import SliceRule
from tests.conftest import PASSWORD, client_for
from workbench.middleware import ClientErrorsBrief, RequestIdLogFilter


def _token(client: APIClient, username: str, password: str, address: str) -> Any:
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_twenty_wrong_passwords_lock_the_token_endpoint_for_that_user(owner: Any) -> None:
    client = APIClient()
    statuses = [_token(client, "owner", "wrong", f"10.0.0.{n}").status_code for n in range(1, 21)]
    limit = django_settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [400] * (limit - 1)
    assert set(statuses[limit - 1 :]) == {429}
    # Locked: even the right password, from a new address, is refused, with the reason.
    response = _token(client, "owner", PASSWORD, "10.0.1.1")
    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "too_many_failed_logins" and "Too many failed sign-ins" in body["detail"]
    assert int(response["Retry-After"]) == django_settings.AXES_COOLOFF_TIME.total_seconds()


def test_many_failures_from_one_address_lock_that_address(owner: Any, reviewer: Any) -> None:
    client = APIClient()
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        _token(client, f"nobody{n}", "wrong", "10.9.9.9")
    assert _token(client, "reviewer", PASSWORD, "10.9.9.9").status_code == 429
    # Another address signs in as usual.
    response = _token(client, "reviewer", PASSWORD, "10.9.9.10")
    assert response.status_code == 200 and response.json()["token"]


def test_a_success_resets_the_count(owner: Any) -> None:
    client = APIClient()
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert _token(client, "owner", "wrong", "10.1.1.1").status_code == 400
    assert _token(client, "owner", PASSWORD, "10.1.1.1").status_code == 200
    assert _token(client, "owner", "wrong", "10.1.1.1").status_code == 400


def test_the_login_form_is_throttled_with_a_message(owner: Any) -> None:
    client = Client()
    for _ in range(20):
        response = client.post("/login/", {"username": "owner", "password": "wrong"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    response = client.post("/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429  # the right password waits out the lock too


def test_annotators_see_neither_names_nor_roles_of_other_members(
    dataset: Dataset, annotator: Any
) -> None:
    body = client_for(annotator).get(f"/api/v1/datasets/{dataset.pk}/members/").json()
    assert body == [
        {
            "id": Membership.objects.get(user=annotator).pk,
            "username": "annotator",
            "role": "annotator",
            "created_at": body[0]["created_at"],
        }
    ]
    browser = Client()
    browser.force_login(annotator)
    page = browser.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "reviewer" not in page and ">owner<" not in page
    assert "with 2 other members" in page
    staff = client_for(dataset.created_by).get(f"/api/v1/datasets/{dataset.pk}/members/").json()
    assert {m["username"] for m in staff} == {"owner", "reviewer", "annotator"}


def test_reviewers_change_no_settings_or_members_and_delete_nothing(
    dataset: Dataset, reviewer: Any, upload: Any
) -> None:
    assert upload(dataset, "a.csv", "id,text,source\na,one,web\nb,two,app\n").status_code == 201
    item = Item.objects.filter(dataset=dataset).first()
    assert item is not None
    services.item_tags_add(dataset=dataset, item_ids=[item.pk], tag="blurry", user=reviewer)
    rule = SliceRule.objects.create(
        dataset=dataset, name="web", conditions=[["source", "=", "web"]], created_by=reviewer
    )
    member = Membership.objects.get(dataset=dataset, user=reviewer)
    base = f"/api/v1/datasets/{dataset.pk}"
    api = client_for(reviewer)
    refused = {
        "patch dataset": api.patch(f"{base}/", {"name": "Mine"}, format="json"),
        "consensus method": api.patch(
            f"{base}/", {"consensus_method": "dawid_skene"}, format="json"
        ),
        "delete dataset": api.delete(f"{base}/"),
        "add member": api.post(
            f"{base}/members/", {"username": "reviewer", "role": "owner"}, format="json"
        ),
        "remove member": api.delete(f"{base}/members/{member.pk}/"),
        "delete slice rule": api.delete(f"{base}/slice-rules/{rule.pk}/"),
        "untag": api.delete(f"{base}/items/{item.pk}/tags/blurry/"),
        "data rules": api.put(f"{base}/quality-rules/", {"rules": []}, format="json"),
        "augment": api.post(
            f"{base}/jobs/",
            {"kind": "augment", "params": {"target": {"label": "positive"}}},
            format="json",
        ),
        "import job": api.post(
            f"{base}/jobs/",
            {"kind": "import", "params": {"import_batch": dataset.import_batches.get().pk}},
            format="json",
        ),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    dataset.refresh_from_db()
    assert dataset.name == "Reviews" and dataset.consensus_method == "majority_vote"
    assert SliceRule.objects.filter(pk=rule.pk).exists() and item.tags.exists()
    assert Membership.objects.get(pk=member.pk).role == "reviewer"
    # The pages refuse the same.
    browser = Client()
    browser.force_login(reviewer)
    pages = {
        "delete rule": browser.post(
            f"/datasets/{dataset.pk}/slices/", {"action": "delete_rule", "rule": rule.pk}
        ),
        "data rules": browser.post(
            f"/datasets/{dataset.pk}/data-quality/", {"action": "rules", "rules": "[]"}
        ),
        "augment": browser.post(f"/datasets/{dataset.pk}/augment/", {"recipe": "word_swap"}),
        "untag": browser.post(f"/datasets/{dataset.pk}/items/{item.pk}/", {"remove": "blurry"}),
        "members": browser.post(
            f"/datasets/{dataset.pk}/", {"action": "set", "username": "reviewer", "role": "owner"}
        ),
    }
    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 403)
    assert SliceRule.objects.filter(pk=rule.pk).exists() and item.tags.exists()


def test_an_unexpected_api_error_is_json_with_a_request_id_in_the_log(
    api: APIClient, monkeypatch: Any, caplog: Any
) -> None:
    from labeling import selectors

    def broken(**_: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(selectors, "datasets_for_user", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api.get("/api/v1/datasets/", HTTP_X_REQUEST_ID="req-7")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "server_error" and body["request_id"] == "req-7"
    assert "the disk is on fire" not in body["detail"]  # no internals for the caller
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and "the disk is on fire" in str(record.exc_info[1])
    assert record.request_id == "req-7"  # type: ignore[attr-defined]


def test_client_errors_are_logged_as_one_line() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s [%(request_id)s] %(message)s"))
    handler.addFilter(RequestIdLogFilter())
    handler.addFilter(ClientErrorsBrief())
    try:
        raise ValueError("no such dataset")
    except ValueError:
        exc_info = sys.exc_info()
    for status, lines in ((404, 1), (403, 1), (500, 2)):
        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/x",), exc_info
        )
        record.status_code = status
        assert all(f.filter(record) for f in handler.filters)  # type: ignore[union-attr]
        text = handler.format(record)
        assert ("Traceback" in text) == (lines > 1), (status, text)
        assert text.startswith("WARNING [-] Not Found: /x")


def test_check_deploy_has_no_warnings_with_the_documented_production_settings() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # tests'
        "DJANGO_SECRET_KEY": "k" * 20 + "8Fq2-Lz!pV0x#rWm4Tn6Yb1Uc9Hs3Jd7Ge5Af" + "q" * 20,
        "DJANGO_ALLOWED_HOSTS": "workbench.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://workbench.example.com",
        "DJANGO_SECURE": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("debug", ["0", ""])
def test_debug_is_off_unless_asked_for(debug: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG)"],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "workbench.settings", "DJANGO_DEBUG": debug},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_a_json_body_over_the_limit_is_a_413_with_the_limit(
    dataset: Dataset, api: APIClient, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20
    body = [{"item": 1, "label": "x" * 100}] * 20_000  # ~2.6 MB
    response = api.post(f"/api/v1/datasets/{dataset.pk}/annotations/", body, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "limit of 1 MB (WORKBENCH_MAX_JSON_MB)" in response.json()["detail"]
