"""`manage.py dataset_import DATASET_ID PATH --user USER`: import a file, whatever its size, now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling import formats, services
from labeling.management.commands._cli import (
    INPUT_ERRORS,
    dataset_get,
    json_option,
    user_get,
    validation_message,
)


class Command(BaseCommand):
    help = (
        "Import a CSV, TSV, JSONL, Parquet or Label Studio file into a dataset, with its "
        "provenance. Runs to the end here (large files too); all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id", type=int)
        parser.add_argument("path", help="The file to import.")
        parser.add_argument("--user", required=True, help="Username recorded as the uploader.")
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=formats.FORMATS,
            help="The file's format (default: from the file name's suffix).",
        )
        parser.add_argument(
            "--mapping",
            help='Which column plays which role, as JSON: {"external_id": "id", "data": '
            '["text"], "label": "answer", "labeller": "worker"}.',
        )
        parser.add_argument("--source", default="", help="Where the data came from, in a sentence.")
        parser.add_argument(
            "--default-metadata", help='Metadata for every item, as JSON: {"source": "web"}.'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = dataset_get(options["dataset_id"])
        user = user_get(options["user"])
        mapping = json_option(options["mapping"], "--mapping")
        default_metadata = json_option(options["default_metadata"], "--default-metadata")
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"There is no file {path}.")
        try:
            with path.open("rb") as fh:
                # Streamed from disk: import_create reads it in chunks to hash and store it.
                upload = UploadedFile(file=fh, name=path.name, size=path.stat().st_size)
                batch, job = services.import_create(
                    dataset=dataset,
                    upload=upload,
                    uploaded_by=user,
                    file_format=options["file_format"],
                    mapping=mapping,
                    source=options["source"],
                    default_metadata=default_metadata,
                    run_inline=True,
                )
        except INPUT_ERRORS as exc:
            raise CommandError(validation_message(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Can't read {path}: {exc.strerror}.") from exc
        summary = batch.summary or {}
        lines = [
            f"Imported {batch.file_name} into '{dataset.name}' (id {dataset.pk}): "
            f"{batch.row_count:,} rows, {batch.item_count:,} new items, "
            f"{batch.annotation_count:,} annotations.",
            f"Import batch {batch.pk}, job {job.pk}; format {batch.file_format}, "
            f"one row per {'annotation' if summary.get('shape') == 'annotations' else 'item'}.",
        ]
        if summary.get("labels_created"):
            lines.append(f"New labels: {', '.join(summary['labels_created'])}.")
        self.stdout.write("\n".join(lines))
