"""REST API v1 for datasets, members, imports, items, annotations and export. Thin: check the
caller's role, validate, call a service or selector, serialize."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import assignment, exporting, selectors, services, versions
from labeling.formats import infer_scalar
from labeling.models import Annotation, Dataset, ImportBatch, Item, Membership, Role
from labeling.serializers import (
    AnnotationInputSerializer,
    AnnotationSerializer,
    BlindItemSerializer,
    DatasetSerializer,
    ImportBatchSerializer,
    ImportRequestSerializer,
    ItemSerializer,
    MembershipSerializer,
)
from workbench.jobs import job_create
from workbench.serializers import JobSerializer

OWNER = (Role.OWNER,)
STAFF = (Role.OWNER, Role.REVIEWER)
ANYONE = (Role.OWNER, Role.REVIEWER, Role.ANNOTATOR)


def dataset_for(
    request: Request, dataset_id: int, roles: tuple[str, ...] = ANYONE
) -> tuple[Dataset, str]:
    """The dataset if the caller may act on it: outsiders get 404, members without the role 403."""
    role = selectors.role_of(dataset_id=dataset_id, user=request.user)
    if role is None:
        raise NotFound("No such dataset (or you are not a member of it).")
    if role not in roles:
        raise PermissionDenied(
            f"This needs the role {' or '.join(roles)} in the dataset; yours is {role}."
        )
    return get_object_or_404(Dataset.objects.prefetch_related("labels"), pk=dataset_id), role


class DatasetList(generics.ListCreateAPIView):
    """Datasets you belong to; create one (you become its owner)."""

    serializer_class = DatasetSerializer

    def get_queryset(self) -> QuerySet[Dataset]:
        if getattr(self, "swagger_fake_view", False):
            return Dataset.objects.none()
        return selectors.datasets_for_user(user=self.request.user).order_by("id")

    def get_serializer_context(self) -> dict[str, Any]:
        roles = dict(
            Membership.objects.filter(user=self.request.user).values_list("dataset_id", "role")
        )
        return {**super().get_serializer_context(), "roles": roles}

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.dataset_create(created_by=self.request.user, **data)
        serializer.context["roles"][serializer.instance.pk] = Role.OWNER


class DatasetDetail(APIView):
    """One dataset: read (members), change (owners), delete (owners)."""

    serializer_class = DatasetSerializer

    def _out(self, dataset: Dataset, role: str) -> Response:
        context = {"roles": {dataset.pk: role}, "request": self.request}
        return Response(DatasetSerializer(dataset, context=context).data)

    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, role = dataset_for(request, dataset_id)
        return self._out(dataset, role)

    def patch(self, request: Request, dataset_id: int) -> Response:
        dataset, role = dataset_for(request, dataset_id, OWNER)
        serializer = DatasetSerializer(dataset, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        dataset = services.dataset_update(dataset=dataset, **serializer.validated_data)
        dataset = Dataset.objects.prefetch_related("labels").get(pk=dataset.pk)
        return self._out(dataset, role)

    def delete(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        services.dataset_delete(dataset=dataset)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberList(APIView):
    """Members and their roles. Owners add a member or change a role by POSTing a username."""

    serializer_class = MembershipSerializer
    pagination_class = None

    def get(self, request: Request, dataset_id: int) -> Response:
        """Owners and reviewers see every member; annotators only themselves."""
        dataset, role = dataset_for(request, dataset_id)
        members = selectors.members_visible(dataset=dataset, role=role, user=request.user)
        return Response(MembershipSerializer(members, many=True).data)

    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        serializer = MembershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(
            dataset=dataset,
            username=serializer.validated_data["user"]["username"],
            role=serializer.validated_data["role"],
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetail(APIView):
    serializer_class = MembershipSerializer

    def delete(self, request: Request, dataset_id: int, member_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        membership = get_object_or_404(Membership, pk=member_id, dataset=dataset)
        services.membership_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _json_field(value: Any, name: str) -> Any:
    import orjson

    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValidationError({name: [f"Not valid JSON: {exc}."]}) from exc
    return value


class ImportList(APIView):
    """Import a file (multipart ``file`` + ``format`` + optional ``mapping``). Small files are
    imported at once (201); larger ones in the background (202): follow the batch or its job."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]
    serializer_class = ImportBatchSerializer

    @extend_schema(operation_id="imports_list", responses=ImportBatchSerializer(many=True))
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        batches = ImportBatch.objects.filter(dataset=dataset).select_related("uploaded_by")
        return Response(ImportBatchSerializer(batches[:100], many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            201: inline_serializer(
                "ImportDone", {"import_batch": ImportBatchSerializer(), "job": JobSerializer()}
            ),
            202: inline_serializer(
                "ImportQueued", {"import_batch": ImportBatchSerializer(), "job": JobSerializer()}
            ),
        },
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        # Refuse an oversized upload from its header, before its body is read to disk.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        limit = settings.WORKBENCH_MAX_UPLOAD_BYTES
        if length > limit + 64 * 1024:
            return Response(
                {
                    "detail": f"The upload is {length / 2**20:.1f} MB; the limit is "
                    f"{limit / 2**20:.0f} MB (WORKBENCH_MAX_UPLOAD_MB)."
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Attach the file to import as 'file'."]})
        form = request.data
        if not hasattr(form, "get"):
            raise ValidationError({"detail": "Send the file as multipart/form-data."})
        batch, job = services.import_create(
            dataset=dataset,
            upload=upload,
            uploaded_by=request.user,
            file_format=form.get("format") or None,
            mapping=_json_field(form.get("mapping"), "mapping"),
            source=form.get("source", ""),
            default_metadata=_json_field(form.get("default_metadata"), "default_metadata"),
        )
        done = job.is_finished
        return Response(
            {"import_batch": ImportBatchSerializer(batch).data, "job": JobSerializer(job).data},
            status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED,
        )


class ImportDetail(APIView):
    serializer_class = ImportBatchSerializer

    def get(self, request: Request, dataset_id: int, batch_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        batch = get_object_or_404(ImportBatch, pk=batch_id, dataset=dataset)
        return Response(ImportBatchSerializer(batch).data)


ITEM_FILTERS = [
    OpenApiParameter("external_id", str, description="Exact external id."),
    OpenApiParameter("origin", str, description="imported, augmented or created."),
    OpenApiParameter("import_batch", int),
    OpenApiParameter("labelled", bool, description="Items with (true) or without (false) labels."),
    OpenApiParameter("reference_label", str, description="Items whose reference label is this."),
    OpenApiParameter("tag", str, description="Items carrying this error tag (owners, reviewers)."),
    OpenApiParameter(
        "metadata.<field>",
        str,
        description="Metadata equals this value, e.g. ?metadata.source=web (numbers match too).",
    ),
]


def _filter_items(items: QuerySet[Item], params: Any, staff: bool) -> QuerySet[Item]:
    for key, value in params.items():
        if key.startswith("metadata."):
            field = key.removeprefix("metadata.")
            if not field or not field.replace("_", "").replace("-", "").isalnum():
                raise ValidationError({key: ["Metadata field names are letters, digits, _ and -."]})
            typed = infer_scalar(value)
            match = Q(**{f"metadata__{field}": value})
            if typed != value:
                match |= Q(**{f"metadata__{field}": typed})
            items = items.filter(match)
    if "external_id" in params:
        items = items.filter(external_id=params["external_id"])
    if "origin" in params:
        items = items.filter(origin=params["origin"])
    if "import_batch" in params:
        try:
            items = items.filter(import_batch_id=int(params["import_batch"]))
        except ValueError as exc:
            raise ValidationError({"import_batch": ["Give a batch id (a number)."]}) from exc
    if staff and "labelled" in params:
        labelled = params["labelled"].lower() in ("1", "true", "yes")
        items = (
            items.filter(annotation_count__gt=0) if labelled else items.filter(annotation_count=0)
        )
    if staff and "tag" in params:
        items = items.filter(tags__tag=params["tag"])
    if staff and "reference_label" in params:
        items = items.filter(reference_label__name=params["reference_label"])
    return items


class ItemList(generics.ListAPIView):
    """Items, in id order, a page at a time (``?cursor=``; fast at any depth)."""

    keyset_prefix = ("dataset_id",)

    def get_serializer_class(self) -> type[ItemSerializer]:
        # Owners and reviewers see labels; annotators see the item only (blind labelling).
        return ItemSerializer if getattr(self, "_staff", True) else BlindItemSerializer

    def get_queryset(self) -> QuerySet[Item]:
        if getattr(self, "swagger_fake_view", False):
            return Item.objects.none()
        dataset, role = dataset_for(self.request, self.kwargs["dataset_id"])
        self._staff = role in STAFF
        # A range, not "dataset_id = X": with an equality PostgreSQL answers "ORDER BY id
        # LIMIT n" from the primary key and skips every row of the datasets made before this
        # one (50 ms at a million); the range makes it walk the (dataset, id) index.
        items = Item.objects.filter(dataset__gte=dataset.pk, dataset__lte=dataset.pk)
        items = items.select_related("reference_label", "parent")
        return _filter_items(items, self.request.query_params, self._staff)

    @extend_schema(operation_id="items_list", parameters=ITEM_FILTERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ItemDetail(APIView):
    serializer_class = ItemSerializer

    def get(self, request: Request, dataset_id: int, item_id: int) -> Response:
        dataset, role = dataset_for(request, dataset_id)
        item = get_object_or_404(
            Item.objects.select_related("reference_label", "parent"), pk=item_id, dataset=dataset
        )
        if role not in STAFF:
            return Response(BlindItemSerializer(item).data)
        data = ItemSerializer(item).data
        annotations = item.annotations.select_related("labeller", "label")
        data["annotations"] = AnnotationSerializer(annotations, many=True).data
        data["tags"] = list(item.tags.values_list("tag", flat=True))
        return Response(data)


class AnnotationList(generics.ListAPIView):
    """Annotations: an annotator sees only their own; owners and reviewers see all. POST one
    ``{item, label, time_spent_ms}`` or a list of them (all or nothing)."""

    serializer_class = AnnotationSerializer

    def get_queryset(self) -> QuerySet[Annotation]:
        if getattr(self, "swagger_fake_view", False):
            return Annotation.objects.none()
        dataset, role = dataset_for(self.request, self.kwargs["dataset_id"])
        annotations = Annotation.objects.filter(item__dataset=dataset).select_related(
            "labeller", "label"
        )
        if role not in STAFF:
            annotations = annotations.filter(labeller__user=self.request.user)
        params = self.request.query_params
        if "item" in params:
            try:
                annotations = annotations.filter(item_id=int(params["item"]))
            except ValueError as exc:
                raise ValidationError({"item": ["Give an item id (a number)."]}) from exc
        if "labeller" in params:
            annotations = annotations.filter(labeller__name=params["labeller"])
        return annotations

    @extend_schema(parameters=[OpenApiParameter("item", int), OpenApiParameter("labeller", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AnnotationInputSerializer(many=True),
        responses={201: AnnotationSerializer(many=True)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id)
        many = isinstance(request.data, list)
        if many and not request.data:
            raise ValidationError({"detail": "The list of annotations is empty."})
        serializer = AnnotationInputSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        entries = serializer.validated_data if many else [serializer.validated_data]
        saved = services.annotations_submit(dataset=dataset, user=request.user, entries=entries)
        saved = list(
            Annotation.objects.filter(pk__in=[a.pk for a in saved])
            .select_related("labeller", "label")
            .order_by("id")
        )
        data = AnnotationSerializer(saved, many=True).data
        return Response(data if many else data[0], status=status.HTTP_201_CREATED)


class FormatIsOurs(DefaultContentNegotiation):
    """``?format=`` names the export file format here, not one of DRF's renderers."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def export_format(request: Request) -> tuple[str, str]:
    """The ``?format=`` of an export (csv by default) and its file suffix; 400 if unknown."""
    fmt = request.query_params.get("format", "csv")
    if fmt not in exporting.EXPORT_FORMATS:
        raise ValidationError({"format": [f"Use one of: {', '.join(exporting.EXPORT_FORMATS)}."]})
    return fmt, exporting.EXPORT_FORMATS[fmt][1]


def export_response(stream: Any, fmt: str, name: str) -> StreamingHttpResponse:
    """A streamed export download named ``name``."""
    response = StreamingHttpResponse(stream, content_type=exporting.EXPORT_FORMATS[fmt][0])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class Export(APIView):
    """Every item with data, metadata, all annotations and its reference label, streamed."""

    content_negotiation_class = FormatIsOurs
    renderer_classes = [JSONRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(exporting.EXPORT_FORMATS),
                description="csv (default), jsonl, parquet, label-studio",
            ),
            OpenApiParameter(
                "augmented",
                str,
                enum=["include", "exclude", "only"],
                description="Augmented items: include them (default), leave them out, or "
                "export only them.",
            ),
            OpenApiParameter(
                "version",
                int,
                description="A frozen version's number: its items as they were then, the same "
                "bytes every time (Parquet: the frozen file itself; Label Studio task ids: the "
                "items' positions in the version).",
            ),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, dataset_id: int) -> StreamingHttpResponse:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        fmt, suffix = export_format(request)
        augmented = request.query_params.get("augmented", "include")
        if augmented not in ("include", "exclude", "only"):
            raise ValidationError({"augmented": ["include, exclude or only."]})
        name = f"dataset-{dataset.pk}.{suffix}"
        if "version" in request.query_params:
            version = versions.version_get(
                dataset_id=dataset.pk, number=request.query_params["version"]
            )
            stream = versions.version_export_stream(version=version, fmt=fmt, augmented=augmented)
            name = f"dataset-{dataset.pk}-v{version.number}.{suffix}"
        else:
            stream = exporting.export_stream(
                fmt,
                selectors.export_chunks(dataset=dataset, augmented=augmented),
                data_fields=dataset.data_fields,
                metadata_fields=dataset.metadata_fields,
            )
        return export_response(stream, fmt, name)


class NextItemSerializer(serializers.Serializer):
    item = BlindItemSerializer()
    reserved_until = serializers.DateTimeField(
        help_text="The item is held for you until then; submit or skip it before."
    )
    progress = serializers.DictField(child=serializers.IntegerField())


class NextItem(APIView):
    """The next item for you to label, reserved for you (204 when nothing is left for you).

    Offered: items with fewer labels than the dataset's annotators per item (counting other
    labellers' live reservations), that you have neither labelled nor skipped; breadth-first
    by default (the fullest items first)."""

    @extend_schema(responses={200: NextItemSerializer, 204: None})
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id)
        nxt = assignment.next_item_reserve(dataset=dataset, user=request.user)
        if nxt.item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(
            {
                "item": BlindItemSerializer(nxt.item).data,
                "reserved_until": nxt.expires_at,
                "progress": nxt.progress,
            }
        )


class SkipInputSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SkipList(APIView):
    """Skip an item (with an optional reason): it is not offered to you again."""

    @extend_schema(request=SkipInputSerializer, responses={201: SkipInputSerializer})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id)
        serializer = SkipInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        skip = assignment.item_skip(
            dataset=dataset,
            user=request.user,
            item_id=serializer.validated_data["item"],
            reason=serializer.validated_data.get("reason", ""),
        )
        return Response(
            {"item": skip.item_id, "reason": skip.reason}, status=status.HTTP_201_CREATED
        )


class TagInputSerializer(serializers.Serializer[Any]):
    tag = serializers.CharField(help_text="A short reason, e.g. 'blurry' or 'car noise'.")
    items = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=False, max_length=100_000
    )


class TagList(APIView):
    """Error tags of a dataset's items, with how many items carry each (owners and
    reviewers). POST ``{tag, items: [id, …]}`` tags items; error analysis makes a slice of
    every tag. ``GET …/items/?tag=`` lists the items of a tag."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        return Response({"tags": selectors.tag_counts(dataset_id=dataset.pk)})

    @extend_schema(request=TagInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = TagInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = services.item_tags_add(
            dataset=dataset,
            item_ids=serializer.validated_data["items"],
            tag=serializer.validated_data["tag"],
            user=request.user,
        )
        return Response({"tagged": added}, status=status.HTTP_201_CREATED)


class ItemTagDetail(APIView):
    """Remove one tag from an item."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, dataset_id: int, item_id: int, tag: str) -> Response:
        dataset, _ = dataset_for(request, dataset_id, OWNER)
        if not services.item_tag_remove(dataset=dataset, item_id=item_id, tag=tag):
            raise NotFound(f"Item {item_id} has no tag '{tag}'.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    parent = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()
    note = serializers.CharField()
    digest = serializers.CharField(
        help_text="sha256 over the items in id order: external_id, data, metadata, origin, "
        "parent and reference label (see labeling.versions)."
    )
    items = serializers.IntegerField(source="item_count")
    labelled_items = serializers.IntegerField(source="labelled_count")
    annotations = serializers.IntegerField(source="annotation_count")
    label_distribution = serializers.JSONField()
    data_fields = serializers.JSONField()
    metadata_fields = serializers.JSONField()
    file_size = serializers.IntegerField()
    file = serializers.SerializerMethodField()
    dataset_state = serializers.JSONField()
    quality = serializers.JSONField()
    job = serializers.IntegerField(source="job_id", allow_null=True)

    def get_parent(self, version: Any) -> int | None:
        return version.parent.number if version.parent else None

    def get_created_by(self, version: Any) -> str | None:
        return version.created_by.get_username() if version.created_by else None

    def get_file(self, version: Any) -> str:
        return reverse("api-version-file", args=[version.dataset_id, version.number])


class FreezeInputSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="What this version is."
    )


class VersionList(APIView):
    """Frozen versions of a dataset, newest first (owners and reviewers). POST ``{note}``
    freezes the dataset as it is now: a ``freeze_version`` job (202); its result names the new
    version. Versions are never changed or deleted."""

    @extend_schema(responses={200: VersionSerializer(many=True)})
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        return Response(
            VersionSerializer(versions.versions_of(dataset_id=dataset.pk), many=True).data
        )

    @extend_schema(
        request=FreezeInputSerializer,
        responses={202: inline_serializer("FreezeQueued", {"job": JobSerializer()})},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        serializer = FreezeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = job_create(
            kind="freeze_version",
            params={"note": serializer.validated_data.get("note", "")},
            dataset=dataset,
            created_by=request.user,
        )
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class VersionDetail(APIView):
    """One frozen version: digest, counts, label distribution, the dataset's state and the
    quality figures when it was frozen."""

    serializer_class = VersionSerializer

    def get(self, request: Request, dataset_id: int, number: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        version = versions.version_get(dataset_id=dataset.pk, number=number)
        return Response(VersionSerializer(version).data)


class VersionFile(APIView):
    """The version's frozen Parquet file, as written when it was frozen."""

    content_negotiation_class = FormatIsOurs
    renderer_classes = [JSONRenderer]

    @extend_schema(responses={(200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY})
    def get(self, request: Request, dataset_id: int, number: int) -> StreamingHttpResponse:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        version = versions.version_get(dataset_id=dataset.pk, number=number)
        response = export_response(
            versions.version_file_chunks(version=version),
            "parquet",
            f"dataset-{dataset.pk}-v{version.number}.parquet",
        )
        response["Content-Length"] = str(version.file_size)
        return response


class VersionCompare(APIView):
    """What changed from version ``a`` to version ``b``: items added, removed and changed (data
    or metadata, by external id), reference labels changed with who changed them and why (the
    label event log between the two), and the label distribution of each with its shift.
    Counts are exact; each list holds the first 200 examples."""

    @extend_schema(
        parameters=[
            OpenApiParameter("a", int, required=True, description="The earlier version."),
            OpenApiParameter("b", int, required=True, description="The later version."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        params = request.query_params
        return Response(
            versions.versions_compare(dataset_id=dataset.pk, a=params.get("a"), b=params.get("b"))
        )
