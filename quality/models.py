"""Quality models: model runs with their predictions, and the label issues found in them.

Agreement, slice and drift reports are stored as job results (``workbench.models.Job``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from labeling.models import Dataset, Item, Label, import_storage


class ModelRun(models.Model):
    """A model and its class probabilities for a dataset's items: uploaded by a user, or made
    by the baseline-model job (``job``)."""

    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded"
        BASELINE = "baseline", "Baseline model (cross-validated)"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="model_runs")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=100, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)
    # The dataset version the model was trained on, as the uploader names it (frozen dataset
    # versions will make this a link), and the dataset's state when the run was stored.
    trained_on = models.CharField(max_length=200, blank=True)
    dataset_state = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD)
    job = models.ForeignKey(
        "workbench.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The class order of the probabilities: the dataset's label ids, by position.
    label_ids = models.JSONField(default=list)
    prediction_count = models.PositiveIntegerField(default=0)
    renormalised_count = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    # Features the model saw (n x d float32 .npy, rows in prediction item-id order), for
    # Datalab's outlier and near-duplicate checks; only the baseline model keeps them.
    features = models.FileField(upload_to="model-runs/%Y/%m/", storage=import_storage, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


class Prediction(models.Model):
    """One item's class probabilities in a model run (float64, little-endian, in the run's
    class order), with the most probable class and its probability for quick display."""

    model_run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="predictions")
    # Covered by the (model_run, item) unique index; no constraint check per COPY'd row.
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    predicted = models.PositiveSmallIntegerField()
    confidence = models.FloatField()
    probabilities = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_run", "item"], name="prediction_unique")
        ]

    def __str__(self) -> str:
        return f"run {self.model_run_id}, item {self.item_id}"


class LabelIssue(models.Model):
    """A suspected label error (or outlier, near duplicate …) found by a label-issue job."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Suggestion accepted"
        REJECTED = "rejected", "Label kept"
        RELABELLED = "relabelled", "Relabelled"

    job = models.ForeignKey("workbench.Job", on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="label_issues")
    rank = models.PositiveIntegerField()
    issue_type = models.CharField(max_length=32, default="label")
    given_label = models.ForeignKey(
        Label, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    suggested_label = models.ForeignKey(
        Label, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    score = models.FloatField(help_text="Label quality: 0 (surely wrong) to 1 (surely right).")
    confidence = models.FloatField(
        null=True, help_text="The model's probability of the suggested label."
    )
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "rank"]
        indexes = [
            models.Index(fields=["job", "status", "rank"], name="labelissue_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.issue_type} on item {self.item_id}"


class SliceRule(models.Model):
    """A user's slice: a conjunction of conditions ``[field, operator, value]`` on the items'
    metadata or data fields (see ``quality.analysis.slices.rule_mask``), saved per dataset and
    put in every slice table."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="slice_rules")
    name = models.CharField(max_length=200)
    conditions = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="slicerule_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class DataRules(models.Model):
    """The owner's data-quality rules of a dataset (required fields, allowed values, ranges,
    lengths, uniqueness, patterns; see ``quality.analysis.data_quality.validate_rules``),
    checked by every data-quality report."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="data_rules")
    rules = models.JSONField(default=list)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{len(self.rules)} rules of {self.dataset}"
