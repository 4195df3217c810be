"""Domain errors that every interface (API, pages, CLI) shows as a clear message."""

from __future__ import annotations

from typing import Any


class BadInput(Exception):
    """Input we refuse, with a message for a person and optional structured details
    (e.g. ``errors``: a list of ``{row, column, message}``). The API answers 400."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, **self.details}


class Conflict(BadInput):
    """The request is valid but the state forbids it now (e.g. an item that already has all the
    labels it needs). The API answers 409."""


def flatten_detail(value: Any) -> str:
    """A DRF error detail (nested lists and field-keyed dicts) as one line of text."""
    if isinstance(value, list):
        return " ".join(flatten_detail(v) for v in value)
    if isinstance(value, dict):
        return " ".join(
            flatten_detail(v)
            if k in ("detail", "non_field_errors")
            else f"{k}: {flatten_detail(v)}"
            for k, v in value.items()
        )
    return str(value)


def describe(exc: Exception) -> str:
    """What to tell a person about refused input (BadInput or a DRF ValidationError)."""
    if isinstance(exc, BadInput):
        return exc.message
    detail = getattr(exc, "detail", None)
    return flatten_detail(detail) if detail is not None else str(exc)
