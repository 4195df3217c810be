"""The error-analysis pages: the lecture's slice table (accuracy, human-level performance, gap,
share and potential improvement per slice), a chart of it, discovered slices, saved rules and
error tags; and the drill-down into one slice's items.

Owners and reviewers only, like the other quality pages: HLP comes from every labeller's answers.
The numbers are the latest succeeded ``slices`` job's stored result; the helpers here only turn
them into text and chart geometry.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from labeling.models import Dataset, Item
from labeling.selectors import tag_counts
from quality import selectors
from quality.analysis.slices import OPERATORS
from quality.models import ModelRun, Prediction, SliceRule
from quality.rule_text import condition_text, parse_conditions, value_text
from quality.services import IMAGE_FIELDS, SLICE_DEFINITIONS, slice_items, slice_rule_create
from quality.views import _pct, _staff_dataset, is_owner
from workbench.errors import BadInput, describe
from workbench.jobs import job_create
from workbench.models import Job

ITEMS_PER_PAGE = 50
# The chart shows the top rows of the table; past this many it stops being readable.
CHART_ROWS = 15
CHART_LABEL_CHARS = 44
MAX_RULE_NAME = 200
# The extra tag of the messages shown in the rules card rather than at the top of the page.
RULES = "rules"

DEFINITION_TITLES = {
    "reference": "Reference label",
    "accuracy": "Model accuracy",
    "hlp": "Human-level performance (HLP)",
    "gap": "Gap to HLP",
    "share": "% of data",
    "potential_improvement": "Potential improvement",
    "interval": "Intervals",
    "too_small": "Too small to judge",
    "discovered": "Discovered slices",
    "augmented": "Augmented items",
}
SOURCE_TAGS = {
    "metadata": "metadata",
    "text_length": "length",
    "rule": "rule",
    "tag": "tag",
    "discovered": "discovered",
}


# Formatting ------------------------------------------------------------------------------------


def _rate(value: float | None, low: float | None, high: float | None, n: Any) -> dict[str, Any]:
    """A rate as '94.0%' with its 95% interval and count on a second line."""
    return {
        "value": _pct(value, 1),
        "interval": None
        if value is None or low is None or high is None
        else f"{100 * low:.1f}–{100 * high:.1f}%",
        "n": f"{int(n or 0):,}",
    }


def _signed_pct(value: float | None) -> str | None:
    if value is None:
        return None
    text = f"{100 * value:.1f}%"
    return text.replace("-", "−") if value < 0 else text


def _source_tag(row: dict[str, Any]) -> str:
    if str(row.get("field") or "").startswith("len("):
        return "length"
    return SOURCE_TAGS.get(str(row.get("source")), str(row.get("source") or ""))


def _row_context(row: dict[str, Any], link: str = "") -> dict[str, Any]:
    """One row of the slice table as text."""
    return {
        "name": row.get("slice") or "",
        "source": _source_tag(row),
        "link": link,
        "n_items": f"{int(row.get('n_items') or 0):,}",
        "share": _pct(row.get("share"), 1),
        "accuracy": _rate(
            row.get("accuracy"),
            row.get("accuracy_low"),
            row.get("accuracy_high"),
            row.get("accuracy_n"),
        ),
        "hlp": _rate(row.get("hlp"), row.get("hlp_low"), row.get("hlp_high"), row.get("hlp_n")),
        "gap": _signed_pct(row.get("gap")),
        "gap_negative": (row.get("gap") or 0) < 0,
        "potential": _pct(row.get("potential_improvement"), 2),
        "too_small": bool(row.get("too_small")),
    }


# The chart -------------------------------------------------------------------------------------


def _number(row: dict[str, Any]) -> int:
    number = row.get("number")
    return number if isinstance(number, int) else -1


def _short(name: str, limit: int = CHART_LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _chart(rows: list[dict[str, Any]], links: dict[int, str]) -> dict[str, Any] | None:
    """Geometry of the dot plot of the table's top rows: per slice, accuracy (dot) and HLP
    (tick) on one scale with the gap drawn between them, and a bar of the potential improvement
    on the right. A slice the table lists twice (found again by discovery) is drawn once."""
    seen: set[tuple[str, Any]] = set()
    shown = []
    for r in rows:
        key = (str(r.get("slice")), r.get("n_items"))
        if key not in seen:
            seen.add(key)
            shown.append(r)
    shown = shown[:CHART_ROWS]

    def rates(candidates: list[dict[str, Any]]) -> list[float]:
        return [
            float(v)
            for r in candidates
            for v in (r.get("accuracy"), r.get("hlp"))
            if isinstance(v, int | float)
        ]

    # The scale fits the slices big enough to judge; the others' marks may sit at its edge.
    values = rates([r for r in shown if not r.get("too_small")]) or rates(shown)
    if not values:
        return None
    low = max(0.0, min(0.9, math.floor(min(values) * 20) / 20 - 0.05))
    label_width = 12 + 7 * max(len(_short(str(r.get("slice") or ""))) for r in shown)
    plot_x, plot_width, row_height, top = label_width + 16, 420, 26, 50
    bars_x = plot_x + plot_width + 36
    bars_width = 110
    best = max((r.get("potential_improvement") or 0.0) for r in shown) or 1.0

    def x(rate: float) -> float:
        return round(plot_x + plot_width * (min(max(rate, low), 1.0) - low) / (1.0 - low), 1)

    step = 0.05 if 1.0 - low <= 0.4 else 0.1
    ticks = [
        {"x": x(low + k * step), "label": f"{100 * (low + k * step):.0f}%"}
        for k in range(round((1.0 - low) / step) + 1)
    ]
    height = top + row_height * len(shown) + 6
    marks = []
    for k, r in enumerate(shown):
        y = top + row_height * k + row_height // 2
        accuracy, hlp = r.get("accuracy"), r.get("hlp")
        potential = max(r.get("potential_improvement") or 0.0, 0.0)
        gap = None
        if accuracy is not None and hlp is not None and x(hlp) != x(accuracy):
            gap = {
                "x": min(x(accuracy), x(hlp)),
                "width": abs(x(hlp) - x(accuracy)),
                "css": "gap-above" if hlp > accuracy else "gap-below",
            }
        name = str(r.get("slice") or "")
        bar = round(bars_width * potential / best, 1)
        marks.append(
            {
                "name": _short(name),
                "link": links.get(_number(r)),
                "y": y,
                "band_y": y - row_height // 2,
                "stripe": k % 2 == 1,
                "too_small": bool(r.get("too_small")),
                "accuracy": x(accuracy) if accuracy is not None else None,
                "hlp": x(hlp) - 1.5 if hlp is not None else None,
                "gap": gap,
                "title": "{}: accuracy {}, HLP {}, gap {}, potential improvement {}{}".format(
                    name,
                    _pct(accuracy, 1) or "undefined",
                    _pct(hlp, 1) or "undefined",
                    _signed_pct(r.get("gap")) or "undefined",
                    _pct(potential, 2),
                    " (too small to judge)" if r.get("too_small") else "",
                ),
                "bar": bar,
                "bar_text": _pct(potential, 2),
                "bar_text_x": bars_x + bar + 6,
            }
        )
    return {
        "rows": marks,
        "ticks": ticks,
        "low": _pct(low),
        "width": bars_x + bars_width + 56,
        "height": height,
        "label_x": label_width + 4,
        "plot_x": plot_x,
        "bars_x": bars_x,
        "axis_y": top - 8,
        "grid_top": top - 4,
        "grid_bottom": height - 4,
        "shown": len(shown),
        "total": len(rows),
    }


# The table page --------------------------------------------------------------------------------


def _job_params(post: QueryDict) -> dict[str, Any]:
    """The slice job's parameters from the form; the job validator checks them."""
    params: dict[str, Any] = {
        "discover": post.get("discover") == "on",
        "rules": post.get("rules") == "on",
    }
    raw_run = post.get("model_run", "").strip()
    if raw_run:
        params["model_run"] = int(raw_run) if raw_run.isdigit() else raw_run
    if post.get("choose_fields"):
        params["fields"] = post.getlist("fields")
        params["text_fields"] = post.getlist("text_fields")
    for key in ("min_items", "min_labels"):
        raw = post.get(key, "").strip()
        if raw:
            params[key] = int(raw) if raw.isdigit() else raw
    return params


