"""Pages of the quality app: the agreement report, labeller quality, the label-issue queue.

Owners and reviewers only: both pages show how every labeller answered, and annotators label
blind. The numbers come from the latest succeeded agreement job's stored report; the helpers here
only turn it into text and chart geometry (rates become percentages, undefined values keep their
reason, never a number).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from labeling import selectors as labeling_selectors
from labeling.models import Annotation, ConsensusMethod, Dataset, Role
from labeling.views import _member_dataset
from quality import selectors
from quality.models import ModelRun
from quality.services import DEFINITIONS
from workbench.errors import describe
from workbench.jobs import (
    job_cancel,
    job_create,
    job_rerun,
    jobs_reap_stale,
    kind_for_owners_only,
)
from workbench.models import Job

# The heatmap stays readable up to about this many labellers; past it, the best-connected ones.
HEATMAP_MAX_LABELLERS = 40
# How many of the lowest and of the highest labellers the agreement page lists.
LABELLER_SUMMARY_SIZE = 3

UNDEFINED_FILL = "#aeb5bd"
DIAGONAL_FILL = "#ffffff"
# A diverging red-white-blue scale (ColorBrewer RdBu) from kappa -1 to 1.
KAPPA_STOPS: list[tuple[float, tuple[int, int, int]]] = [
    (-1.0, (178, 24, 43)),
    (-0.5, (239, 138, 98)),
    (0.0, (247, 247, 247)),
    (0.5, (103, 169, 207)),
    (1.0, (33, 102, 172)),
]


def _staff_dataset(request: HttpRequest, dataset_id: int) -> Dataset:
    dataset, role = _member_dataset(request, dataset_id)
    if role not in (Role.OWNER, Role.REVIEWER):
        raise PermissionDenied(
            "Agreement shows every labeller's answers, so only the dataset's owners and "
            "reviewers see it (annotators label blind)."
        )
    return dataset


def is_owner(request: HttpRequest, dataset: Dataset) -> bool:
    return labeling_selectors.role_of(dataset_id=dataset.pk, user=request.user) == Role.OWNER


# Formatting ------------------------------------------------------------------------------------


def job_watch(dataset: Dataset, *kinds: str) -> dict[str, Any]:
    """Template context for the job-watch box (jobwatch.js): the newest queued or running job
    of these kinds and its API URL."""
    job = selectors.active_job(dataset=dataset, kinds=list(kinds))
    return {"active_job": job, "active_job_url": reverse("api-job", args=[job.pk]) if job else ""}


def _pct(value: float | None, digits: int = 0) -> str | None:
    """A 0-1 rate as a percentage, or None when undefined."""
    return None if value is None else f"{100 * value:.{digits}f}%"


def _num(value: float | None, digits: int = 2) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def _interval(rate: float | None, low: float | None, high: float | None) -> str | None:
    """'87% (81–91%)'."""
    if rate is None:
        return None
    if low is None or high is None:
        return _pct(rate)
    return f"{100 * rate:.0f}% ({100 * low:.0f}–{100 * high:.0f}%)"


def _seconds(ms: float | None) -> str | None:
    return None if ms is None else f"{ms / 1000:.1f} s"


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _kappa_fill(value: float) -> str:
    """The heatmap colour of a kappa value, interpolated between the scale's stops."""
    value = min(max(value, -1.0), 1.0)
    for (v0, c0), (v1, c1) in itertools.pairwise(KAPPA_STOPS):
        if value <= v1:
            t = (value - v0) / (v1 - v0)
            r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#{:02x}{:02x}{:02x}".format(*KAPPA_STOPS[-1][1])


# The agreement report --------------------------------------------------------------------------


def _figure(
    name: str, stat: dict[str, Any] | None, definition: str, detail: str, *, as_pct: bool = False
) -> dict[str, Any]:
    stat = stat or {}
    value = stat.get("value")
    return {
        "name": name,
        "value": (_pct(value, 1) if as_pct else _num(value)),
        "reason": stat.get("reason") or "no data",
        "detail": detail,
        "definition": definition,
    }


