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
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import NotFound, ValidationError

from labeling import images, imports, selectors, services, versions
from labeling.models import Dataset, ImportBatch, Membership, Role
from workbench.errors import BadInput, describe
from workbench.jobs import job_create
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
        "members": selectors.members_visible(dataset=dataset, role=role, user=request.user),
        "member_count": Membership.objects.filter(dataset=dataset).count(),
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


# Versions --------------------------------------------------------------------------------------

STAFF_ROLES = (Role.OWNER, Role.REVIEWER)
# The widest bar of the label-distribution charts, in pixels.
BAR_WIDTH = 240


def _staff_dataset(request: HttpRequest, dataset_id: int) -> Dataset:
    dataset, role = _member_dataset(request, dataset_id)
    if role not in STAFF_ROLES:
        raise PermissionDenied(
            "Versions hold every labeller's answers, so only the dataset's owners and reviewers "
            "see them (annotators label blind)."
        )
    return dataset


def _bars(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows with a bar width (px) for each of ``keys``, on one scale for all of them."""
    widest = max([row[key] for row in rows for key in keys] + [1])
    return [
        {**row, **{f"{key}_width": round(BAR_WIDTH * row[key] / widest) for key in keys}}
        for row in rows
    ]


@login_required
@require_http_methods(["GET", "POST"])
def versions_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """A dataset's frozen versions; POST freezes a new one (a job, followed on the page)."""
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        try:
            job = job_create(
                kind="freeze_version",
                params={"note": request.POST.get("note", "")},
                dataset=dataset,
                created_by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, describe(exc))
        else:
            job.refresh_from_db()  # it may have run already (small work, eager mode)
            if job.status == Job.Status.SUCCEEDED and job.result:
                messages.success(request, f"Froze version {job.result['version']}.")
            else:
                messages.success(request, f"Freezing a new version: job #{job.pk}.")
        return redirect("versions", dataset_id=dataset.pk)
    newest = Job.objects.filter(dataset=dataset, kind="freeze_version").order_by("-id").first()
    active = newest if newest and newest.status in (Job.Status.QUEUED, Job.Status.RUNNING) else None
    context = {
        "dataset": dataset,
        "versions": versions.versions_of(dataset_id=dataset.pk),
        "active_job": active,
        "active_job_url": reverse("api-job", args=[active.pk]) if active else "",
        "failed_job": newest if newest and newest.status == Job.Status.FAILED else None,
        "progress": selectors.dataset_progress(dataset_ids=[dataset.pk])[dataset.pk],
    }
    return render(request, "labeling/versions.html", context)


def _pct(value: Any, digits: int = 1) -> str | None:
    return None if value is None else f"{100 * value:.{digits}f}%"


def _quality_context(quality: dict[str, Any]) -> dict[str, Any]:
    """A version's quality figures as text for the page (undefined values keep their reason)."""
    agreement = quality.get("agreement")
    slices = quality.get("slices")
    return {
        "agreement": agreement
        and {
            "job": agreement["job"],
            "alpha": None if agreement["alpha"] is None else f"{agreement['alpha']:.3f}",
            "alpha_reason": agreement.get("alpha_reason") or "undefined",
            "percent": _pct(agreement["percent_agreement"]),
            "percent_reason": agreement.get("percent_agreement_reason") or "undefined",
        },
        "label_issues": quality.get("label_issues"),
        "slices": slices
        and {
            "job": slices["job"],
            "rows": [
                {
                    "slice": row.get("slice"),
                    "n_items": row.get("n_items"),
                    "accuracy": _pct(row.get("accuracy")),
                    "hlp": _pct(row.get("hlp")),
                    "gap": _pct(row.get("gap")),
                    "potential": _pct(row.get("potential_improvement"), 2),
                }
                for row in slices["rows"]
            ],
        },
    }


@login_required
@require_http_methods(["GET"])
def version_page(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """One version: its digest, counts, label distribution, quality figures and files."""
    dataset = _staff_dataset(request, dataset_id)
    version = get_object_or_404(
        versions.versions_of(dataset_id=dataset.pk).select_related("job"), number=number
    )
    unlabelled = version.item_count - sum(row["items"] for row in version.label_distribution)
    context = {
        "dataset": dataset,
        "version": version,
        "distribution": _bars(
            [*version.label_distribution, {"label": None, "items": unlabelled}], ("items",)
        ),
        "quality": _quality_context(version.quality),
        "export_formats": ["csv", "jsonl", "parquet", "label-studio"],
    }
    return render(request, "labeling/version.html", context)


@login_required
@require_http_methods(["GET"])
def version_compare_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Two versions side by side: items added, removed and changed, label changes with who and
    why, and how the label distribution shifted."""
    dataset = _staff_dataset(request, dataset_id)
    choices = list(versions.versions_of(dataset_id=dataset.pk))
    a, b = request.GET.get("a"), request.GET.get("b")
    if a is None and b is None and len(choices) >= 2:
        a, b = str(choices[1].number), str(choices[0].number)  # the newest two
    context: dict[str, Any] = {"dataset": dataset, "choices": choices, "a": a, "b": b}
    status = 200
    if len(choices) < 2:
        context["error"] = "Freeze at least two versions to compare them."
    else:
        try:
            comparison = versions.versions_compare(dataset_id=dataset.pk, a=a, b=b)
        except (ValidationError, NotFound) as exc:
            context["error"] = describe(exc)
            status = 404 if isinstance(exc, NotFound) else 400
        else:
            context["comparison"] = comparison
            context["distribution"] = [
                {**row, "shift_text": f"{row['shift']:+d}".replace("-", "−")}
                for row in _bars(comparison["distribution"], ("a", "b"))
            ]
    return render(request, "labeling/version_compare.html", context, status=status)
