"""Shared REST API conventions: errors, pagination, dataset permissions."""

from __future__ import annotations

from base64 import b64decode, b64encode
from typing import Any
from urllib.parse import parse_qs, urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from workbench.errors import BadInput, Conflict


class IdCursorPagination(BasePagination):
    """Keyset pagination on the primary key: page 5,000 costs what page 1 costs.

    ``?cursor=`` is opaque (the last id seen, and the direction); ``page_size`` up to 1,000.
    A view may name ``keyset_prefix`` fields to order by first (e.g. the dataset), so that the
    database walks the matching composite index.
    """

    page_size = 100
    max_page_size = 1000
    ordering = "id"  # "-id" for newest first

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size_now = self._page_size(request)
        after, backwards = self._decode(request.query_params.get("cursor"))
        descending = self.ordering.startswith("-") != backwards
        prefix = tuple(getattr(view, "keyset_prefix", ()))
        if after is not None:
            queryset = queryset.filter(**{"id__lt" if descending else "id__gt": after})

        order = [f"-{f}" if descending else f for f in (*prefix, "id")]
        rows = list(queryset.order_by(*order)[: self.page_size_now + 1])
        more = len(rows) > self.page_size_now
        rows = rows[: self.page_size_now]
        if backwards:
            rows.reverse()
        first = rows[0].pk if rows else None
        last = rows[-1].pk if rows else None
        has_next = more if not backwards else after is not None
        has_previous = (after is not None) if not backwards else more
        self.next_cursor = self._encode(last, False) if has_next and rows else None
        self.previous_cursor = self._encode(first, True) if has_previous and rows else None
        return rows

    def _page_size(self, request: Any) -> int:
        try:
            size = int(request.query_params.get("page_size", self.page_size))
        except ValueError as exc:
            raise exceptions.ValidationError({"page_size": ["Give a number."]}) from exc
        return max(1, min(size, self.max_page_size))

    @staticmethod
    def _decode(cursor: str | None) -> tuple[int | None, bool]:
        if not cursor:
            return None, False
        try:
            fields = parse_qs(b64decode(cursor.encode()).decode(), strict_parsing=True)
            return int(fields["p"][0]), fields.get("r", ["0"])[0] == "1"
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise exceptions.NotFound("Invalid cursor.") from exc

    def _encode(self, position: int | None, backwards: bool) -> str:
        query = urlencode({"p": position, **({"r": 1} if backwards else {})})
        cursor = b64encode(query.encode()).decode()
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "cursor", cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.next_cursor, "previous": self.previous_cursor, "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "The pagination cursor (from next/previous).",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Results per page (up to {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: Django's own 404/403 and any ValueError from parsing become 4xx."""
    if isinstance(exc, Conflict):
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, BadInput):
        return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        response.data = {"detail": " ".join(str(x) for x in response.data)}
    return response
