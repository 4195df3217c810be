"""Datasets, their items with provenance, labels, labellers, annotations and review decisions."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    REVIEWER = "reviewer", "Reviewer"
    ANNOTATOR = "annotator", "Annotator"


class TaskType(models.TextChoices):
    SINGLE_LABEL = "single_label", "Single-label classification"


class Assignment(models.TextChoices):
    BREADTH_FIRST = "breadth_first", "Breadth-first: finish items before starting new ones"
    SEQUENTIAL = "sequential", "Sequential: in import order"
    RANDOM = "random", "Random (seeded)"
    ACTIVE_LEARNING = "active_learning", "Active learning: what helps most first (CROWDLAB)"


class ConsensusMethod(models.TextChoices):
    MAJORITY_VOTE = "majority_vote", "Majority vote"
    DAWID_SKENE = "dawid_skene", "Dawid–Skene"
    CROWDLAB = "crowdlab", "CROWDLAB (labels + a model run)"


class Dataset(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_type = models.CharField(
        max_length=32, choices=TaskType.choices, default=TaskType.SINGLE_LABEL
    )
    guidelines = models.TextField(blank=True)
    guidelines_version = models.PositiveIntegerField(default=1)
    annotators_per_item = models.PositiveSmallIntegerField(default=1)
    assignment = models.CharField(
        max_length=16, choices=Assignment.choices, default=Assignment.BREADTH_FIRST
    )
    assignment_seed = models.PositiveIntegerField(default=0)
    # The label set's order is a scale (e.g. 1-5 stars): agreement is also measured as ordinal
    # and interval data.
    labels_ordered = models.BooleanField(default=False)
    consensus_method = models.CharField(
        max_length=16, choices=ConsensusMethod.choices, default=ConsensusMethod.MAJORITY_VOTE
    )
    # The fitted consensus model of the latest agreement job, so that new answers get the same
    # consensus without refitting: {"method", "job", "label_ids", "priors"} (Dawid-Skene; the
    # labellers' confusion matrices are on Labeller.confusion).
    consensus_model = models.JSONField(null=True, blank=True)
    # The union of field names seen in items' data and metadata (kept up to date by imports),
    # so that exports know their columns without scanning the items.
    data_fields = models.JSONField(default=list, blank=True)
    metadata_fields = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    hotkey = models.CharField(max_length=1, blank=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["dataset", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="label_name_unique"),
            models.UniqueConstraint(
                fields=["dataset", "hotkey"], condition=~Q(hotkey=""), name="label_hotkey_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.dataset}"


class Labeller(models.Model):
    """Whoever gave labels in a dataset: a user of the workbench, or an identity that exists only
    in imported data (a crowd worker id, a model's pre-labels)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="labellers")
    name = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # From the latest agreement job: agreement with the leave-one-out consensus (0 to 1), which
    # breaks majority-vote ties, and the Dawid-Skene confusion matrix (true x given, rows sum to
    # 1, in Dataset.consensus_model's label order).
    reliability = models.FloatField(null=True, blank=True)
    confusion = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="labeller_name_unique"),
            models.UniqueConstraint(
                fields=["dataset", "user"],
                condition=Q(user__isnull=False),
                name="labeller_user_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def import_storage() -> Storage:
    """Uploaded import files stay on local disk (they are read by path: COPY, Arrow), even when
    imported images go to a bucket."""
    return storages["imports"]


class ImportBatch(models.Model):
    """Provenance of one import: who brought which file, when, and what became of it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="import_batches")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to="imports/%Y/%m/", storage=import_storage, blank=True)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=16)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    source = models.TextField(blank=True, help_text="Where the data came from, in a sentence.")
    mapping = models.JSONField(default=dict, blank=True)
    default_metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    row_count = models.PositiveIntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0)
    annotation_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.file_name} → {self.dataset}"


class Origin(models.TextChoices):
    IMPORTED = "imported", "Imported"
    AUGMENTED = "augmented", "Augmented"
    CREATED = "created", "Created"


class Item(models.Model):
    # Indexes and checked constraints are few on purpose: each costs a lookup per row of a
    # million-row import (the dataset check alone was a fifth of it). The dataset is covered by
    # the (dataset, external_id) and (dataset, id) indexes, and its items are deleted with it by
    # services.dataset_delete (or the ORM's cascade).
    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,
        db_constraint=False,
    )
    external_id = models.CharField(max_length=255)
    data = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=32)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.IMPORTED)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        db_index=False,
    )
    recipe = models.JSONField(null=True, blank=True)
    # Provenance links without a database constraint: a constraint costs a lookup per row of
    # a million-row import, and the services keep these links (batches go with their dataset).
    import_batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        db_constraint=False,
    )
    # Denormalised for fast filtering and assignment; kept current by the label services.
    annotation_count = models.PositiveIntegerField(default=0)
    # No database constraint: a full consensus run rewrites every item's reference label, and
    # the constraint's check cost a lookup per row (a second on 300,000 items). Labels are only
    # deleted through the ORM, which nulls this link (SET_NULL).
    reference_label = models.ForeignKey(
        Label,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    reference_method = models.CharField(max_length=32, blank=True)
    reference_confidence = models.FloatField(null=True, blank=True)
    # Labelling priority under active-learning assignment (lower: label it sooner), written by
    # the active_learning job; null when the job hasn't scored the item.
    priority = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="item_external_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["dataset", "id"], name="item_dataset_id_idx"),
            # next-item: the items still needing labels, fullest first (breadth-first).
            models.Index(fields=["dataset", "-annotation_count", "id"], name="item_assignment_idx"),
            # Only augmented items have a parent: a partial index costs imports nothing.
            models.Index(
                fields=["parent"], name="item_parent_idx", condition=Q(parent__isnull=False)
            ),
            # next-item under active learning: only scored items are in it.
            models.Index(
                fields=["dataset", "priority", "id"],
                name="item_priority_idx",
                condition=Q(priority__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class AnnotationSource(models.TextChoices):
    HUMAN = "human", "Human (in the workbench)"
    IMPORTED = "imported", "Imported"
    PRELABEL = "prelabel", "Pre-label (model prediction)"


class Annotation(models.Model):
    # item and labeller are covered by the (item, labeller) and (labeller, item) indexes.
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    labeller = models.ForeignKey(
        Labeller, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="annotations")
    source = models.CharField(
        max_length=16, choices=AnnotationSource.choices, default=AnnotationSource.HUMAN
    )
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="annotations",
        db_constraint=False,
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "labeller"], name="annotation_unique")
        ]
        indexes = [models.Index(fields=["labeller", "item"], name="annotation_labeller_idx")]

    def __str__(self) -> str:
        return f"{self.labeller_id}: {self.label_id} on {self.item_id}"


class Reservation(models.Model):
    """An item handed to a labeller by next-item, held for them until it expires, so that no
    more labellers work on an item than it needs."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_index=False)
    labeller = models.ForeignKey(Labeller, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "labeller"], name="reservation_unique")
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} for {self.labeller_id} until {self.expires_at}"


