from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "workbench"
    verbose_name = "Workbench"

    def ready(self) -> None:
        from workbench import jobs

        jobs.load_job_kinds()
