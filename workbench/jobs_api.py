"""REST API v1 for jobs: start one on a dataset, follow it, cancel it, run it again."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import STAFF, dataset_for
from labeling.models import Membership
from workbench import jobs
from workbench.api import IdCursorPagination
from workbench.models import Job
from workbench.serializers import JobRequestSerializer, JobSerializer


def _job_for(request: Request, job_id: int, *, write: bool = False) -> Job:
    job = get_object_or_404(Job.objects.select_related("dataset"), pk=job_id)
    role = (
        Membership.objects.filter(dataset_id=job.dataset_id, user=request.user)
        .values_list("role", flat=True)
        .first()
        if job.dataset_id
        else ("owner" if job.created_by_id == request.user.pk else None)
    )
    if role is None:
        raise NotFound("No such job.")
    if role not in STAFF:
        # Results hold labels and reports that annotators, labelling blind, don't see.
        raise PermissionDenied(
            "Only owners and reviewers can change jobs."
            if write
            else "Only the dataset's owners and reviewers see its jobs."
        )
    return job


def _owners_only_message(kind: str) -> str:
    return f"Only the dataset's owners run {kind} jobs: they change its items."


class DatasetJobList(APIView):
    """Jobs of a dataset (newest first); POST {kind, params} starts one."""

    serializer_class = JobSerializer

    def get(self, request: Request, dataset_id: int) -> Response:
        dataset, _ = dataset_for(request, dataset_id, STAFF)
        jobs.jobs_reap_stale()
        return Response(JobSerializer(Job.objects.filter(dataset=dataset)[:100], many=True).data)

    @extend_schema(request=JobRequestSerializer, responses={202: JobSerializer})
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset, role = dataset_for(request, dataset_id, STAFF)
        serializer = JobRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind = serializer.validated_data["kind"]
        if role != "owner" and jobs.kind_for_owners_only(kind):
            raise PermissionDenied(_owners_only_message(kind))
        job = jobs.job_create(
            kind=serializer.validated_data["kind"],
            params=serializer.validated_data["params"],
            dataset=dataset,
            created_by=request.user,
        )
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class NewestFirst(IdCursorPagination):
    ordering = "-id"


class JobList(generics.ListAPIView):
    """Every job of the datasets you belong to, newest first."""

    serializer_class = JobSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Job]:
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        jobs.jobs_reap_stale()
        return Job.objects.filter(
            dataset__memberships__user=self.request.user,
            dataset__memberships__role__in=STAFF,
        )


class JobDetail(APIView):
    """A job's status, progress and result, with its lineage: the parameters, the code version
    it ran, the dataset's state when it started and ``dataset_version``, the number of the
    frozen version whose data it read (null: live data no version froze)."""

    serializer_class = JobSerializer

    def get(self, request: Request, job_id: int) -> Response:
        from labeling.versions import job_versions

        jobs.jobs_reap_stale()
        job = _job_for(request, job_id)
        version = job_versions(job.dataset_id, [job])[job.pk]
        return Response({**JobSerializer(job).data, "dataset_version": version})


class JobCancel(APIView):
    serializer_class = JobSerializer

    @extend_schema(request=None, responses=JobSerializer)
    def post(self, request: Request, job_id: int) -> Response:
        job = jobs.job_cancel(job=_job_for(request, job_id, write=True))
        return Response(JobSerializer(job).data)


class JobRerun(APIView):
    serializer_class = JobSerializer

    @extend_schema(request=None, responses={202: JobSerializer})
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id, write=True)
        owner = Membership.objects.filter(
            dataset_id=job.dataset_id, user=request.user, role="owner"
        ).exists()
        if jobs.kind_for_owners_only(job.kind) and not owner:
            raise PermissionDenied(_owners_only_message(job.kind))
        if job.kind == "import":
            return Response(
                {"detail": "Import jobs can't be re-run; upload the file again."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        new = jobs.job_rerun(job=job, created_by=request.user)
        return Response(JobSerializer(new).data, status=status.HTTP_202_ACCEPTED)