class Skip(models.Model):
    """A labeller passed on an item (with an optional reason); it is not offered to them again."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="skips", db_index=False)
    labeller = models.ForeignKey(Labeller, on_delete=models.CASCADE, related_name="skips")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "labeller"], name="skip_unique")]

    def __str__(self) -> str:
        return f"item {self.item_id} skipped by {self.labeller_id}"


class LabelEvent(models.Model):
    """Append-only log of every label change: who, when, old → new, why (label lineage)."""

    class Kind(models.TextChoices):
        ANNOTATION = "annotation", "Annotation"
        DECISION = "decision", "Review decision"

    # Only (dataset, id) and (item, id) are indexed, and only the item is a checked constraint:
    # the log grows by one row per label, and each check is a lookup per row.
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="label_events", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    labeller = models.ForeignKey(
        Labeller,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    old_label = models.CharField(max_length=100, blank=True)
    new_label = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    import_batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["item", "id"], name="labelevent_item_idx"),
            models.Index(fields=["dataset", "id"], name="labelevent_dataset_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.old_label or '∅'} → {self.new_label or '∅'} on item {self.item_id}"


class Decision(models.Model):
    """A reviewer's final label for an item; it becomes the item's reference label."""

    class Method(models.TextChoices):
        REVIEW = "review", "Review"
        CLEANLAB = "cleanlab", "Accepted cleanlab suggestion"
        CONSENSUS = "consensus", "Accepted consensus"

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="decision")
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.REVIEW)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"item {self.item_id}: {self.label_id} ({self.method})"


class ItemTag(models.Model):
    """A reviewer's reason tag on an item ("blurry", "car noise", "ambiguous guideline"): error
    analysis builds slices from tags, as in the lecture's spreadsheet."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "tag"]
        constraints = [models.UniqueConstraint(fields=["item", "tag"], name="itemtag_unique")]
        indexes = [models.Index(fields=["dataset", "tag"], name="itemtag_dataset_tag_idx")]

    def __str__(self) -> str:
        return f"{self.tag} on item {self.item_id}"


class DatasetVersion(models.Model):
    """A frozen dataset: every item with its reference label and annotations as a Parquet file,
    a digest of its content, counts, and the quality figures of the moment. Made only by the
    ``freeze_version`` job (``labeling.versions``); never changed or deleted by the app."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    # The freeze_version job that made it: a retried job finds its version instead of making
    # a second one.
    job = models.ForeignKey(
        "workbench.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    note = models.TextField(blank=True)
    # sha256 over the items and their reference labels (definition: labeling.versions).
    digest = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField()
    labelled_count = models.PositiveIntegerField()
    annotation_count = models.PositiveBigIntegerField()
    # [{"label": name, "items": n}] by reference label, in the dataset's label order.
    label_distribution = models.JSONField(default=list, blank=True)
    # The export columns at freeze time, so that a CSV of the version never changes.
    data_fields = models.JSONField(default=list, blank=True)
    metadata_fields = models.JSONField(default=list, blank=True)
    file = models.FileField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    # selectors.dataset_state at freeze time: a job with the same state read this version.
    dataset_state = models.JSONField(default=dict, blank=True)
    # The latest agreement figures, open label issues and top slices when it was frozen.
    quality = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "number"], name="datasetversion_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} v{self.number}"