def _figures(report: dict[str, Any], definitions: dict[str, str]) -> list[dict[str, Any]]:
    level = report.get("level", "nominal")
    alpha = report.get("alpha") or {}
    items = f"on {alpha.get('n_items', 0):,} items with two or more labels"
    figures = [
        _figure(f"Krippendorff's alpha ({level})", alpha, definitions.get("alpha", ""), items)
    ]
    if level != "nominal":
        figures.append(
            _figure(
                "Krippendorff's alpha (nominal)",
                report.get("alpha_nominal"),
                definitions.get("alpha", ""),
                items,
            )
        )
    if report.get("alpha_interval"):
        figures.append(
            _figure(
                "Krippendorff's alpha (interval)",
                report["alpha_interval"],
                definitions.get("alpha", ""),
                items,
            )
        )
    fleiss = report.get("fleiss") or {}
    fleiss_detail = (
        f"on {fleiss.get('n_items', 0):,} items with {fleiss['raters_per_item']} labels each, "
        f"{fleiss.get('n_items_excluded', 0):,} left out"
        if fleiss.get("raters_per_item")
        else ""
    )
    figures.append(
        _figure("Fleiss' kappa", fleiss, definitions.get("fleiss_kappa", ""), fleiss_detail)
    )
    agreement = report.get("percent_agreement") or {}
    figures.append(
        _figure(
            "Percent agreement",
            agreement,
            definitions.get("percent_agreement", ""),
            f"on {agreement.get('n_items', 0):,} items",
            as_pct=True,
        )
    )
    return figures


