"""Which item a labeller gets next (services: these reserve and skip, so they write).

An item is offered to a labeller when it still needs labels — its labels plus the live
reservations of other labellers are fewer than the dataset's ``annotators_per_item`` — and the
labeller has neither labelled nor skipped it. Orders: breadth-first (the fullest items first,
so that items are finished before new ones are started), sequential (import order), random
with the dataset's seed, or active learning (the items the active_learning job scored, lowest
CROWDLAB score first, then breadth-first). The query walks the (dataset, annotation_count
desc, id) index (under active learning the partial (dataset, priority, id) one) and stops at
the first fit: it never scans the dataset. Concurrent callers lock the chosen row with
SKIP LOCKED (PostgreSQL), so two labellers don't take the last slot of an item together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import (
    Annotation,
    Assignment,
    Dataset,
    Item,
    Labeller,
    Origin,
    Reservation,
    Skip,
)
from labeling.services import labeller_for_user

MAX_CLAIM_TRIES = 20


@dataclass(frozen=True)
class NextItem:
    item: Item | None
    expires_at: datetime | None
    progress: dict[str, int]


def _open_items(dataset: Dataset, labeller: Labeller, now: datetime) -> QuerySet[Item]:
    """Items this labeller may take now, as a lazy query (nothing is read here)."""
    held_by_others = (
        Reservation.objects.filter(item=OuterRef("pk"), expires_at__gt=now)
        .exclude(labeller=labeller)
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        # A range on the dataset keeps PostgreSQL on the composite index (see ItemList).
        Item.objects.filter(
            dataset__gte=dataset.pk,
            dataset__lte=dataset.pk,
            annotation_count__lt=dataset.annotators_per_item,
        )
        # Augmented items inherit their parent's label: nobody labels them.
        .exclude(origin=Origin.AUGMENTED)
        .exclude(Exists(Annotation.objects.filter(item=OuterRef("pk"), labeller=labeller)))
        .exclude(Exists(Skip.objects.filter(item=OuterRef("pk"), labeller=labeller)))
        .alias(held=Coalesce(Subquery(held_by_others), 0))
        .filter(annotation_count__lt=dataset.annotators_per_item - F("held"))
    )


def _ordered(items: QuerySet[Item], dataset: Dataset, labeller: Labeller) -> QuerySet[Item]:
    if dataset.assignment == Assignment.SEQUENTIAL:
        return items.order_by("dataset_id", "id")
    if dataset.assignment == Assignment.RANDOM:
        # A seeded pivot per labeller and step: repeatable, and no ORDER BY random() scan.
        done = Annotation.objects.filter(labeller=labeller).count()
        last = Item.objects.filter(dataset=dataset).order_by("-id").values_list("id", flat=True)
        first = Item.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True)
        high, low = last.first(), first.first()
        if high is None or low is None:
            return items.none()
        draw = random.Random(f"{dataset.assignment_seed}:{labeller.pk}:{done}")  # noqa: S311
        pivot = draw.randint(low, high)
        after = items.filter(id__gte=pivot).order_by("dataset_id", "id")
        return after if after.exists() else items.order_by("dataset_id", "id")
    if dataset.assignment == Assignment.ACTIVE_LEARNING:
        # Walks the partial (dataset, priority, id) index; once every scored item is done,
        # breadth-first.
        scored = items.filter(priority__isnull=False).order_by("dataset_id", "priority", "id")
        if scored.exists():
            return scored
    return items.order_by("dataset_id", "-annotation_count", "id")


def _progress(dataset: Dataset, labeller: Labeller) -> dict[str, int]:
    return {
        "labelled_by_you": Annotation.objects.filter(labeller=labeller).count(),
        "skipped_by_you": Skip.objects.filter(labeller=labeller).count(),
    }


def next_item_reserve(*, dataset: Dataset, user: Any) -> NextItem:
    """The next item for this user to label, reserved for them; ``item`` is None when there is
    nothing left for them."""
    labeller = labeller_for_user(dataset=dataset, user=user)
    now = timezone.now()
    expires = now + timedelta(seconds=settings.WORKBENCH_RESERVATION_SECONDS)
    with transaction.atomic():
        # Resume the item already handed to this labeller, if it is still open for them.
        held = (
            Reservation.objects.filter(labeller=labeller, expires_at__gt=now, item__dataset=dataset)
            .values_list("item_id", flat=True)
            .first()
        )
        if held is not None:
            item = _open_items(dataset, labeller, now).filter(pk=held).first()
            if item is not None:
                Reservation.objects.filter(labeller=labeller, item_id=held).update(
                    expires_at=expires
                )
                return NextItem(item, expires, _progress(dataset, labeller))
        item = _claim(dataset, labeller, now)
        if item is None:
            return NextItem(None, None, _progress(dataset, labeller))
        Reservation.objects.filter(labeller=labeller).delete()
        Reservation.objects.create(item=item, labeller=labeller, expires_at=expires)
    return NextItem(item, expires, _progress(dataset, labeller))


def _claim(dataset: Dataset, labeller: Labeller, now: datetime) -> Item | None:
    candidates = _ordered(_open_items(dataset, labeller, now), dataset, labeller)
    passed: list[int] = []
    for _ in range(MAX_CLAIM_TRIES):
        # Lock the pick, skipping rows another next-item is taking at this moment.
        chosen = (
            candidates.exclude(pk__in=passed)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", "annotation_count")
            .first()
        )
        if chosen is None:
            return None
        item_id, labels = chosen
        # Count the reservations again now that the row is ours: one committed by another
        # labeller after this query's snapshot was taken is visible only to a new statement.
        held = (
            Reservation.objects.filter(item_id=item_id, expires_at__gt=now)
            .exclude(labeller=labeller)
            .count()
        )
        if labels + held < dataset.annotators_per_item:
            return Item.objects.get(pk=item_id)
        passed.append(item_id)
    return None


@transaction.atomic
def item_skip(*, dataset: Dataset, user: Any, item_id: int, reason: str = "") -> Skip:
    """Pass on an item (it isn't offered to this labeller again); frees its reservation."""
    from rest_framework.exceptions import ValidationError

    if not Item.objects.filter(dataset=dataset, pk=item_id).exists():
        raise ValidationError({"item": [f"There is no item {item_id} in this dataset."]})
    labeller = labeller_for_user(dataset=dataset, user=user)
    skip, created = Skip.objects.get_or_create(
        item_id=item_id, labeller=labeller, defaults={"reason": reason[:2000]}
    )
    if not created and reason and skip.reason != reason:
        skip.reason = reason[:2000]
        skip.save(update_fields=["reason"])
    Reservation.objects.filter(labeller=labeller, item_id=item_id).delete()
    return skip
