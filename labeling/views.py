"""Pages of the labeling app. Thin: selectors for reads, services for writes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from labeling import selectors
from labeling.models import ImportBatch, Membership


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The datasets you belong to, with their progress."""
    roles = dict(Membership.objects.filter(user=request.user).values_list("dataset_id", "role"))
    progress = selectors.dataset_progress(dataset_ids=list(roles))
    datasets = [
        {"dataset": d, "role": roles.get(d.pk), **progress[d.pk]}
        for d in selectors.datasets_for_user(user=request.user).order_by("name")
    ]
    recent = (
        ImportBatch.objects.filter(dataset_id__in=roles, dataset__memberships__user=request.user)
        .select_related("dataset", "uploaded_by")
        .order_by("-id")[:5]
    )
    return render(request, "labeling/home.html", {"datasets": datasets, "recent": recent})
