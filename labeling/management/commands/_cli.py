"""Helpers the labeling commands share: lookups, JSON options, readable errors, import runs."""

from __future__ import annotations

from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from rest_framework.exceptions import ValidationError

from labeling.models import Dataset
from workbench.errors import BadInput, flatten_detail

# What services raise for input they refuse (older ones ValidationError, newer ones BadInput).
INPUT_ERRORS = (ValidationError, BadInput)


def dataset_get(dataset_id: int) -> Dataset:
    """The dataset with this id, or a CommandError."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        raise CommandError(f"There is no dataset with id {dataset_id}.")
    return dataset


def user_get(username: str) -> Any:
    """The user with this username, or a CommandError."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"There is no user named '{username}'.")
    return user


def json_option(value: str | None, option: str) -> Any:
    """Parse a JSON command-line option (None stays None)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON: {exc}.") from exc


def _plain(value: Any) -> str | None:
    # ValidationError turns every leaf into a string, None into "None".
    text = None if value is None else str(value)
    return None if text in (None, "", "None") else text


def row_error_line(error: dict[str, Any]) -> str:
    """One import problem as 'Row 3, column 'label': message'."""
    row, column, message = (_plain(error.get(k)) for k in ("row", "column", "message"))
    where = []
    if row is not None:
        where.append(f"Row {row}")
    if column is not None:
        where.append(f"column '{column}'")
    prefix = ", ".join(where)
    if prefix:
        prefix = prefix[0].upper() + prefix[1:] + ": "
    return f"{prefix}{message or 'unknown problem'}"


def problems_message(headline: str, errors: list[dict[str, Any]], total: int | None = None) -> str:
    """A headline and, when there is more than one problem, one line per problem."""
    lines = [headline.strip()]
    if len(errors) > 1:
        lines.append("Problems:")
        lines += [f"  {row_error_line(e)}" for e in errors]
        if total is not None and total > len(errors):
            lines.append(f"  … and {total - len(errors)} more.")
    return "\n".join(lines)


def validation_message(exc: ValidationError | BadInput) -> str:
    """A service's refusal (ValidationError or BadInput) as readable text for the terminal."""
    if isinstance(exc, BadInput):
        listed = exc.details.get("errors")
        rows = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
        return problems_message(exc.message, rows)
    detail = exc.detail
    if isinstance(detail, dict):
        headline: list[str] = []
        errors: list[dict[str, Any]] = []
        for key, value in detail.items():
            if key == "errors" and isinstance(value, list):
                errors = [e for e in value if isinstance(e, dict)]
            elif key in ("detail", "non_field_errors"):
                headline.append(flatten_detail(value))
            else:
                headline.append(f"{key}: {flatten_detail(value)}")
        return problems_message(" ".join(headline) or "Invalid input.", errors)
    return flatten_detail(detail) or "Invalid input."