def _post(request: HttpRequest, dataset: Dataset) -> HttpResponse | None:
    """Handle the page's forms; None means 'render the page again' (a rule that was refused
    keeps what was typed). Messages about rules are shown in the rules card, which the rule
    forms return to (``#rules``)."""
    action = request.POST.get("action", "")
    if action == "run":
        try:
            job = job_create(
                kind="slices",
                params=_job_params(request.POST),
                dataset=dataset,
                created_by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, f"The slice analysis can't start: {describe(exc)}")
        else:
            messages.success(request, f"Started slice analysis job #{job.pk}.")
        return redirect("slices", dataset_id=dataset.pk)
    if action == "add_rule":
        try:
            conditions = parse_conditions(
                request.POST.get("conditions", ""), list(dataset.metadata_fields)
            )
            rule = slice_rule_create(
                dataset=dataset,
                name=request.POST.get("name", "")[:MAX_RULE_NAME],
                conditions=conditions,
                user=request.user,
            )
        except BadInput as exc:
            messages.error(request, describe(exc), extra_tags=RULES)
            return None
        messages.success(request, _saved(rule), extra_tags=RULES)
    elif action == "save_discovered":
        _save_discovered(request, dataset)
    elif action == "delete_rule":
        if not is_owner(request, dataset):
            raise PermissionDenied("Only the dataset's owners delete slice rules.")
        raw = request.POST.get("rule", "")
        deleted, _ = SliceRule.objects.filter(
            dataset=dataset, pk=int(raw) if raw.isdigit() else 0
        ).delete()
        if deleted:
            messages.success(request, "Deleted the rule.", extra_tags=RULES)
        else:
            messages.error(request, "There is no such rule in this dataset.", extra_tags=RULES)
    else:
        messages.error(request, "Unknown action.")
        return redirect("slices", dataset_id=dataset.pk)
    return redirect(reverse("slices", args=[dataset.pk]) + "#rules")


