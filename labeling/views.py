"""Pages of the labeling app. Thin: selectors for reads, services for writes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.exceptions import ValidationError

from labeling import selectors, services
from labeling.models import Dataset, ImportBatch, Membership, Role
from workbench.models import Job


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


@login_required
def dataset_overview(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """A dataset at a glance: progress, label distribution, members, imports, jobs."""
    dataset, role = _member_dataset(request, dataset_id)
    staff = role in (Role.OWNER, Role.REVIEWER)
    if request.method == "POST":
        if role != Role.OWNER:
            raise PermissionDenied("Only owners manage members.")
        _members_post(request, dataset)
        return redirect("dataset", dataset_id=dataset.pk)
    progress = selectors.dataset_progress(dataset_ids=[dataset.pk])[dataset.pk]
    distribution = selectors.label_distribution(dataset=dataset) if staff else []
    widest = max([row["items"] for row in distribution] + [1])
    for row in distribution:
        row["width"] = round(300 * row["items"] / widest)
    context = {
        "dataset": dataset,
        "role": role,
        "staff": staff,
        "owner": role == Role.OWNER,
        "progress": progress,
        "distribution": distribution,
        "members": Membership.objects.filter(dataset=dataset).select_related("user"),
        "roles": Role.choices,
        "batches": ImportBatch.objects.filter(dataset=dataset).select_related("uploaded_by")[:10]
        if staff
        else [],
        "jobs": Job.objects.filter(dataset=dataset)[:10] if staff else [],
        "export_formats": ["csv", "jsonl", "parquet", "label-studio"],
    }
    return render(request, "labeling/dataset.html", context)


def _members_post(request: HttpRequest, dataset: Dataset) -> None:
    action = request.POST.get("action")
    try:
        if action == "remove":
            membership = get_object_or_404(
                Membership, pk=request.POST.get("member"), dataset=dataset
            )
            services.membership_remove(membership=membership)
            messages.success(request, f"Removed {membership.user.get_username()}.")
        else:
            username = request.POST.get("username", "").strip()
            services.membership_set(
                dataset=dataset, username=username, role=request.POST.get("role", "")
            )
            messages.success(request, f"{username} is now {request.POST.get('role')}.")
    except ValidationError as exc:
        messages.error(request, " ".join(_flatten(exc.detail)))


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]
