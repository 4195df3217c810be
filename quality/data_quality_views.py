"""The data-quality page: the owner's rules, a report of an import batch, a version or the
whole dataset (missing values, duplicates, summaries, class balance, rule checks)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from labeling.models import ImportBatch
from labeling.versions import versions_of
from quality import selectors
from quality.drift_views import _side
from quality.models import DataRules
from quality.services import data_rules_set
from quality.views import _pct, _staff_dataset, is_owner, job_watch
from workbench.errors import BadInput, describe
from workbench.jobs import job_create


def _summary(field: dict[str, Any]) -> str:
    """One line about a field: its numbers, text lengths or top values."""
    if field.get("numeric"):
        n = field["numeric"]
        return (
            f"min {n.get('min'):.4g} · median {n.get('quantiles', {}).get('p50', float('nan')):.4g}"
            f" · mean {n.get('mean'):.4g} · max {n.get('max'):.4g}"
            if n.get("min") is not None
            else ""
        )
    if field.get("text"):
        t = field["text"]
        return (
            f"{t.get('length_min')}–{t.get('length_max')} characters, median "
            f"{t.get('length_median')}; median {t.get('words_median')} words"
        )
    if field.get("categories"):
        top = field["categories"]["top"][:4]
        return ", ".join(f"{c['value']} {_pct(c['share'])}" for c in top)
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def data_quality_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        if request.POST.get("action") == "rules":
            if not is_owner(request, dataset):
                raise PermissionDenied("Only the dataset's owners change its data rules.")
            raw = request.POST.get("rules", "").strip() or "[]"
            try:
                data_rules_set(dataset=dataset, rules=json.loads(raw), user=request.user)
            except json.JSONDecodeError as exc:
                messages.error(request, f"The rules must be JSON: {exc.msg}.")
            except BadInput as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Saved the rules; they apply to the next report.")
            return redirect("data-quality", dataset_id=dataset.pk)
        try:
            job = job_create(
                kind="data_quality",
                params={"target": _side(request.POST.get("target", "dataset"))},
                dataset=dataset,
                created_by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, describe(exc))
        else:
            messages.success(request, f"Started data-quality job #{job.pk}.")
        return redirect("data-quality", dataset_id=dataset.pk)
    versions = versions_of(dataset_id=dataset.pk)
    latest = selectors.latest_job(dataset=dataset, kind="data_quality")
    report = latest.result if latest else None
    rules = DataRules.objects.filter(dataset=dataset).values_list("rules", flat=True).first()
    return render(
        request,
        "quality/data_quality.html",
        {
            "dataset": dataset,
            "owner": is_owner(request, dataset),
            "versions": versions[:50],
            "batches": ImportBatch.objects.filter(dataset=dataset, status="succeeded").order_by(
                "-id"
            )[:50],
            **job_watch(dataset, "data_quality"),
            "job": latest,
            "report": report,
            "fields": [
                {**f, "missing_pct": _pct(f.get("missing_share"), 1), "summary": _summary(f)}
                for f in (report or {}).get("fields", [])
            ],
            "rules_json": json.dumps(rules or [], indent=2),
            "api_url": reverse("api-quality-report", args=[dataset.pk]),
        },
    )