def _heatmap(pairwise: dict[str, Any]) -> dict[str, Any] | None:
    """Geometry of the pairwise Cohen's kappa heatmap: one rect per pair, labels on both axes."""
    ids = pairwise.get("labellers") or []
    if len(ids) < 2:
        return None
    names = pairwise.get("names") or [str(pk) for pk in ids]
    kappa, shared = pairwise["kappa"], pairwise["shared"]
    min_shared = pairwise.get("min_shared", 1)
    keep = list(range(len(ids)))
    if len(keep) > HEATMAP_MAX_LABELLERS:
        overlap = [sum(row) - row[i] for i, row in enumerate(shared)]
        best = sorted(keep, key=lambda i: (-overlap[i], i))[:HEATMAP_MAX_LABELLERS]
        keep = sorted(best)
    size = len(keep)
    cell = max(14, min(48, 560 // size))
    labels = [_short(names[i]) for i in keep]
    longest = max(len(label) for label in labels)
    left = 10 + 7 * longest  # ~7 px per character at 12 px
    top = 12 + 5 * longest  # the top labels run up at 45 degrees
    show_values = cell >= 30
    cells = []
    for row, i in enumerate(keep):
        for col, j in enumerate(keep):
            x, y = left + col * cell, top + row * cell
            if i == j:
                cells.append(
                    {
                        "x": x,
                        "y": y,
                        "fill": DIAGONAL_FILL,
                        "css": "diagonal",
                        "title": f"{names[i]}: {shared[i][i]:,} items labelled",
                        "text": "",
                    }
                )
                continue
            value = kappa[i][j]
            if value is None:
                why = (
                    f"they share {shared[i][j]:,} item{'s' if shared[i][j] != 1 else ''}, "
                    f"fewer than {min_shared}"
                    if shared[i][j] < min_shared
                    else "all their shared labels are one class"
                )
                title = f"{names[i]} × {names[j]}: undefined ({why})"
                fill, text, css = UNDEFINED_FILL, "", "undefined"
            else:
                title = (
                    f"{names[i]} × {names[j]}: kappa {value:.2f} on {shared[i][j]:,} shared items"
                )
                fill = _kappa_fill(value)
                text = f"{value:.2f}" if show_values else ""
                css = "dark" if abs(value) >= 0.75 else ""
            cells.append({"x": x, "y": y, "fill": fill, "css": css, "title": title, "text": text})
    axis = [
        {
            "name": labels[k],
            "full": names[i],
            "x": left + k * cell + cell // 2,
            "y": top + k * cell + cell // 2,
        }
        for k, i in enumerate(keep)
    ]
    return {
        "cells": cells,
        "axis": axis,
        "cell": cell,
        "half": cell // 2,
        "left": left,
        "label_x": left - 6,
        "label_y": top - 6,
        "width": left + size * cell + 5 * longest + 12,
        "height": top + size * cell + 2,
        "shown": size,
        "total": len(ids),
        "min_shared": min_shared,
        "omitted_by_analysis": pairwise.get("n_labellers_omitted", 0),
    }


def _legend() -> list[dict[str, Any]]:
    steps = [round(-1 + 0.2 * k, 1) for k in range(11)]
    return [
        {"x": 8 + 22 * k, "fill": _kappa_fill(v), "label": f"{v:g}" if k % 5 == 0 else ""}
        for k, v in enumerate(steps)
    ]


def _labeller_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rated = sorted(
        (r for r in rows if r.get("rate") is not None), key=lambda r: (r["rate"], r.get("name"))
    )
    half = max(len(rated) - LABELLER_SUMMARY_SIZE, (len(rated) + 1) // 2)
    lowest = rated[: min(LABELLER_SUMMARY_SIZE, half)]
    highest = list(reversed(rated[len(lowest) :]))[:LABELLER_SUMMARY_SIZE]

    def entry(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": r.get("name") or str(r.get("labeller")),
            "agreement": _interval(r.get("rate"), r.get("low"), r.get("high")),
            "n": r.get("n", 0),
            "flagged": bool(r.get("flagged")),
        }

    return {
        "lowest": [entry(r) for r in lowest],
        "highest": [entry(r) for r in highest],
        "count": len(rows),
        "flagged": sum(1 for r in rows if r.get("flagged")),
    }


def _report_context(report: dict[str, Any]) -> dict[str, Any]:
    definitions = {**DEFINITIONS, **(report.get("definitions") or {})}
    names = report.get("labels") or []

    def label_name(label: Any) -> str:
        # Reports name their labels; reports of older jobs held class codes instead.
        if isinstance(label, int) and 0 <= label < len(names):
            return str(names[label])
        return str(label)

    classes = [
        {
            "name": label_name(row["label"]),
            "pairs": row.get("pairs", 0),
            "agreement": _pct(row.get("agreement")),
            "bar": round(120 * (row.get("agreement") or 0)),
        }
        for row in report.get("classes") or []
    ]
    confusions = [
        {
            "a": label_name(row["label_a"]),
            "b": label_name(row["label_b"]),
            "count": f"{row.get('count', 0):,.1f}",
            "share": _pct(row.get("share")),
        }
        for row in report.get("confusions") or []
    ]
    slices = [
        {
            "field": field,
            "rows": [
                {
                    "value": row.get("slice"),
                    "items": row.get("n_items", 0),
                    "alpha": _num(row.get("alpha")),
                    "reason": row.get("reason") or "too few items",
                    "agreement": _pct(row.get("percent_agreement")),
                    "too_small": bool(row.get("too_small")),
                }
                for row in rows
            ],
        }
        for field, rows in (report.get("slices") or {}).items()
    ]
    consensus = dict(report.get("consensus") or {})
    method = consensus.get("method", "")
    consensus_context = {
        "method": ConsensusMethod(method).label if method in ConsensusMethod.values else method,
        "definition": definitions.get(method, ""),
        "items": consensus.get("items", 0),
        "mean_confidence": _pct(consensus.get("mean_confidence")),
        "methods_agree": _pct(consensus.get("majority_vote_vs_dawid_skene")),
        "iterations": consensus.get("dawid_skene_iterations"),
        "converged": consensus.get("dawid_skene_converged"),
    }
    return {
        "counts": report.get("counts") or {},
        "figures": _figures(report, definitions),
        "heatmap": _heatmap(report.get("pairwise") or {}),
        "legend": _legend(),
        "classes": classes,
        "confusions": confusions,
        "labellers": _labeller_summary(report.get("labellers") or []),
        "median": _pct(report.get("median_labeller_agreement")),
        "slices": slices,
        "consensus": consensus_context,
        "definitions": definitions,
    }


def _job_state(dataset: Dataset) -> dict[str, Any]:
    """The report's job, and the newest job when it is still going or went wrong."""
    report_job = selectors.latest_job(dataset=dataset, kind="agreement")
    newest = selectors.latest_job(dataset=dataset, kind="agreement", succeeded=False)
    active = newest if newest and newest.status in (Job.Status.QUEUED, Job.Status.RUNNING) else None
    return {
        "report_job": report_job,
        "active_job": active,
        "active_job_url": reverse("api-job", args=[active.pk]) if active else "",
        "failed_job": newest if newest and newest.status == Job.Status.FAILED else None,
        "cancelled_job": newest if newest and newest.status == Job.Status.CANCELLED else None,
    }


@login_required
@require_http_methods(["GET", "POST"])
def agreement_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """The latest agreement report; POST starts a new agreement job."""
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        method = request.POST.get("consensus_method") or dataset.consensus_method
        try:
            job = job_create(
                kind="agreement",
                params={"consensus_method": method},
                dataset=dataset,
                created_by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, describe(exc))
        else:
            messages.success(request, f"Started agreement job #{job.pk}.")
        return redirect("agreement", dataset_id=dataset.pk)
    state = _job_state(dataset)
    report_job = state["report_job"]
    report = report_job.result if report_job and report_job.result else None
    context: dict[str, Any] = {
        "dataset": dataset,
        **state,
        "methods": ConsensusMethod.choices,
        "method_definitions": [
            (name, DEFINITIONS[value]) for value, name in ConsensusMethod.choices
        ],
        "report": report,
        "has_labels": report is not None
        or Annotation.objects.filter(labeller__dataset_id=dataset.pk).exists(),
    }
    if report is not None:
        context.update(_report_context(report))
    return render(request, "quality/agreement.html", context)


# Labeller quality ------------------------------------------------------------------------------

# column → (heading, the direction a first click sorts by, the row's sort key)
SORTS: dict[str, tuple[str, str, Callable[[dict[str, Any]], Any]]] = {
    "name": ("Labeller", "asc", lambda r: str(r.get("name") or "").casefold()),
    "volume": ("Labels", "desc", lambda r: r.get("volume")),
    "n": ("With a reference", "desc", lambda r: r.get("n")),
    "agreement": ("Agreement (95% interval)", "asc", lambda r: r.get("rate")),
    "ds_accuracy": ("Dawid–Skene accuracy", "asc", lambda r: r.get("ds_accuracy")),
    "crowdlab": ("CROWDLAB quality", "asc", lambda r: r.get("crowdlab_quality")),
    "time": ("Median time per item", "desc", lambda r: r.get("median_time_ms")),
    "flagged": ("Flag", "desc", lambda r: bool(r.get("flagged"))),
}
DEFAULT_SORT = ("agreement", "asc")


def _sorted_rows(rows: list[dict[str, Any]], column: str, direction: str) -> list[dict[str, Any]]:
    """Rows by a column; rows without a value go last either way, ties by name."""
    key = SORTS[column][2]
    by_name = sorted(rows, key=SORTS["name"][2])
    known = [r for r in by_name if key(r) is not None]
    unknown = [r for r in by_name if key(r) is None]
    return sorted(known, key=key, reverse=direction == "desc") + unknown


def _interval_bar(row: dict[str, Any], median: float | None) -> dict[str, Any] | None:
    if row.get("rate") is None:
        return None
    width = 112

    def x(v: float | None) -> float:
        return round(4 + width * (v or 0.0), 1)

    low = row.get("low", row["rate"])
    high = row.get("high", row["rate"])
    return {
        "low": x(low),
        "span": max(round(x(high) - x(low), 1), 1),
        "rate": x(row["rate"]),
        "median": x(median) if median is not None else None,
        "end": x(1.0),
    }


def _confusion_rows(matrix: Any, labels: list[str]) -> list[dict[str, Any]] | None:
    """A labeller's Dawid-Skene confusion matrix as table rows: true label, then the chance of
    each given label (as percentages), the diagonal marked."""
    if not matrix or len(matrix) != len(labels):
        return None
    return [
        {
            "true": labels[i],
            "cells": [{"value": _pct(v), "diagonal": i == j} for j, v in enumerate(row)],
        }
        for i, row in enumerate(matrix)
    ]


@login_required
@require_http_methods(["GET"])
def labellers_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Per labeller, from the latest agreement report, sortable; the worst agreement first."""
    dataset = _staff_dataset(request, dataset_id)
    report_job = selectors.latest_job(dataset=dataset, kind="agreement")
    report = report_job.result if report_job and report_job.result else None
    column = request.GET.get("sort", "")
    direction = request.GET.get("dir", "")
    report_rows = (report or {}).get("labellers") or []
    with_crowdlab = any(r.get("crowdlab_quality") is not None for r in report_rows)
    if column not in SORTS or (column == "crowdlab" and not with_crowdlab):
        column, direction = DEFAULT_SORT
    if direction not in ("asc", "desc"):
        direction = SORTS[column][1]
    context: dict[str, Any] = {
        "dataset": dataset,
        "report": report,
        "report_job": report_job,
        "definitions": [
            (title, DEFINITIONS[key])
            for key, title in (
                ("labeller_agreement", "Agreement"),
                ("ds_accuracy", "Dawid–Skene accuracy"),
                *([("crowdlab_quality", "CROWDLAB quality")] if with_crowdlab else []),
                ("flagged", "Far below the rest"),
            )
        ],
        "with_crowdlab": with_crowdlab,
    }
    if report is not None:
        median = report.get("median_labeller_agreement")
        rows = _sorted_rows(report.get("labellers") or [], column, direction)
        context["rows"] = [
            {
                "name": r.get("name") or str(r.get("labeller")),
                "volume": r.get("volume", r.get("n", 0)),
                "n": r.get("n", 0),
                "agreement": _interval(r.get("rate"), r.get("low"), r.get("high")),
                "bar": _interval_bar(r, median),
                "ds_accuracy": _pct(r.get("ds_accuracy")),
                "crowdlab": _pct(r.get("crowdlab_quality")),
                "confusion": _confusion_rows(r.get("confusion"), report.get("labels") or []),
                "time": _seconds(r.get("median_time_ms")),
                "flagged": bool(r.get("flagged")),
            }
            for r in rows
        ]
        context["flagged"] = sum(1 for r in rows if r.get("flagged"))
        context["labels"] = report.get("labels") or []
        context["median"] = _pct(median)
        context["columns"] = [
            {
                "key": key,
                "title": title,
                "active": key == column,
                "aria_sort": ("ascending" if direction == "asc" else "descending")
                if key == column
                else "",
                "href": "?sort={}&dir={}".format(
                    key,
                    ("desc" if direction == "asc" else "asc") if key == column else first,
                ),
                "numeric": key not in ("name", "agreement", "flagged"),
            }
            for key, (title, first, _) in SORTS.items()
            if key != "crowdlab" or with_crowdlab
        ]
    return render(request, "quality/labellers.html", context)


@login_required
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def label_issues_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """The label-issue review queue: worst first, decided with one key (the work is done by
    static/workbench/issues.js through the REST API). POST starts a baseline-model job or a
    label-issue job on a model run."""
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        action = request.POST.get("action")
        raw_run = request.POST.get("model_run", "")
        run_id = int(raw_run) if raw_run.isdigit() else 0
        kind, params = {
            "baseline": ("baseline_model", {}),
            "active_learning": ("active_learning", {"model_run": run_id}),
        }.get(
            action or "",
            (
                "label_issues",
                {
                    "model_run": run_id,
                    "filter_by": request.POST.get("filter_by") or "prune_by_noise_rate",
                },
            ),
        )
        try:
            job = job_create(kind=kind, params=params, dataset=dataset, created_by=request.user)
        except ValidationError as exc:
            messages.error(request, describe(exc))
        else:
            messages.success(request, f"Started {kind.replace('_', ' ')} job #{job.pk}.")
        return redirect("label-issues", dataset_id=dataset.pk)
    job = selectors.latest_job(dataset=dataset, kind="label_issues")
    active = selectors.active_job(
        dataset=dataset, kinds=["label_issues", "baseline_model", "active_learning"]
    )
    failed = (
        Job.objects.filter(
            dataset=dataset, kind__in=["label_issues", "baseline_model", "active_learning"]
        )
        .order_by("-id")
        .first()
    )
    config = {
        "dataset": dataset.pk,
        "labels": [{"name": lab.name, "hotkey": lab.hotkey} for lab in dataset.labels.all()],
        "api": {
            "issues": reverse("api-label-issues", args=[dataset.pk]),
            "decide": reverse("api-label-issue-decide", args=[dataset.pk, 0]).replace(
                "/0/", "/{id}/"
            ),
            "accept": reverse("api-label-issues-accept", args=[dataset.pk]),
        },
    }
    from quality.services import FILTER_BY

    return render(
        request,
        "quality/label_issues.html",
        {
            "dataset": dataset,
            "job": job,
            "active_job": active,
            "active_job_url": reverse("api-job", args=[active.pk]) if active else "",
            "failed_job": failed if failed and failed.status == Job.Status.FAILED else None,
            "runs": ModelRun.objects.filter(dataset=dataset).select_related("created_by")[:20],
            "filters": FILTER_BY,
            "active_learning_help": DEFINITIONS["active_learning"],
            "config": config if job else None,
            "summary": (job.result or {}) if job else None,
            **_health_context((job.result or {}) if job else {}),
        },
    )


def _health_context(summary: dict[str, Any]) -> dict[str, Any]:
    """cleanlab's dataset health view of a label-issue job, as table rows with label names."""
    report = summary.get("report") or {}
    names = summary.get("labels") or []

    def name(code: Any) -> str:
        return names[code] if isinstance(code, int) and 0 <= code < len(names) else str(code)

    return {
        "health_classes": [
            {
                "name": name(row.get("class")),
                "n_labels": row.get("n_labels"),
                "noise": _pct(row.get("label_noise"), 1),
                "quality": _pct(row.get("quality"), 1),
            }
            for row in report.get("classes", [])
        ],
        "health_overlaps": [
            {
                "a": name(row.get("class_a")),
                "b": name(row.get("class_b")),
                "n": row.get("n_overlapping"),
                "share": _pct(row.get("joint_probability"), 2),
            }
            for row in report.get("overlapping_classes", [])[:10]
        ],
    }


# Jobs ------------------------------------------------------------------------------------------

# Where a finished job's outcome is shown, by kind.
RESULT_PAGES = {
    "import": "dataset",
    "agreement": "agreement",
    "label_issues": "label-issues",
    "baseline_model": "label-issues",
    "active_learning": "label-issues",
    "drift": "drift",
    "data_quality": "data-quality",
    "augment": "augment",
    "slices": "slices",
}


def _duration(job: Job) -> str:
    if job.started_at is None:
        return "—"
    seconds = ((job.finished_at or timezone.now()) - job.started_at).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return (
        f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
    )


@login_required
@require_http_methods(["GET", "POST"])
def jobs_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Every job of the dataset, newest first: status, a live progress bar for the running
    ones, parameters, duration, where to see the result; cancel and run again."""
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        raw = request.POST.get("job", "")
        job = Job.objects.filter(dataset=dataset, pk=int(raw) if raw.isdigit() else 0).first()
        action = request.POST.get("action")
        if job is None or action not in ("cancel", "rerun"):
            messages.error(request, "There is no such job in this dataset.")
        elif action == "rerun" and job.kind == "import":
            messages.error(request, "Import jobs can't be re-run; upload the file again.")
        elif (
            action == "rerun" and kind_for_owners_only(job.kind) and not is_owner(request, dataset)
        ):
            messages.error(request, f"Only the dataset's owners run {job.kind} jobs.")
        else:
            try:
                if action == "cancel":
                    job_cancel(job=job)
                    messages.success(request, f"Cancelled job #{job.pk}.")
                else:
                    new = job_rerun(job=job, created_by=request.user)
                    messages.success(request, f"Started job #{new.pk}, a re-run of #{job.pk}.")
            except ValidationError as exc:
                messages.error(request, describe(exc))
        return redirect("jobs", dataset_id=dataset.pk)
    jobs_reap_stale()
    rows = []
    for job in Job.objects.filter(dataset=dataset).select_related("created_by")[:200]:
        page = RESULT_PAGES.get(job.kind)
        rows.append(
            {
                "job": job,
                "kind": job.kind.replace("_", " "),
                "params": json.dumps(job.params, sort_keys=True) if job.params else "",
                "duration": _duration(job),
                "result_url": reverse(page, args=[dataset.pk])
                if page and job.status == Job.Status.SUCCEEDED
                else "",
                "api_url": reverse("api-job", args=[job.pk]),
                "live": not job.is_finished,
                "rerun": job.is_finished and job.kind != "import",
            }
        )
    return render(request, "quality/jobs.html", {"dataset": dataset, "rows": rows})
