"""Thin serializers: shape checks and output; writes go through labeling.services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import Annotation, Dataset, ImportBatch, Item, Membership, Role, TaskType


class LabelSerializer(serializers.Serializer):
    name = serializers.CharField()
    hotkey = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "hotkey": {"type": "string"},
                        "description": {"type": "string"},
                    },
                    "required": ["name"],
                },
            ]
        },
        "description": 'Label names, or objects {"name", "hotkey", "description"}. '
        "Hotkeys default to 1–9 in order.",
    }
)
class LabelsField(serializers.Field):
    def to_representation(self, value: Any) -> list[dict[str, str]]:
        return [
            {"name": lab.name, "hotkey": lab.hotkey, "description": lab.description}
            for lab in value.all()
        ]

    def to_internal_value(self, data: Any) -> Any:
        from labeling.services import labels_normalize

        return labels_normalize(data)


class DatasetSerializer(serializers.ModelSerializer):
    labels = LabelsField(required=False)
    role = serializers.SerializerMethodField(help_text="Your role in this dataset.")
    annotators_per_item = serializers.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        help_text="How many labellers label each item (overlap).",
    )
    task_type = serializers.ChoiceField(choices=TaskType.choices, required=False)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "description",
            "task_type",
            "labels",
            "guidelines",
            "guidelines_version",
            "annotators_per_item",
            "assignment",
            "assignment_seed",
            "labels_ordered",
            "consensus_method",
            "data_fields",
            "metadata_fields",
            "role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "guidelines_version",
            "data_fields",
            "metadata_fields",
            "created_at",
            "updated_at",
        ]

    def get_role(self, dataset: Dataset) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(dataset.pk)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, TSV, JSONL, Parquet or Label Studio JSON.")
    format = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="csv, tsv, jsonl, parquet or label-studio; sniffed from the file name if left "
        "out.",
    )
    mapping = serializers.JSONField(
        required=False,
        help_text='Which columns play which role: {"external_id": col, "data": [cols], '
        '"metadata": [cols], "label": col, "labeller": col, "time_spent_ms": col, '
        '"shape": "items"|"annotations"}. Sent as a JSON string in multipart forms.',
    )
    source = serializers.CharField(
        required=False, allow_blank=True, help_text="Where the data came from."
    )
    default_metadata = serializers.JSONField(
        required=False, help_text="Metadata added to every item of this batch."
    )


class ImportBatchSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", default=None)
    format = serializers.CharField(source="file_format")

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "dataset",
            "status",
            "file_name",
            "format",
            "size_bytes",
            "sha256",
            "source",
            "mapping",
            "default_metadata",
            "row_count",
            "item_count",
            "annotation_count",
            "error_count",
            "errors",
            "summary",
            "uploaded_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ItemSerializer(serializers.ModelSerializer):
    reference_label = serializers.CharField(
        source="reference_label.name",
        default=None,
        help_text="The reviewer's decision where one exists, else the consensus label.",
    )
    parent = serializers.CharField(source="parent.external_id", default=None)

    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "data",
            "metadata",
            "origin",
            "import_batch",
            "parent",
            "recipe",
            "content_hash",
            "annotation_count",
            "reference_label",
            "reference_method",
            "reference_confidence",
            "created_at",
        ]
        read_only_fields = fields


class BlindItemSerializer(ItemSerializer):
    """What an annotator sees: the item, not what others said about it."""

    class Meta(ItemSerializer.Meta):
        fields = ["id", "external_id", "data", "metadata", "origin", "created_at"]
        read_only_fields = fields


class AnnotationSerializer(serializers.ModelSerializer):
    labeller = serializers.CharField(source="labeller.name")
    label = serializers.CharField(source="label.name")

    class Meta:
        model = Annotation
        fields = [
            "id",
            "item",
            "labeller",
            "label",
            "source",
            "time_spent_ms",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnnotationInputSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    label = serializers.CharField(max_length=100)
    time_spent_ms = serializers.IntegerField(min_value=0, required=False, allow_null=True)
