"""Pages of the labeling app. Thin: selectors for reads, services for writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.exceptions import ValidationError

from labeling import images, imports, selectors, services
from labeling.models import Dataset, ImportBatch, Membership, Role
from workbench.errors import BadInput, describe
from workbench.models import Job


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The datasets you belong to, with their progress."""
    roles = dict(Membership.objects.filter(user=request.user).values_list("dataset_id", "role"))
    progress = selectors.dataset_progress(dataset_ids=list(roles), user=request.user)
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
@ensure_csrf_cookie
def review(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """The disagreement review queue: one item at a time, decided with one key (the work is
    done by static/workbench/review.js through the REST API). Owners and reviewers only."""
    dataset, role = _member_dataset(request, dataset_id)
    if role not in (Role.OWNER, Role.REVIEWER):
        raise PermissionDenied("Only owners and reviewers review disagreements.")
    config = {
        "dataset": dataset.pk,
        "labels": [{"name": lab.name, "hotkey": lab.hotkey} for lab in dataset.labels.all()],
        "minLabels": max(2, dataset.annotators_per_item),
        "api": {
            "disagreements": reverse("api-disagreements", args=[dataset.pk]),
            "decisions": reverse("api-decisions", args=[dataset.pk]),
            "acceptUnanimous": reverse("api-accept-unanimous", args=[dataset.pk]),
        },
    }
    return render(
        request, "labeling/review.html", {"dataset": dataset, "role": role, "config": config}
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
        messages.error(request, describe(exc))


IMPORT_FORMATS = [
    ("", "From the file name"),
    ("csv", "CSV"),
    ("tsv", "TSV"),
    ("jsonl", "JSON lines"),
    ("parquet", "Parquet"),
    ("label-studio", "Label Studio JSON"),
]
MAPPING_FIELDS = ["external_id", "data", "metadata", "label", "labeller"]


def _mapping_from(form: Any) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key in MAPPING_FIELDS:
        value = form.get(f"map_{key}", "").strip()
        if not value:
            continue
        mapping[key] = (
            [c.strip() for c in value.split(",") if c.strip()]
            if key in ("data", "metadata")
            else value
        )
    return mapping


@login_required
def dataset_import(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Upload a file, see what it would import (or every problem, by row) before anything is
    stored, then import it."""
    dataset, role = _member_dataset(request, dataset_id)
    if role != Role.OWNER:
        raise PermissionDenied("Only owners import into a dataset.")
    context: dict[str, Any] = {
        "dataset": dataset,
        "formats": IMPORT_FORMATS,
        "form": request.POST,
        "mapping_fields": MAPPING_FIELDS,
    }
    if request.method == "POST":
        mapping = _mapping_from(request.POST)
        fmt = request.POST.get("format") or None
        pending = request.session.get("pending_imports", {})
        if request.POST.get("action") == "import":
            token = request.POST.get("token", "")
            stored = pending.get(token)
            if not stored or stored["dataset"] != dataset.pk:
                messages.error(request, "That upload has expired; choose the file again.")
                return redirect("dataset-import", dataset_id=dataset.pk)
            try:
                batch, job = imports.pending_import(
                    dataset=dataset,
                    stored_name=stored["name"],
                    uploaded_by=request.user,
                    file_format=fmt,
                    mapping=mapping,
                    source=request.POST.get("source", ""),
                )
            except (BadInput, ValidationError) as exc:
                context["preview"] = {
                    "ok": False,
                    "detail": describe(exc),
                    "errors": getattr(exc, "details", {}).get("errors", []),
                }
                context["token"] = token
                return render(request, "labeling/import.html", context, status=400)
            pending.pop(token, None)
            request.session["pending_imports"] = pending
            if job.is_finished:
                messages.success(
                    request,
                    f"Imported {batch.file_name}: {batch.item_count} "
                    f"items, {batch.annotation_count} annotations.",
                )
            else:
                messages.success(
                    request,
                    f"Importing {batch.file_name} in the background "
                    f"(job {job.pk}); its progress is under Jobs.",
                )
            return redirect("dataset", dataset_id=dataset.pk)
        upload = request.FILES.get("file")
        token = request.POST.get("token", "")
        if upload is not None:
            try:
                token, stored_name = imports.pending_store(dataset=dataset, upload=upload)
            except (BadInput, ValidationError) as exc:
                context["preview"] = {"ok": False, "detail": describe(exc), "errors": []}
                return render(request, "labeling/import.html", context, status=400)
            pending[token] = {"dataset": dataset.pk, "name": stored_name}
            request.session["pending_imports"] = pending
        elif token in pending and pending[token]["dataset"] == dataset.pk:
            stored_name = pending[token]["name"]  # preview the same file with other roles
        else:
            context["preview"] = {"ok": False, "detail": "Choose a file to import.", "errors": []}
            return render(request, "labeling/import.html", context, status=400)
        preview = services.import_preview(
            dataset=dataset, stored_name=stored_name, file_format=fmt, mapping=mapping
        )
        context.update(preview=preview, token=token, file_name=Path(stored_name).name)
        return render(
            request, "labeling/import.html", context, status=200 if preview["ok"] else 400
        )
    return render(request, "labeling/import.html", context)


@login_required
def dataset_file(request: HttpRequest, dataset_id: int, path: str) -> FileResponse:
    """A file of the dataset (an imported image), for its members only."""
    _member_dataset(request, dataset_id)
    file = images.open_file(dataset_id, path)
    if file is None:
        raise Http404("No such file.")
    response = FileResponse(file, filename=Path(path).name)
    response["Cache-Control"] = "private, max-age=3600"
    return response
