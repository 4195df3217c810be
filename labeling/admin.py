from django.contrib import admin

from labeling.models import (
    Annotation,
    Dataset,
    DatasetVersion,
    Decision,
    ImportBatch,
    Item,
    Label,
    LabelEvent,
    Labeller,
    Membership,
)


class LabelInline(admin.TabularInline):
    model = Label
    extra = 1


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "task_type", "annotators_per_item", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [LabelInline, MembershipInline]
    readonly_fields = [
        "data_fields",
        "metadata_fields",
        "guidelines_version",
        "created_by",
        "consensus_model",
    ]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "dataset",
        "file_name",
        "file_format",
        "status",
        "item_count",
        "annotation_count",
        "uploaded_by",
        "created_at",
    ]
    list_filter = ["status", "file_format"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "external_id", "origin", "annotation_count", "reference_label"]
    list_filter = ["origin"]
    search_fields = ["external_id"]
    raw_id_fields = ["dataset", "parent", "import_batch", "reference_label"]
    show_full_result_count = False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "labeller", "label", "source", "created_at"]
    raw_id_fields = ["item", "labeller", "label", "import_batch"]
    show_full_result_count = False


@admin.register(Labeller)
class LabellerAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "name", "user", "reliability"]
    search_fields = ["name"]
    readonly_fields = ["reliability", "confusion"]


@admin.register(LabelEvent)
class LabelEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "item",
        "kind",
        "labeller",
        "actor",
        "old_label",
        "new_label",
        "created_at",
    ]
    raw_id_fields = ["item", "labeller", "import_batch", "dataset"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # the log is append-only


admin.site.register(Decision)
admin.site.register(Membership)


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    """Frozen versions are immutable: the admin shows them and changes nothing."""

    list_display = ["id", "dataset", "number", "item_count", "digest", "created_by", "created_at"]
    list_select_related = ["dataset", "created_by"]
    readonly_fields = [f.name for f in DatasetVersion._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
