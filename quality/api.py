"""REST API v1 of the quality app: agreement report, consensus, disagreement queue, decisions.

Owners and reviewers only: these show every labeller's answers, and annotators label blind.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import exporting, services
from labeling import selectors as labeling_selectors
from labeling.api import OWNER, STAFF, FormatIsOurs, dataset_for, export_format, export_response
from labeling.models import Decision, Item
from quality import selectors
from quality import services as quality_services
from quality.models import LabelIssue, ModelRun, SliceRule
from quality.services import DEFINITIONS
from workbench.errors import BadInput
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
                    k: DEFINITIONS[k]
                    for k in ("labeller_agreement", "ds_accuracy", "crowdlab_quality", "flagged")
                },
            }
        )


class ConsensusRowSerializer(serializers.Serializer[Item]):
    item = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()
    label = serializers.CharField(source="reference_label.name", allow_null=True, default=None)
    method = serializers.CharField(
        source="reference_method",
        help_text="decision (a reviewer's), majority_vote, dawid_skene, crowdlab, or augmented "
        "(copied from the parent item); empty without labels.",
    )
    confidence = serializers.FloatField(source="reference_confidence", allow_null=True)
    n_labels = serializers.IntegerField(source="annotation_count")


class ConsensusList(generics.ListAPIView):
    """Per item: its reference label — the reviewer's decision where one exists, else the
    consensus of its labels by the dataset's method — which of the two, and how confident
    (the consensus label's share of votes, its Dawid-Skene probability or CROWDLAB's consensus
    quality; 1 for a decision; an augmented item's is its parent's)."""

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


class ModelRunSerializer(serializers.ModelSerializer[ModelRun]):
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = ModelRun
        fields = [
            "id",
            "name",
            "version",
            "hyperparameters",
            "trained_on",
            "source",
            "job",
            "prediction_count",
            "renormalised_count",
            "metrics",
            "dataset_state",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ModelRunInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    version = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    hyperparameters = serializers.DictField(required=False, default=dict)
    trained_on = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The dataset version the model was trained on.",
    )
    labels = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The class order of list-shaped probabilities (default: the dataset's).",
    )
    # A plain JSON list: checked in bulk by the service (a field per entry would cost seconds
    # on 100,000 predictions).
    predictions = serializers.JSONField(
        help_text='[{"item": id | "external_id": "…", "probabilities": [p1, p2, …] | '
        '{"label": p, …}}, …]'
    )

    def validate_predictions(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise serializers.ValidationError(
                "Give a list of {item or external_id, probabilities}."
            )
        return value


class ModelRuns(generics.ListAPIView):
    """A dataset's model runs (newest first). POST a model's name, version, hyperparameters,
    the dataset version it was trained on and its class probabilities per item: rows that
    miss 1 by a little are renormalised (``renormalised_count``); the wrong number of classes,
    unknown items, NaN or negative values are refused and nothing is stored."""

    serializer_class = ModelRunSerializer

    def get_queryset(self) -> QuerySet[ModelRun]:
        if getattr(self, "swagger_fake_view", False):
            return ModelRun.objects.none()
        dataset, _ = dataset_for(self.request, self.kwargs["dataset_id"], STAFF)
        return ModelRun.objects.filter(dataset=dataset).select_related("created_by")

    @extend_schema(request=ModelRunInputSerializer, responses={201: ModelRunSerializer})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = ModelRunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = quality_services.model_run_create(
            dataset=dataset, created_by=request.user, **serializer.validated_data
        )
        return Response(ModelRunSerializer(run).data, status=status.HTTP_201_CREATED)


def _label_issue_job(request: Request, dataset: Any) -> Any:
    job_id = request.query_params.get("job")
    if job_id:
        try:
            job = dataset.jobs.filter(pk=int(job_id), kind="label_issues").first()
        except ValueError as exc:
            raise ValidationError({"job": ["Give a job id (a number)."]}) from exc
        if job is None:
            raise NotFound(f"No label-issue job {job_id} on this dataset.")
        return job
    job = selectors.latest_job(dataset=dataset, kind="label_issues")
    if job is None:
        raise NotFound(
            "No label-issue report yet: upload a model run (POST …/model-runs/) or run the "
            'baseline model, then POST …/jobs/ {"kind": "label_issues", "params": '
            '{"model_run": <id>}}.'
        )
    return job


class LabelIssues(APIView):
    """Ranked suspected label errors of the latest label-issue job (or ``?job=``), worst
    first: the item, its given label, the suggested label with the model's confidence, the
    label-quality score (0 = surely wrong … 1 = surely right), the issue type and status, every
    labeller's answer and the model's top probabilities. ``?status=open`` (default) |
    accepted | rejected | relabelled | all; ``?after=<rank>`` pages on."""

    @extend_schema(
        parameters=[
            OpenApiParameter("job", int),
            OpenApiParameter("status", str),
            OpenApiParameter("after", int),
            OpenApiParameter("limit", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        job = _label_issue_job(request, dataset)
        params = request.query_params
        status_ = params.get("status", "open")
        try:
            limit = max(1, min(int(params.get("limit", 50)), 500))
            after = int(params["after"]) if params.get("after") else None
        except ValueError as exc:
            raise ValidationError({"detail": "limit and after are numbers."}) from exc
        rows = selectors.label_issue_rows(
            dataset=dataset,
            job=job,
            status=None if status_ == "all" else status_,
            after=after,
            limit=limit,
        )
        open_count = LabelIssue.objects.filter(job=job, status=LabelIssue.Status.OPEN).count()
        return Response(
            {
                "job": JobSerializer(job).data,
                "open": open_count,
                "next": rows[-1]["rank"] if len(rows) == limit else None,
                "results": rows,
            }
        )


class LabelIssueDecisionSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["accept", "keep", "relabel"])
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class LabelIssueDecide(APIView):
    """Settle one issue: ``accept`` the suggestion, ``keep`` the given label, or ``relabel``
    with ``label``; with an optional ``note``. It becomes the item's reference label."""

    @extend_schema(request=LabelIssueDecisionSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, dataset_id: int, issue_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = LabelIssueDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issue = quality_services.label_issue_decide(
            dataset=dataset, issue_id=issue_id, reviewer=request.user, **serializer.validated_data
        )
        return Response({"id": issue.pk, "item": issue.item_id, "status": issue.status})


class AcceptIssuesSerializer(serializers.Serializer[Any]):
    issues = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=10_000
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class LabelIssuesAccept(APIView):
    """Accept the suggestions of several issues at once (e.g. the top K after a look)."""

    @extend_schema(request=AcceptIssuesSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = AcceptIssuesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = quality_services.label_issues_accept(
            dataset=dataset,
            issue_ids=serializer.validated_data["issues"],
            reviewer=request.user,
            note=serializer.validated_data["note"],
        )
        return Response({"accepted": count})


# Slice-level error analysis --------------------------------------------------------------------

SLICE_CSV_COLUMNS = [
    "slice",
    "source",
    "n_items",
    "share",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "accuracy_n",
    "hlp",
    "hlp_low",
    "hlp_high",
    "hlp_n",
    "gap",
    "potential_improvement",
    "too_small",
]


def _slice_job(request: Request, dataset_id: int) -> tuple[Any, Any]:
    """The dataset and its newest slice table (or the one ``?job=`` names)."""
    dataset, _ = dataset_for(request, dataset_id, STAFF)
    raw = request.query_params.get("job")
    if raw is not None:
        job = (
            selectors.latest_job(dataset=dataset, kind="slices")
            if not raw.isdigit()
            else dataset.jobs.filter(kind="slices", status="succeeded", pk=int(raw)).first()
        )
    else:
        job = selectors.latest_job(dataset=dataset, kind="slices")
    if job is None:
        raise NotFound(
            "No slice table yet: start one with POST /api/v1/datasets/"
            f'{dataset.pk}/jobs/ {{"kind": "slices"}} (it needs a model run), or the button on '
            "the error-analysis page."
        )
    return dataset, job


class Slices(APIView):
    """The error-analysis table of the newest slice job (``?job=`` for another): per slice,
    model accuracy, human-level performance (leave-one-out), gap, share and potential
    improvement, each rate with its 95% Wilson interval and count, sorted by potential
    improvement; ``overall`` is the "All data" row, ``discovered`` the slices found by the
    lattice search, ``definitions`` what each number means. ``?format=csv`` downloads the
    table."""

    content_negotiation_class = FormatIsOurs

    @extend_schema(
        parameters=[
            OpenApiParameter("job", int, description="A slice job's id (default: the newest)."),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id: int) -> Any:
        dataset, job = _slice_job(request, dataset_id)
        result = job.result or {}
        if request.query_params.get("format") == "csv":
            import csv
            import io

            from django.http import HttpResponse

            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, SLICE_CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in [result.get("overall") or {}, *result.get("rows", [])]:
                writer.writerow({k: _slice_csv_cell(row.get(k)) for k in SLICE_CSV_COLUMNS})
            response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
            name = f"slices-dataset-{dataset.pk}-job-{job.pk}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response({"job": JobSerializer(job).data, **result})


def _slice_csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return exporting.spreadsheet_safe(value) if isinstance(value, str) else value


class SliceItems(APIView):
    """The items of one row of a slice table (its ``number``), as the job saw them, a page at
    a time (``?page=``, ``?page_size=`` up to 500), each with its reference label."""

    @extend_schema(
        parameters=[
            OpenApiParameter("job", int, description="A slice job's id (default: the newest)."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id: int, number: int) -> Response:
        from labeling.serializers import ItemSerializer

        _, job = _slice_job(request, dataset_id)
        try:
            ids = quality_services.slice_items(job=job, number=number)
        except BadInput as exc:
            raise NotFound(str(exc)) from exc
        page, size = _page(request)
        chosen = ids[(page - 1) * size : page * size].tolist()
        items = Item.objects.filter(pk__in=chosen).select_related("reference_label", "parent")
        row: dict[str, Any] = next(
            (r for r in (job.result or {}).get("rows", []) if r.get("number") == number), {}
        )
        return Response(
            {
                "job": job.pk,
                "slice": row.get("slice"),
                "count": int(ids.size),
                "page": page,
                "page_size": size,
                "results": ItemSerializer(items.order_by("id"), many=True).data,
            }
        )


def _page(request: Request) -> tuple[int, int]:
    def number(key: str, default: int, high: int) -> int:
        raw = request.query_params.get(key, str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= high:
            raise ValidationError({key: [f"A whole number from 1 to {high}."]})
        return int(raw)

    return number("page", 1, 1_000_000), number("page_size", 50, 500)


class SliceRuleSerializer(serializers.ModelSerializer[SliceRule]):
    class Meta:
        model = SliceRule
        fields = ["id", "name", "conditions", "created_at"]
        read_only_fields = ["id", "created_at"]


class SliceRules(APIView):
    """Saved slice rules: conjunctions of ``[field, operator, value]`` conditions on metadata
    fields (operators ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``,
    ``contains``, ``is missing``, ``is not missing``). Every slice table includes them."""

    serializer_class = SliceRuleSerializer

    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        rules = SliceRule.objects.filter(dataset=dataset)
        return Response(SliceRuleSerializer(rules, many=True).data)

    @extend_schema(request=SliceRuleSerializer, responses={201: SliceRuleSerializer})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = SliceRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = quality_services.slice_rule_create(
            dataset=dataset,
            name=serializer.validated_data["name"],
            conditions=serializer.validated_data["conditions"],
            user=request.user,
        )
        return Response(SliceRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class SliceRuleDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, dataset_id: int, rule_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        deleted, _ = SliceRule.objects.filter(dataset=dataset, pk=rule_id).delete()
        if not deleted:
            raise NotFound(f"There is no slice rule {rule_id} in this dataset.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SliceExport(APIView):
    """The items of one row of a slice table, exported as the dataset export does (every
    item with data, metadata, annotations and reference label), streamed."""

    content_negotiation_class = FormatIsOurs
    renderer_classes = [JSONRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("job", int, description="A slice job's id (default: the newest)."),
            OpenApiParameter("format", str, enum=list(exporting.EXPORT_FORMATS)),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, dataset_id: int, number: int) -> StreamingHttpResponse:
        dataset, job = _slice_job(request, dataset_id)
        fmt, suffix = export_format(request)
        try:
            ids = quality_services.slice_items(job=job, number=number)
        except BadInput as exc:
            raise NotFound(str(exc)) from exc
        stream = exporting.export_stream(
            fmt,
            labeling_selectors.export_chunks(dataset=dataset, only=set(ids.tolist())),
            data_fields=dataset.data_fields,
            metadata_fields=dataset.metadata_fields,
        )
        return export_response(
            stream, fmt, f"dataset-{dataset.pk}-slice-{number}-job-{job.pk}.{suffix}"
        )


# Augmentation ----------------------------------------------------------------------------------


class AugmentRecipes(APIView):
    """The augmentation recipes: name, item kind (text, tabular, image), what it does and its
    parameters with defaults and allowed ranges."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        from quality.analysis.augment import RECIPES

        return Response({"recipes": [r.to_dict() for r in RECIPES.values()]})


class AugmentPreview(APIView):
    """A few target items beside their augmented variants, with the same parameters as an
    ``augment`` job (``recipe``, ``recipe_params``, ``target``, ``seed``, ``variants``,
    ``field``); nothing is written. Images come back as data URLs."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, dataset_id: int) -> Response:
        from quality.jobs import validate_augment

        dataset, _ = dataset_for(request, dataset_id, STAFF)
        if not isinstance(request.data, dict):
            raise ValidationError({"params": ["Send the job's parameters as a JSON object."]})
        params = validate_augment(dataset, dict(request.data))
        return Response(
            {
                "recipe": params["recipe"],
                "seed": params["seed"],
                "items": quality_services.augment_preview(dataset=dataset, params=params),
            }
        )


# Drift -----------------------------------------------------------------------------------------


class Drift(APIView):
    """Drift monitoring for pipelines. POST compares a batch with a reference and starts a
    ``drift`` job: JSON ``{"reference": …, "current": …, "thresholds": {…}}`` where each side is
    ``{"dataset": true}``, ``{"import_batch": id}`` or ``{"version": number}``; or multipart
    with a ``file`` (CSV, JSON lines or Parquet: one row per record, a column per field, an
    optional ``label`` column; not stored as items) as the current batch and ``reference`` as
    JSON text. Answers 202 with the job and the URL to read the verdict from. GET gives the
    newest drift report."""

    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, dataset_id: int) -> Response:
        import json
        import uuid
        from pathlib import PurePath

        from django.conf import settings
        from django.core.files.storage import default_storage

        from quality.services import DRIFT_FILE_FORMATS
        from workbench.jobs import job_create

        dataset, _ = dataset_for(request, dataset_id, STAFF)
        upload = request.FILES.get("file")
        if upload is None:
            if not isinstance(request.data, dict):
                raise ValidationError({"params": ["Send a JSON object or a file."]})
            params = dict(request.data)
        else:
            suffix = PurePath(upload.name or "").suffix.lower()
            if suffix not in DRIFT_FILE_FORMATS:
                raise ValidationError(
                    {"file": [f"Send a {', '.join(DRIFT_FILE_FORMATS)} file, not '{suffix}'."]}
                )
            if upload.size and upload.size > settings.WORKBENCH_MAX_UPLOAD_BYTES:
                raise ValidationError({"file": ["The file is larger than the upload limit."]})
            params = {}
            form: Any = request.data
            for key in ("reference", "thresholds"):
                raw = form.get(key)
                if raw:
                    try:
                        params[key] = json.loads(raw)
                    except json.JSONDecodeError as exc:
                        raise ValidationError({key: [f"Not JSON: {exc.msg}."]}) from exc
            path = default_storage.save(f"drift/{dataset.pk}/{uuid.uuid4().hex}{suffix}", upload)
            params["current"] = {"file": path, "name": upload.name}
        job = job_create(kind="drift", params=params, dataset=dataset, created_by=request.user)
        url = reverse("api-drift-report", args=[dataset.pk, job.pk])
        return Response(
            {"job": JobSerializer(job).data, "report": url}, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        job = selectors.latest_job(dataset=dataset, kind="drift")
        if job is None:
            raise NotFound("No drift report yet: POST a batch to this URL.")
        return Response({"job": JobSerializer(job).data, **(job.result or {})})


class DriftReport(APIView):
    """One drift job's report: ``verdict`` ("drift" / "no drift") and per field the tests,
    effect sizes, reasons and chart data; while the job runs, its status only."""

    @extend_schema(operation_id="drift_report", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int, job_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        job = dataset.jobs.filter(kind="drift", pk=job_id).first()
        if job is None:
            raise NotFound(f"There is no drift job {job_id} in this dataset.")
        body: dict[str, Any] = {"job": JobSerializer(job).data}
        if job.status == "succeeded":
            body.update(job.result or {})
        return Response(body)


# Data quality ----------------------------------------------------------------------------------


class DataRulesView(APIView):
    """The owner's data-quality rules, checked by every report: a list of ``{"field", "check",
    …}`` with checks ``required``, ``allowed`` (``values``), ``range`` (``min``/``max``),
    ``length`` (``min``/``max`` characters), ``unique``, ``pattern`` (``regex``). PUT replaces
    them (owners and reviewers)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int) -> Response:
        from quality.models import DataRules

        dataset, _ = dataset_for(request, dataset_id, STAFF)
        rules = DataRules.objects.filter(dataset=dataset).values_list("rules", flat=True).first()
        return Response({"rules": rules or []})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        rules = request.data.get("rules") if isinstance(request.data, dict) else request.data
        checked = quality_services.data_rules_set(dataset=dataset, rules=rules, user=request.user)
        return Response({"rules": checked})


class DataQualityReport(APIView):
    """The newest data-quality report (start one with a ``data_quality`` job): rows, per field
    missing values, distinct values, numeric summaries, category frequencies, text lengths;
    exact and near duplicates, label conflicts, class balance, the rules' results, warnings."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        job = selectors.latest_job(dataset=dataset, kind="data_quality")
        if job is None:
            raise NotFound(
                "No data-quality report yet: start one with POST /api/v1/datasets/"
                f'{dataset.pk}/jobs/ {{"kind": "data_quality", "params": {{"target": '
                '{"import_batch": id}}}.'
            )
        return Response({"job": JobSerializer(job).data, **(job.result or {})})
