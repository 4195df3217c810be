"""Request ids, JSON errors under /api/, and logs a person can read.

Every request gets an id (the caller's ``X-Request-ID`` when it is a plain token, else a new
one): it is answered in the ``X-Request-ID`` header, put on every log line written while the
request runs, and quoted in the body of a server error, so that a report can be matched with
its traceback in the log.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_CALLER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_request_id() -> str:
    """The id of the request being served on this thread ("-" outside a request)."""
    return _request_id.get()


class RequestIdMiddleware:
    """Give each request an id, answered in ``X-Request-ID`` and written on its log lines."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _CALLER_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def problem(
    request: HttpRequest, status: int, detail: str, code: str, **extra: Any
) -> JsonResponse:
    """An error body for API callers: ``detail`` for people, ``code`` for programs, and the
    request id to quote."""
    body = {"detail": detail, "code": code, "request_id": current_request_id(), **extra}
    return JsonResponse(body, status=status)


class ApiErrorMiddleware:
    """Under /api/, an unexpected error answers a JSON problem body, never an HTML page.

    Errors Django answers as 4xx itself (404, 403, bad requests) are left to it; the error
    handlers in ``workbench.urls`` make those JSON under /api/ too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api(request) or not isinstance(exception, Exception):
            return None
        from django.conf import settings
        from django.core.exceptions import (
            BadRequest,
            PermissionDenied,
            RequestDataTooBig,
            SuspiciousOperation,
        )
        from django.http import Http404

        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
            response = problem(
                request,
                413,
                f"The request body is larger than the limit of {limit:.0f} MB "
                "(WORKBENCH_MAX_JSON_MB); send files as multipart uploads, or fewer rows at once.",
                "request_too_large",
            )
            log_response("Request too large: %s", request.path, response=response, request=request)
            return response
        if isinstance(exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation):
            return None
        if isinstance(exception, OperationalError):
            # The database is unreachable, or every pooled connection stayed busy too long.
            response = problem(
                request,
                503,
                "The database is busy or unreachable; try again in a moment.",
                "service_unavailable",
            )
            response["Retry-After"] = "5"
            log_response(
                "Service unavailable: %s (%s)",
                request.path,
                str(exception),
                response=response,
                request=request,
            )
            return response
        kind = "database_error" if isinstance(exception, DatabaseError) else "server_error"
        response = problem(
            request,
            500,
            "Something went wrong on the server. It is logged under this request id; "
            "quote it when you report the problem.",
            kind,
        )
        log_response(
            "Internal Server Error: %s",
            request.path,
            response=response,
            request=request,
            exception=exception,
        )
        return response


class RequestIdLogFilter(logging.Filter):
    """Put the current request's id on every record (``%(request_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class ClientErrorsBrief(logging.Filter):
    """A 4xx answer is the caller's mistake, not ours: log it as one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
