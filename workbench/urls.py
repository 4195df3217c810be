"""URLs: pages, the admin, REST API v1 and its OpenAPI docs."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from labeling import api as labeling_api
from labeling import item_views
from labeling import views as labeling_views
from quality import api as quality_api
from quality import (
    augment_views,
    data_quality_views,
    drift_views,
    lineage_views,
    slice_views,
)
from quality import views as quality_views
from workbench import errors_views, jobs_api
from workbench.auth import TokenCreate

api_v1 = [
    path("auth/token/", TokenCreate.as_view(), name="api-token"),
    path("datasets/", labeling_api.DatasetList.as_view(), name="api-datasets"),
    path("datasets/<int:dataset_id>/", labeling_api.DatasetDetail.as_view(), name="api-dataset"),
    path(
        "datasets/<int:dataset_id>/members/", labeling_api.MemberList.as_view(), name="api-members"
    ),
    path(
        "datasets/<int:dataset_id>/members/<int:member_id>/",
        labeling_api.MemberDetail.as_view(),
        name="api-member",
    ),
    path(
        "datasets/<int:dataset_id>/imports/", labeling_api.ImportList.as_view(), name="api-imports"
    ),
    path(
        "datasets/<int:dataset_id>/imports/<int:batch_id>/",
        labeling_api.ImportDetail.as_view(),
        name="api-import",
    ),
    path("datasets/<int:dataset_id>/items/", labeling_api.ItemList.as_view(), name="api-items"),
    path("datasets/<int:dataset_id>/tags/", labeling_api.TagList.as_view(), name="api-tags"),
    path(
        "datasets/<int:dataset_id>/versions/",
        labeling_api.VersionList.as_view(),
        name="api-versions",
    ),
    path(
        "datasets/<int:dataset_id>/versions/compare/",
        labeling_api.VersionCompare.as_view(),
        name="api-version-compare",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/",
        labeling_api.VersionDetail.as_view(),
        name="api-version",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/file/",
        labeling_api.VersionFile.as_view(),
        name="api-version-file",
    ),
    path(
        "datasets/<int:dataset_id>/items/<int:item_id>/tags/<str:tag>/",
        labeling_api.ItemTagDetail.as_view(),
        name="api-item-tag",
    ),
    path(
        "datasets/<int:dataset_id>/items/<int:item_id>/",
        labeling_api.ItemDetail.as_view(),
        name="api-item",
    ),
    path(
        "datasets/<int:dataset_id>/annotations/",
        labeling_api.AnnotationList.as_view(),
        name="api-annotations",
    ),
    path("datasets/<int:dataset_id>/export/", labeling_api.Export.as_view(), name="api-export"),
    path(
        "datasets/<int:dataset_id>/next-item/",
        labeling_api.NextItem.as_view(),
        name="api-next-item",
    ),
    path("datasets/<int:dataset_id>/skips/", labeling_api.SkipList.as_view(), name="api-skips"),
    path(
        "datasets/<int:dataset_id>/jobs/",
        jobs_api.DatasetJobList.as_view(),
        name="api-dataset-jobs",
    ),
    path(
        "datasets/<int:dataset_id>/agreement/",
        quality_api.Agreement.as_view(),
        name="api-agreement",
    ),
    path(
        "datasets/<int:dataset_id>/labellers/",
        quality_api.LabellerQuality.as_view(),
        name="api-labellers",
    ),
    path(
        "datasets/<int:dataset_id>/consensus/",
        quality_api.ConsensusList.as_view(),
        name="api-consensus",
    ),
    path(
        "datasets/<int:dataset_id>/disagreements/",
        quality_api.Disagreements.as_view(),
        name="api-disagreements",
    ),
    path(
        "datasets/<int:dataset_id>/decisions/",
        quality_api.Decisions.as_view(),
        name="api-decisions",
    ),
    path(
        "datasets/<int:dataset_id>/decisions/accept-unanimous/",
        quality_api.AcceptUnanimous.as_view(),
        name="api-accept-unanimous",
    ),
    path(
        "datasets/<int:dataset_id>/model-runs/",
        quality_api.ModelRuns.as_view(),
        name="api-model-runs",
    ),
    path(
        "datasets/<int:dataset_id>/label-issues/",
        quality_api.LabelIssues.as_view(),
        name="api-label-issues",
    ),
    path(
        "datasets/<int:dataset_id>/label-issues/accept/",
        quality_api.LabelIssuesAccept.as_view(),
        name="api-label-issues-accept",
    ),
    path(
        "datasets/<int:dataset_id>/label-issues/<int:issue_id>/decide/",
        quality_api.LabelIssueDecide.as_view(),
        name="api-label-issue-decide",
    ),
    path("datasets/<int:dataset_id>/slices/", quality_api.Slices.as_view(), name="api-slices"),
    path(
        "datasets/<int:dataset_id>/slices/<int:number>/items/",
        quality_api.SliceItems.as_view(),
        name="api-slice-items",
    ),
    path(
        "datasets/<int:dataset_id>/slices/<int:number>/export/",
        quality_api.SliceExport.as_view(),
        name="api-slice-export",
    ),
    path(
        "datasets/<int:dataset_id>/slice-rules/",
        quality_api.SliceRules.as_view(),
        name="api-slice-rules",
    ),
    path(
        "datasets/<int:dataset_id>/slice-rules/<int:rule_id>/",
        quality_api.SliceRuleDetail.as_view(),
        name="api-slice-rule",
    ),
    path(
        "datasets/<int:dataset_id>/augment/preview/",
        quality_api.AugmentPreview.as_view(),
        name="api-augment-preview",
    ),
    path("augment/recipes/", quality_api.AugmentRecipes.as_view(), name="api-augment-recipes"),
    path("datasets/<int:dataset_id>/drift/", quality_api.Drift.as_view(), name="api-drift"),
    path(
        "datasets/<int:dataset_id>/quality-rules/",
        quality_api.DataRulesView.as_view(),
        name="api-quality-rules",
    ),
    path(
        "datasets/<int:dataset_id>/quality-report/",
        quality_api.DataQualityReport.as_view(),
        name="api-quality-report",
    ),
    path(
        "datasets/<int:dataset_id>/drift/<int:job_id>/",
        quality_api.DriftReport.as_view(),
        name="api-drift-report",
    ),
    path("jobs/", jobs_api.JobList.as_view(), name="api-jobs"),
    path("jobs/<int:job_id>/", jobs_api.JobDetail.as_view(), name="api-job"),
    path("jobs/<int:job_id>/cancel/", jobs_api.JobCancel.as_view(), name="api-job-cancel"),
    path("jobs/<int:job_id>/rerun/", jobs_api.JobRerun.as_view(), name="api-job-rerun"),
]

urlpatterns = [
    path("", labeling_views.home, name="home"),
    path("datasets/<int:dataset_id>/", labeling_views.dataset_overview, name="dataset"),
    path("datasets/<int:dataset_id>/label/", labeling_views.label, name="label"),
    path("datasets/<int:dataset_id>/items/<int:item_id>/", item_views.item_page, name="item"),
    path("datasets/<int:dataset_id>/review/", labeling_views.review, name="review"),
    path("datasets/<int:dataset_id>/versions/", labeling_views.versions_page, name="versions"),
    path(
        "datasets/<int:dataset_id>/versions/compare/",
        labeling_views.version_compare_page,
        name="version-compare",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/",
        labeling_views.version_page,
        name="version",
    ),
    path("datasets/<int:dataset_id>/agreement/", quality_views.agreement_page, name="agreement"),
    path("datasets/<int:dataset_id>/labellers/", quality_views.labellers_page, name="labellers"),
    path("datasets/<int:dataset_id>/augment/", augment_views.augment_page, name="augment"),
    path("datasets/<int:dataset_id>/drift/", drift_views.drift_page, name="drift"),
    path("datasets/<int:dataset_id>/lineage/", lineage_views.lineage_page, name="lineage"),
    path(
        "datasets/<int:dataset_id>/data-quality/",
        data_quality_views.data_quality_page,
        name="data-quality",
    ),
    path("datasets/<int:dataset_id>/jobs/", quality_views.jobs_page, name="jobs"),
    path("datasets/<int:dataset_id>/slices/", slice_views.slices_page, name="slices"),
    path(
        "datasets/<int:dataset_id>/slices/<int:number>/",
        slice_views.slice_items_page,
        name="slice-items",
    ),
    path(
        "datasets/<int:dataset_id>/label-issues/",
        quality_views.label_issues_page,
        name="label-issues",
    ),
    path("datasets/<int:dataset_id>/import/", labeling_views.dataset_import, name="dataset-import"),
    path(
        "datasets/<int:dataset_id>/files/<path:path>",
        labeling_views.dataset_file,
        name="dataset-file",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI sets inline styles; scripts stay strictly same-origin.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
    path("favicon.ico", RedirectView.as_view(url="/static/workbench/favicon.svg")),
    path("healthz", errors_views.health, name="health"),
]

# JSON under /api/, pages elsewhere.
handler400 = "workbench.errors_views.bad_request"
handler403 = "workbench.errors_views.permission_denied"
handler404 = "workbench.errors_views.page_not_found"
handler500 = "workbench.errors_views.server_error"
