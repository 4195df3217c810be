"""`manage.py demo_load`: users and a labelled demo dataset to explore the workbench with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count

from labeling import demo, selectors, services
from labeling.management.commands._cli import INPUT_ERRORS, validation_message
from labeling.models import Dataset, Item, Labeller, Role

URL = "http://127.0.0.1:8000/"
DEMO_FILE_NAME = "product-reviews-demo.csv"
DEMO_MAPPING = {
    "external_id": "external_id",
    "data": ["text"],
    "metadata": list(demo.CSV_COLUMNS[2:8]),
    "labeller": "labeller",
    "label": "label",
    "time_spent_ms": "time_spent_ms",
    "shape": "annotations",
}


class Command(BaseCommand):
    help = (
        f"Create the demo users and the dataset '{demo.DEMO_DATASET_NAME}' with ~600 generated, "
        "partly labelled product reviews. Does nothing if the dataset exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEMO_SEED,
            help=f"Seed of the generated data (default {demo.DEMO_SEED}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=demo.DEMO_DATASET_NAME).order_by("id").first()
        if dataset is not None:
            self.stdout.write(f"The demo dataset already exists (id {dataset.pk}).")
            self._report(dataset)
            return
        try:
            with transaction.atomic():
                dataset = self._load(options["seed"])
        except INPUT_ERRORS as exc:
            raise CommandError(f"Loading the demo failed. {validation_message(exc)}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Loaded the demo dataset '{dataset.name}' (id {dataset.pk}).")
        )
        self._report(dataset)

    def _load(self, seed: int) -> Dataset:
        owner = self._user(demo.DEMO_OWNER, admin=True)
        for username in (demo.DEMO_REVIEWER, *demo.DEMO_ANNOTATORS):
            self._user(username, admin=False)
        dataset = services.dataset_create(
            name=demo.DEMO_DATASET_NAME,
            created_by=owner,
            description=demo.DEMO_DESCRIPTION,
            labels=[dict(label) for label in demo.DEMO_LABELS],
            guidelines=demo.DEMO_GUIDELINES,
            annotators_per_item=3,
        )
        # Members first, so that the imported labels of alice … erin are theirs.
        services.membership_set(dataset=dataset, username=demo.DEMO_REVIEWER, role=Role.REVIEWER)
        for username in demo.DEMO_ANNOTATORS:
            services.membership_set(dataset=dataset, username=username, role=Role.ANNOTATOR)
        content = demo.rows_to_csv(demo.generate_demo_rows(seed))
        upload = SimpleUploadedFile(DEMO_FILE_NAME, content, content_type="text/csv")
        services.import_create(
            dataset=dataset,
            upload=upload,
            uploaded_by=owner,
            file_format="csv",
            mapping=DEMO_MAPPING,
            source=demo.DEMO_SOURCE,
            run_inline=True,
        )
        return dataset

    def _user(self, username: str, *, admin: bool) -> Any:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is not None:
            # Never reset the password of an account someone may already use.
            self.stderr.write(
                self.style.WARNING(
                    f"The user '{username}' exists already; its password was left as it was."
                )
            )
            return user
        email = f"{username}@example.com"
        if admin:
            return users.create_superuser(username, email, demo.DEMO_PASSWORD)
        return users.create_user(username, email, demo.DEMO_PASSWORD)

    def _report(self, dataset: Dataset) -> None:
        counts = selectors.dataset_progress(dataset_ids=[dataset.pk])[dataset.pk]
        labellers = Labeller.objects.filter(dataset=dataset)
        imported_only = labellers.filter(user__isnull=True).count()
        disagreements = (
            Item.objects.filter(dataset=dataset)
            .annotate(distinct_labels=Count("annotations__label", distinct=True))
            .filter(distinct_labels__gt=1)
            .count()
        )
        partly = counts["labelled"] - counts["complete"]
        others = ", ".join((demo.DEMO_REVIEWER, *demo.DEMO_ANNOTATORS))
        self.stdout.write(
            f"{counts['items']:,} items, {counts['annotations']:,} labels from "
            f"{labellers.count()} labellers ({imported_only} known only from the data); "
            f"{counts['complete']:,} items fully labelled, {partly:,} partly, "
            f"{counts['items'] - counts['labelled']:,} unlabelled; "
            f"{disagreements:,} with disagreement.\n"
            f"Open {URL} and log in as {demo.DEMO_OWNER} / {demo.DEMO_PASSWORD} "
            f"(or {others} with the same password)."
        )
