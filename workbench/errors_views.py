"""Error answers: JSON problem bodies under /api/, pages elsewhere; and the health check."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

from workbench.middleware import current_request_id, is_api, problem


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return problem(request, 400, "The request could not be understood.", "bad_request")
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else ""
    if is_api(request):
        return problem(
            request, 403, message or "You do not have permission to do this.", "permission_denied"
        )
    return render(request, "403.html", {"exception": message}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return problem(request, 404, f"There is no API endpoint at {request.path}.", "not_found")
    return render(request, "404.html", {"path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return problem(
            request,
            500,
            "Something went wrong on the server. It is logged under this request id; "
            "quote it when you report the problem.",
            "server_error",
        )
    # No request context: the error may lie in what a context would need.
    html = loader.get_template("500.html").render({"request_id": current_request_id()})
    return HttpResponseServerError(html)


@never_cache
def health(request: HttpRequest) -> HttpResponse:
    """For load balancers and `serve`: 200 when the database answers, else 503."""
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        body = {"status": "unavailable", "database": str(exc)[:200]}
        return JsonResponse(body, status=503)
    return JsonResponse(body)
