"""Pages of the labeling app. Thin: selectors for reads, services for writes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from labeling import selectors
from labeling.models import Dataset, ImportBatch, Membership


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


def _member_dataset(request: HttpRequest, dataset_id: int) -> tuple[Dataset, str]:
    """The dataset and the user's role in it; anyone else gets the 403 page."""
    role = selectors.role_of(dataset_id=dataset_id, user=request.user)
    if role is None:
        raise PermissionDenied("You are not a member of this dataset.")
    return get_object_or_404(Dataset.objects.prefetch_related("labels"), pk=dataset_id), role


@login_required
@ensure_csrf_cookie
def label(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """The labelling screen: one item at a time, keyboard first (the work is done by
    static/workbench/label.js through the REST API)."""
    dataset, role = _member_dataset(request, dataset_id)
    progress = selectors.dataset_progress(dataset_ids=[dataset.pk])[dataset.pk]
    progress["mine"] = selectors.labelled_by(dataset=dataset, user=request.user)
    config = {
        "dataset": dataset.pk,
        "name": dataset.name,
        "annotatorsPerItem": dataset.annotators_per_item,
        "labels": [
            {"name": lab.name, "hotkey": lab.hotkey, "description": lab.description}
            for lab in dataset.labels.all()
        ],
        "api": {
            "next": reverse("api-next-item", args=[dataset.pk]),
            "annotations": reverse("api-annotations", args=[dataset.pk]),
            "skips": reverse("api-skips", args=[dataset.pk]),
            "item": reverse("api-item", args=[dataset.pk, 0]).replace("/0/", "/{id}/"),
        },
        "progress": progress,
    }
    return render(
        request,
        "labeling/label.html",
        {"dataset": dataset, "role": role, "config": config, "progress": progress},
    )
