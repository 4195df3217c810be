"""The drift page: start a comparison (a batch or version against a reference) and read the
newest report: the verdict, a row per field with its tests and reasons, and a chart per field
(histograms of reference and current on shared bins, or category shares)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from labeling.models import ImportBatch
from labeling.versions import versions_of
from quality import selectors
from quality.views import _staff_dataset, job_watch
from workbench.errors import describe
from workbench.jobs import job_create

CHART_WIDTH = 320
CHART_HEIGHT = 90
MAX_CATEGORIES_SHOWN = 8


def _side(value: str) -> dict[str, Any]:
    """A form's side: "dataset", "batch:<id>" or "version:<n>"."""
    kind, _, number = value.partition(":")
    if kind == "batch" and number.isdigit():
        return {"import_batch": int(number)}
    if kind == "version" and number.isdigit():
        return {"version": int(number)}
    return {"dataset": True}


def _histogram_chart(bins: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Reference and current shares per shared bin as two step outlines in an SVG box."""
    if not bins:
        return None
    top = max(max(b["reference_share"] or 0, b["current_share"] or 0) for b in bins) or 1
    width = CHART_WIDTH / len(bins)

    def outline(key: str) -> str:
        points = [f"0,{CHART_HEIGHT}"]
        for i, b in enumerate(bins):
            y = round(CHART_HEIGHT - CHART_HEIGHT * (b[key] or 0) / top, 1)
            points += [f"{round(i * width, 1)},{y}", f"{round((i + 1) * width, 1)},{y}"]
        points.append(f"{CHART_WIDTH},{CHART_HEIGHT}")
        return " ".join(points)

    return {
        "reference": outline("reference_share"),
        "current": outline("current_share"),
        "low": bins[0]["low"],
        "high": bins[-1]["high"],
    }


def _category_chart(frequencies: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Any]:
    rows = [
        {
            "name": f["category"],
            "reference": f["reference_share"] or 0,
            "current": f["current_share"] or 0,
            "new": False,
        }
        for f in frequencies[:MAX_CATEGORIES_SHOWN]
    ]
    shown = {r["name"] for r in rows}
    rows += [
        {"name": n["category"], "reference": 0.0, "current": n["current_share"] or 0, "new": True}
        for n in new[:3]
        if n["category"] not in shown
    ]
    top = max([max(r["reference"], r["current"]) for r in rows] or [1]) or 1
    for r in rows:
        r["reference_width"] = round(200 * r["reference"] / top, 1)
        r["current_width"] = round(200 * r["current"] / top, 1)
        r["reference_pct"] = f"{100 * r['reference']:.1f}%"
        r["current_pct"] = f"{100 * r['current']:.1f}%"
    return rows


def _field_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for field in [*report.get("fields", []), report.get("labels"), report.get("predictions")]:
        if not field:
            continue
        numeric, categorical = field.get("numeric"), field.get("categorical")
        rows.append(
            {
                "field": field["field"],
                "kind": field["kind"],
                "drifted": field["drifted"],
                "reasons": field.get("reasons") or [],
                "note": field.get("note"),
                "missing": field.get("missing") or {},
                "numeric": numeric,
                "categorical": categorical,
                "histogram": _histogram_chart(numeric.get("histogram") or []) if numeric else None,
                "categories": _category_chart(
                    categorical.get("frequencies") or [], categorical.get("new_categories") or []
                )
                if categorical
                else None,
            }
        )
    return sorted(rows, key=lambda r: (not r["drifted"], r["field"]))


@login_required
@require_http_methods(["GET", "POST"])
def drift_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        params = {
            "reference": _side(request.POST.get("reference", "dataset")),
            "current": _side(request.POST.get("current", "")),
        }
        try:
            job = job_create(kind="drift", params=params, dataset=dataset, created_by=request.user)
        except ValidationError as exc:
            messages.error(request, describe(exc))
        else:
            messages.success(request, f"Started drift job #{job.pk}.")
        return redirect("drift", dataset_id=dataset.pk)
    versions = versions_of(dataset_id=dataset.pk)
    batches = ImportBatch.objects.filter(dataset=dataset, status="succeeded").order_by("-id")
    latest = selectors.latest_job(dataset=dataset, kind="drift")
    report = latest.result if latest else None
    return render(
        request,
        "quality/drift.html",
        {
            "dataset": dataset,
            "versions": versions[:50],
            "batches": batches[:50],
            **job_watch(dataset, "drift"),
            "job": latest,
            "report": report,
            "rows": _field_rows(report) if report else [],
            "api_url": reverse("api-drift", args=[dataset.pk]),
        },
    )
