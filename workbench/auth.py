"""Sign-in: API tokens, and what a locked-out caller is told (django-axes counts failures)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from workbench.middleware import is_api, problem


def _wait_text() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """429 after too many failed sign-ins from one username or address: JSON under /api/,
    the login form with the reason elsewhere."""
    detail = (
        f"Too many failed sign-ins for this account or from this address. Try again in "
        f"{_wait_text()}, or ask an administrator to unlock it (manage.py axes_reset)."
    )
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if is_api(request):
        response: HttpResponse = problem(request, 429, detail, "too_many_failed_logins")
    else:
        form = AuthenticationForm(request)
        response = render(
            request, "registration/login.html", {"form": form, "lockout": detail}, status=429
        )
    response["Retry-After"] = retry_after
    return response


class TokenCreate(ObtainAuthToken):
    """``POST /api/v1/auth/token/`` with username and password → ``{"token": …}``.

    DRF's view, except that authentication sees Django's request, so that django-axes counts a
    failure against the username and the address, and refuses them (429) after too many."""

    @extend_schema(
        operation_id="auth_token_create",
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Too many failed sign-ins; see Retry-After."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.serializer_class(
            data=request.data,
            context={"request": request._request, "view": self},
        )
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        # As a login does: the failure count starts again (django-axes), last_login is set.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