def _saved(rule: SliceRule) -> str:
    return f"Saved the rule '{rule.name}'; it joins the next slice analysis."


def _save_discovered(request: HttpRequest, dataset: Dataset) -> None:
    """Save a discovered slice of a slice job as a rule, with the conditions the job stored."""
    raw_job, raw_index = request.POST.get("job", ""), request.POST.get("index", "")
    job = (
        Job.objects.filter(
            dataset=dataset, kind="slices", status=Job.Status.SUCCEEDED, pk=int(raw_job)
        ).first()
        if raw_job.isdigit()
        else None
    )
    discovered = ((job.result or {}).get("discovered") or []) if job else []
    index = int(raw_index) if raw_index.isdigit() else -1
    if not 0 <= index < len(discovered) or not discovered[index].get("conditions"):
        messages.error(request, "There is no such discovered slice to save.", extra_tags=RULES)
        return
    found = discovered[index]
    try:
        rule = slice_rule_create(
            dataset=dataset,
            name=str(found.get("name") or "")[:MAX_RULE_NAME],
            conditions=found["conditions"],
            user=request.user,
        )
    except BadInput as exc:
        messages.error(request, describe(exc), extra_tags=RULES)
    else:
        messages.success(request, _saved(rule), extra_tags=RULES)


def _report_context(dataset: Dataset, job: Job, rules: list[SliceRule]) -> dict[str, Any]:
    result = job.result or {}
    rows: list[dict[str, Any]] = result.get("rows") or []
    links = {
        int(r["number"]): "{}?job={}".format(
            reverse("slice-items", args=[dataset.pk, r["number"]]), job.pk
        )
        for r in rows
        if isinstance(r.get("number"), int)
    }
    by_name: dict[tuple[str, str], str] = {}
    for r in rows:
        if isinstance(r.get("number"), int):
            by_name.setdefault((str(r.get("source")), str(r.get("slice"))), links[r["number"]])
    saved = {rule.name for rule in rules}
    metadata_fields = set(dataset.metadata_fields)
    discovered = []
    for index, d in enumerate(result.get("discovered") or []):
        conditions = d.get("conditions")
        name = str(d.get("name") or "")
        discovered.append(
            {
                "index": index,
                "name": name,
                "link": by_name.get(("discovered", name)),
                "size": f"{int(d.get('size') or 0):,}",
                "error_rate": _pct(d.get("error_rate"), 1),
                "score": f"{d['score']:.2f}" if isinstance(d.get("score"), int | float) else "—",
                "saved": name[:MAX_RULE_NAME] in saved,
                # Rules are made of metadata fields; a text-length predicate can't be one.
                "savable": bool(conditions)
                and all(isinstance(c, list) and c and c[0] in metadata_fields for c in conditions),
            }
        )
    overall = result.get("overall") or {}
    run = ModelRun.objects.filter(dataset=dataset, pk=result.get("model_run") or 0).first()
    run_name = str(run) if run else ""
    return {
        "overall": _row_context(overall) if overall else None,
        "rows": [_row_context(r, links.get(_number(r), "")) for r in rows],
        "chart": _chart(rows, links),
        "discovered": discovered,
        "rule_links": {rule.pk: by_name.get(("rule", rule.name)) for rule in rules},
        "tag_links": {name: link for (source, name), link in by_name.items() if source == "tag"},
        "report_run": result.get("model_run"),
        "report_run_name": run_name,
        "min_items": result.get("min_items"),
        "min_labels": result.get("min_labels"),
        "n_items": f"{int(result.get('n_items') or 0):,}",
        "too_small_count": sum(1 for r in rows if r.get("too_small")),
        "csv_url": "{}?format=csv&job={}".format(reverse("api-slices", args=[dataset.pk]), job.pk),
        "json_url": "{}?job={}".format(reverse("api-slices", args=[dataset.pk]), job.pk),
    }


