"""`manage.py dataset_create NAME --owner USER --labels a,b,c`: create a dataset, print its id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling import services
from labeling.management.commands._cli import (
    INPUT_ERRORS,
    json_option,
    user_get,
    validation_message,
)


class Command(BaseCommand):
    help = "Create a dataset with its labels; the owner becomes its first member. Prints the id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The dataset's name.")
        parser.add_argument("--owner", required=True, help="Username of the owner.")
        labels = parser.add_mutually_exclusive_group()
        labels.add_argument("--labels", help="Label names, comma-separated: cat,dog,bird.")
        labels.add_argument(
            "--labels-json",
            help='Labels as JSON: [{"name": "cat", "hotkey": "c", "description": "…"}, …].',
        )
        parser.add_argument("--description", default="", help="A sentence about the data.")
        parser.add_argument("--guidelines-file", help="A text file with the labelling guidelines.")
        parser.add_argument(
            "--annotators-per-item",
            type=int,
            default=1,
            help="How many labellers should label each item (default 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = user_get(options["owner"])
        labels: Any = []
        if options["labels"] is not None:
            labels = [name.strip() for name in options["labels"].split(",")]
        elif options["labels_json"] is not None:
            labels = json_option(options["labels_json"], "--labels-json")
        guidelines = ""
        if options["guidelines_file"]:
            guidelines = _read_text(Path(options["guidelines_file"]))
        per_item = options["annotators_per_item"]
        if not 1 <= per_item <= 100:
            raise CommandError("--annotators-per-item must be between 1 and 100.")
        name = options["name"].strip()
        if not name or len(name) > 200:
            raise CommandError("The dataset name must have 1 to 200 characters.")
        try:
            dataset = services.dataset_create(
                name=name,
                created_by=owner,
                description=options["description"],
                labels=labels,
                guidelines=guidelines,
                annotators_per_item=per_item,
            )
        except INPUT_ERRORS as exc:
            raise CommandError(validation_message(exc)) from exc
        label_names = ", ".join(dataset.labels.values_list("name", flat=True)) or "none yet"
        self.stderr.write(
            f"Created dataset '{dataset.name}' (id {dataset.pk}) owned by {owner.get_username()}"
            f"; labels: {label_names}."
        )
        self.stdout.write(str(dataset.pk))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CommandError(f"There is no file {path}.") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not UTF-8 text.") from exc
    except OSError as exc:
        raise CommandError(f"Can't read {path}: {exc.strerror}.") from exc
