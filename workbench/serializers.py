"""Serializers for the job API."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.JSONField):
    pass


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.FloatField(help_text="0–1.")
    progress_message = serializers.CharField()
    params = JSONObjectField()
    result = JSONObjectField(allow_null=True)
    error = serializers.CharField()
    dataset = serializers.IntegerField(source="dataset_id", allow_null=True)
    dataset_state = JSONObjectField()
    code_version = serializers.CharField()
    worker = serializers.CharField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)


class JobRequestSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="agreement, label_issues, baseline_model, active_learning, slices, augment, "
        "drift, data_quality or freeze_version (imports start from POST …/imports/)."
    )
    params = serializers.JSONField(required=False, default=dict)
