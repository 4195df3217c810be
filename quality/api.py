"""REST API v1 of the quality app: agreement report, consensus, disagreement queue, decisions.

Owners and reviewers only: these show every labeller's answers, and annotators label blind.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import services
from labeling.api import STAFF, dataset_for
from labeling.models import Decision, Item
from quality import selectors
from quality.services import DEFINITIONS
from workbench.serializers import JobSerializer


def _latest_agreement(request: Request, dataset_id: int) -> tuple[Any, Any]:
    dataset, _ = dataset_for(request, dataset_id, STAFF)
    job = selectors.latest_job(dataset=dataset, kind="agreement")
    if job is None:
        raise NotFound(
            "No agreement report yet: start one with POST /api/v1/datasets/"
            f'{dataset.pk}/jobs/ {{"kind": "agreement"}} (or the button on the agreement page).'
        )
    return dataset, job


class Agreement(APIView):
    """The latest agreement report: Krippendorff's alpha, Fleiss' kappa, pairwise Cohen's kappa,
    percent agreement, per-labeller agreement with the leave-one-out consensus (95% Wilson
    intervals), per-class agreement, the most confused label pairs and agreement per metadata
    slice. ``definitions`` states what each number means; undefined values are null with a
    ``reason``. Rates are fractions 0-1."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int) -> Response:
        _, job = _latest_agreement(request, dataset_id)
        return Response({"job": JobSerializer(job).data, "report": job.result})


class LabellerQuality(APIView):
    """Per labeller, from the latest agreement report: volume, agreement with the others
    (leave-one-out, 95% interval), Dawid-Skene accuracy and confusion matrix (true label rows ×
    given label columns, in the order of ``labels``), median time per item, and a flag for
    labellers far below the rest."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int) -> Response:
        _, job = _latest_agreement(request, dataset_id)
        report = job.result or {}
        return Response(
            {
                "job": job.pk,
                "median_labeller_agreement": report.get("median_labeller_agreement"),
                "labels": report.get("labels", []),
                "labellers": report.get("labellers", []),
                "definitions": {
                    k: DEFINITIONS[k] for k in ("labeller_agreement", "ds_accuracy", "flagged")
                },
            }
        )


class ConsensusRowSerializer(serializers.Serializer[Item]):
    item = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()
    label = serializers.CharField(source="reference_label.name", allow_null=True, default=None)
    method = serializers.CharField(
        source="reference_method",
        help_text="decision (a reviewer's), majority_vote or dawid_skene; empty without labels.",
    )
    confidence = serializers.FloatField(source="reference_confidence", allow_null=True)
    n_labels = serializers.IntegerField(source="annotation_count")


class ConsensusList(generics.ListAPIView):
    """Per item: its reference label — the reviewer's decision where one exists, else the
    consensus of its labels by the dataset's method — which of the two, and how confident
    (the consensus label's share of votes, or its Dawid-Skene probability; 1 for a decision)."""

    serializer_class = ConsensusRowSerializer
    keyset_prefix = ("dataset_id",)

    def get_queryset(self) -> QuerySet[Item]:
        if getattr(self, "swagger_fake_view", False):
            return Item.objects.none()
        dataset, _ = dataset_for(self.request, self.kwargs["dataset_id"], STAFF)
        items = Item.objects.filter(dataset__gte=dataset.pk, dataset__lte=dataset.pk)
        method = self.request.query_params.get("method")
        if method:
            items = items.filter(reference_method=method)
        return items.select_related("reference_label").only(
            "id",
            "external_id",
            "reference_label__name",
            "reference_method",
            "reference_confidence",
            "annotation_count",
            "dataset_id",
        )

    @extend_schema(parameters=[OpenApiParameter("method", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _after(value: str | None) -> tuple[float, int] | None:
    if not value:
        return None
    try:
        confidence, item = value.split(":")
        return float(confidence), int(item)
    except ValueError as exc:
        raise ValidationError({"after": ["Use the `next` value of the previous page."]}) from exc


class Disagreements(APIView):
    """The review queue: undecided items whose labels differ, the least certain consensus
    first. Each shows every labeller's answer with that labeller's reliability (agreement with
    the others, from the latest agreement job), the consensus and its confidence, and the
    model's prediction when there is one. ``?after=`` takes the previous page's ``next``."""

    @extend_schema(
        parameters=[OpenApiParameter("after", str), OpenApiParameter("limit", int)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 500))
        except ValueError as exc:
            raise ValidationError({"limit": ["Give a number."]}) from exc
        rows = selectors.disagreements(
            dataset=dataset, after=_after(request.query_params.get("after")), limit=limit
        )
        last = rows[-1] if len(rows) == limit else None
        return Response(
            {
                "count": selectors.disagreement_count(dataset=dataset),
                "next": f"{last['consensus']['confidence']}:{last['item']}" if last else None,
                "results": rows,
            }
        )


class DecisionInputSerializer(serializers.Serializer[Any]):
    item = serializers.IntegerField()
    label = serializers.CharField(max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class DecisionSerializer(serializers.ModelSerializer[Decision]):
    label = serializers.CharField(source="label.name")
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)

    class Meta:
        model = Decision
        fields = ["item", "label", "note", "reviewer", "method", "created_at"]


class Decisions(generics.ListAPIView):
    """Reviewers' final labels (newest first). POST ``{item, label, note}`` (or a list) to
    decide: the label becomes the item's reference label and the change is logged."""

    serializer_class = DecisionSerializer

    def get_queryset(self) -> QuerySet[Decision]:
        if getattr(self, "swagger_fake_view", False):
            return Decision.objects.none()
        dataset, _ = dataset_for(self.request, self.kwargs["dataset_id"], STAFF)
        return Decision.objects.filter(item__dataset=dataset).select_related("label", "reviewer")

    @extend_schema(
        request=DecisionInputSerializer(many=True), responses={201: DecisionSerializer(many=True)}
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        many = isinstance(request.data, list)
        serializer = DecisionInputSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        entries = serializer.validated_data if many else [serializer.validated_data]
        decided = services.decisions_record(dataset=dataset, reviewer=request.user, entries=entries)
        data = DecisionSerializer(decided, many=True).data
        return Response(data if many else data[0], status=status.HTTP_201_CREATED)


class AcceptUnanimousSerializer(serializers.Serializer[Any]):
    min_labels = serializers.IntegerField(
        required=False,
        min_value=2,
        help_text="At least this many labels, all equal (default: the dataset's overlap).",
    )


class AcceptUnanimous(APIView):
    """Accept the label of every undecided item whose labellers all agree as its decision."""

    @extend_schema(request=AcceptUnanimousSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = AcceptUnanimousSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.decisions_accept_unanimous(
            dataset=dataset,
            reviewer=request.user,
            min_labels=serializer.validated_data.get("min_labels"),
        )
        return Response({"decided": count})
