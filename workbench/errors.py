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
