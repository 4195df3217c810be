from django.contrib import admin

from workbench.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "progress",
        "dataset",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]
