"""An item's page: its content, provenance (import batch, metadata, parent and recipe if
augmented, its own augmented children) and its label history (every label, decision and event,
who, when, old → new, why). Owners and reviewers only: it shows every labeller's answer."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from labeling.models import Decision, Item, Role
from labeling.services import item_tag_remove, item_tags_add
from labeling.views import _member_dataset
from workbench.errors import describe

IMAGE_FIELDS = ("image", "image_url")


def _fields(data: Any) -> list[dict[str, Any]]:
    """An item's data or metadata as rows for a table: text as is, other values as JSON."""
    if not isinstance(data, dict):
        return []
    return [
        {"name": key, "value": value if isinstance(value, str) else json.dumps(value)}
        for key, value in data.items()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def item_page(request: HttpRequest, dataset_id: int, item_id: int) -> HttpResponse:
    dataset, role = _member_dataset(request, dataset_id)
    if role not in (Role.OWNER, Role.REVIEWER):
        raise PermissionDenied(
            "An item's page shows every labeller's answer, so only the dataset's owners and "
            "reviewers see it (annotators label blind)."
        )
    item = get_object_or_404(
        Item.objects.select_related("import_batch__uploaded_by", "parent", "reference_label"),
        pk=item_id,
        dataset=dataset,
    )
    if request.method == "POST":
        # Error tags: a reviewer's reasons ("blurry", "car noise"); each becomes a slice.
        try:
            if request.POST.get("remove"):
                if role != Role.OWNER:
                    raise PermissionDenied("Only the dataset's owners remove tags.")
                item_tag_remove(dataset=dataset, item_id=item.pk, tag=request.POST["remove"])
            else:
                for tag in request.POST.get("tags", "").split(","):
                    if tag.strip():
                        item_tags_add(
                            dataset=dataset, item_ids=[item.pk], tag=tag, user=request.user
                        )
        except ValidationError as exc:
            messages.error(request, describe(exc))
        return redirect("item", dataset_id=dataset.pk, item_id=item.pk)
    image = next(
        (
            item.data[f]
            for f in IMAGE_FIELDS
            if isinstance(item.data, dict)
            and isinstance(item.data.get(f), str)
            and item.data[f].startswith("/")
        ),
        None,
    )
    annotations = item.annotations.select_related("labeller", "label").order_by("created_at", "id")
    events = item.label_events.select_related("labeller", "actor", "import_batch").order_by("id")
    decision = Decision.objects.filter(item=item).select_related("label", "reviewer").first()
    children = Item.objects.filter(parent=item).order_by("id").only("id", "external_id", "recipe")
    LabelIssue = apps.get_model("quality", "LabelIssue")
    issues = (
        LabelIssue.objects.filter(item=item)
        .select_related("given_label", "suggested_label", "decided_by")
        .order_by("-job_id")[:10]
    )
    return render(
        request,
        "labeling/item.html",
        {
            "dataset": dataset,
            "role": role,
            "item": item,
            "image": image,
            "data": [f for f in _fields(item.data) if f["name"] not in IMAGE_FIELDS or not image],
            "metadata": _fields(item.metadata),
            "recipe": json.dumps(item.recipe, indent=2, sort_keys=True) if item.recipe else "",
            "children": children[:50],
            "children_count": children.count(),
            "annotations": annotations,
            "events": events,
            "decision": decision,
            "tags": list(item.tags.values_list("tag", flat=True)),
            "issues": issues,
        },
    )