def _definitions(definitions: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (DEFINITION_TITLES.get(key, key.replace("_", " ").capitalize()), text)
        for key, text in definitions.items()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def slices_page(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """The error-analysis table of the latest slice job; POST runs the job, saves or deletes
    slice rules."""
    dataset = _staff_dataset(request, dataset_id)
    if request.method == "POST":
        response = _post(request, dataset)
        if response is not None:
            return response
    job = selectors.latest_job(dataset=dataset, kind="slices")
    newest = selectors.latest_job(dataset=dataset, kind="slices", succeeded=False)
    active = newest if newest and newest.status in (Job.Status.QUEUED, Job.Status.RUNNING) else None
    rules = list(SliceRule.objects.filter(dataset=dataset).order_by("name"))
    runs = list(ModelRun.objects.filter(dataset=dataset).order_by("-id")[:50])
    text_fields = [f for f in dataset.data_fields if f not in IMAGE_FIELDS]
    last_params = (job.params if job else {}) or {}
    chosen_fields = last_params.get("fields", list(dataset.metadata_fields)[:20])
    chosen_text = last_params.get("text_fields", text_fields[:2])
    tags = tag_counts(dataset_id=dataset.pk)
    notes = list(messages.get_messages(request))
    context: dict[str, Any] = {
        "dataset": dataset,
        "owner": is_owner(request, dataset),
        "page_messages": [m for m in notes if RULES not in (m.extra_tags or "").split()],
        "rule_messages": [m for m in notes if RULES in (m.extra_tags or "").split()],
        "job": job,
        "active_job": active,
        "active_job_url": reverse("api-job", args=[active.pk]) if active else "",
        "failed_job": newest if newest and newest.status == Job.Status.FAILED else None,
        "runs": runs,
        "field_choices": [
            {"name": f, "checked": f in chosen_fields} for f in dataset.metadata_fields
        ],
        "text_choices": [{"name": f, "checked": f in chosen_text} for f in text_fields],
        "discover": last_params.get("discover", True),
        "use_rules": last_params.get("rules", True),
        "min_items_value": last_params.get("min_items", 30),
        "min_labels_value": last_params.get("min_labels", 30),
        "rules": [
            {"rule": rule, "conditions": [condition_text(c) for c in rule.conditions or []]}
            for rule in rules
        ],
        "rule_form": {
            "name": request.POST.get("name", "") if request.method == "POST" else "",
            "conditions": request.POST.get("conditions", "") if request.method == "POST" else "",
        },
        "operators": OPERATORS,
        "tags": tags,
        "definitions": _definitions(
            {**SLICE_DEFINITIONS, **((job.result or {}).get("definitions") or {} if job else {})}
        ),
    }
    if job is not None:
        context.update(_report_context(dataset, job, rules))
        for entry in context["rules"]:
            entry["link"] = context["rule_links"].get(entry["rule"].pk)
        for tag in tags:
            tag["link"] = context["tag_links"].get(f"tag: {tag['tag']}")
    return render(request, "quality/slices.html", context)


# The drill-down page ---------------------------------------------------------------------------


def _metadata_pairs(item: Item, fields: list[str]) -> list[tuple[str, str]]:
    metadata = item.metadata if isinstance(item.metadata, dict) else {}
    names = [f for f in fields if f in metadata] + [f for f in metadata if f not in fields]
    return [(name, value_text(metadata[name])) for name in names if metadata[name] is not None]


def _predictions(dataset: Dataset, run_id: Any, item_ids: Any) -> dict[int, dict[str, Any]]:
    """The model run's prediction (label and its probability) for each of a page's items."""
    if not isinstance(run_id, int):
        return {}
    run = ModelRun.objects.filter(dataset=dataset, pk=run_id).only("label_ids").first()
    if run is None:
        return {}
    names = {label.pk: label.name for label in dataset.labels.all()}
    label_ids = list(run.label_ids)
    found = {}
    rows = Prediction.objects.filter(model_run=run, item_id__in=list(item_ids)).values_list(
        "item_id", "predicted", "confidence"
    )
    for item_id, code, confidence in rows:
        label_id = label_ids[code] if 0 <= code < len(label_ids) else None
        found[item_id] = {
            "label_id": label_id,
            "name": names.get(label_id, "?") if label_id is not None else "?",
            "confidence": _pct(confidence),
        }
    return found


@login_required
@require_http_methods(["GET"])
def slice_items_page(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """The items of one row of the slice table, 50 a page, as the slice job saw them."""
    dataset = _staff_dataset(request, dataset_id)
    raw_job = request.GET.get("job", "")
    jobs = Job.objects.filter(dataset=dataset, kind="slices", status=Job.Status.SUCCEEDED)
    job = (
        jobs.filter(pk=int(raw_job)).first() if raw_job.isdigit() else jobs.order_by("-id").first()
    )
    if job is None:
        raise Http404("There is no such slice table in this dataset.")
    try:
        ids = slice_items(job=job, number=number)
    except BadInput as exc:
        raise Http404(describe(exc)) from exc
    row = next((r for r in (job.result or {}).get("rows") or [] if r.get("number") == number), None)
    if row is None:
        raise Http404(f"The slice table has no slice {number}.")
    page = Paginator(ids.tolist(), ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    items = (
        Item.objects.filter(dataset=dataset, pk__in=list(page.object_list))
        .select_related("reference_label")
        .order_by("id")
    )
    data_fields = list(dataset.data_fields)
    preview_field = data_fields[0] if data_fields else None
    metadata_fields = list(dataset.metadata_fields)
    predicted = _predictions(dataset, (job.result or {}).get("model_run"), page.object_list)
    listed = []
    for item in items:
        prediction = predicted.get(item.pk)
        listed.append(
            {
                "item": item,
                "preview": value_text(item.data.get(preview_field, ""))
                if preview_field and isinstance(item.data, dict)
                else "",
                "metadata": _metadata_pairs(item, metadata_fields),
                "prediction": prediction,
                "correct": None
                if prediction is None or item.reference_label_id is None
                else prediction["label_id"] == item.reference_label_id,
            }
        )

    def page_url(number_of_page: int) -> str:
        return f"?job={job.pk}&page={number_of_page}"

    return render(
        request,
        "quality/slice_items.html",
        {
            "dataset": dataset,
            "job": job,
            "number": number,
            "row": _row_context(row),
            "conditions": [condition_text(c) for c in row.get("conditions") or []],
            "items": listed,
            "page": page,
            "count": f"{page.paginator.count:,}",
            "model_run": (job.result or {}).get("model_run"),
            "preview_field": preview_field,
            "first_url": page_url(1),
            "previous_url": page_url(page.previous_page_number()) if page.has_previous() else "",
            "next_url": page_url(page.next_page_number()) if page.has_next() else "",
            "last_url": page_url(page.paginator.num_pages),
            "export_url": "{}?format=csv&job={}".format(
                reverse("api-slice-export", args=[dataset.pk, number]), job.pk
            ),
            "json_url": "{}?job={}".format(
                reverse("api-slice-items", args=[dataset.pk, number]), job.pk
            ),
            "table_url": reverse("slices", args=[dataset.pk]),
        },
    )
