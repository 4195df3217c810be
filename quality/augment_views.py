"""The augmentation page: aim a recipe at a slice, a class, a tag or chosen items, preview a few
originals beside their variants (static/workbench/augment.js through the preview API), then
start the job and follow its progress."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from labeling.selectors import tag_counts
from quality import selectors
from quality.analysis.augment import RECIPES
from quality.views import _staff_dataset, is_owner, job_watch
from workbench.errors import describe
from workbench.jobs import job_create
from workbench.models import Job


def _target(source: Any) -> dict[str, Any]:
    """The target named by the form or the query string."""
    kind = source.get("target", "")
    value = source.get("value", "")
    if kind == "slice" and value.isdigit():
        target: dict[str, Any] = {"slice": int(value)}
        if source.get("job", "").isdigit():
            target["job"] = int(source["job"])
        return target
    if kind == "items":
        return {"items": [int(v) for v in value.replace(",", " ").split() if v.isdigit()]}
    if kind in ("label", "tag") and value:
        return {kind: value}
    return {}


def _params(request: HttpRequest) -> dict[str, Any]:
    form = request.POST
    raw = form.get("recipe_params", "").strip()
    try:
        recipe_params = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {"recipe_params": [f'Parameters must be JSON, e.g. {{"p": 0.1}} ({exc.msg}).']}
        ) from exc
    params: dict[str, Any] = {
        "recipe": form.get("recipe", ""),
        "recipe_params": recipe_params,
        "target": _target(form),
    }
    for key in ("seed", "variants"):
        value = form.get(key, "").strip()
        params[key] = int(value) if value.lstrip("-").isdigit() else value
    if form.get("field"):
        params["field"] = form["field"]
    return params


@login_required
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def augment_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = _staff_dataset(request, dataset_id)
    owner = is_owner(request, dataset)
    if request.method == "POST":
        if not owner:
            raise PermissionDenied("Only the dataset's owners add augmented items.")
        try:
            job = job_create(
                kind="augment", params=_params(request), dataset=dataset, created_by=request.user
            )
        except ValidationError as exc:
            messages.error(request, describe(exc))
            query = request.POST.urlencode()
            return redirect(f"{reverse('augment', args=[dataset.pk])}?{query}")
        messages.success(request, f"Started augmentation job #{job.pk}.")
        return redirect("augment", dataset_id=dataset.pk)
    source = request.GET
    target = _target(source)
    watch = job_watch(dataset, "augment")
    last = Job.objects.filter(dataset=dataset, kind="augment").order_by("-id").first()
    slice_job = selectors.latest_job(dataset=dataset, kind="slices")
    slice_name = None
    if "slice" in target and slice_job is not None:
        slice_name = next(
            (
                r["slice"]
                for r in (slice_job.result or {}).get("rows", [])
                if r.get("number") == target["slice"]
            ),
            None,
        )
    recipes = [r.to_dict() for r in RECIPES.values()]
    chosen = source.get("recipe") or "word_swap"
    return render(
        request,
        "quality/augment.html",
        {
            "dataset": dataset,
            "owner": owner,
            "target_kind": next(iter(target), "label"),
            "target_value": source.get("value", ""),
            "target_job": source.get("job", ""),
            "slice_name": slice_name,
            "labels": [lab.name for lab in dataset.labels.all()],
            "tags": tag_counts(dataset_id=dataset.pk),
            "recipes": recipes,
            "recipe": chosen,
            "recipe_params": source.get("recipe_params", ""),
            "seed": source.get("seed", "0"),
            "variants": source.get("variants", "1"),
            "field": source.get("field", ""),
            "data_fields": dataset.data_fields,
            **watch,
            "last_job": last if last and not watch["active_job"] else None,
            "config": {
                "preview": reverse("api-augment-preview", args=[dataset.pk]),
                "recipes": recipes,
            },
        },
    )
