"""`manage.py model_run_upload DATASET_ID FILE --name NAME`: store a model's class
probabilities for a dataset's items (the CLI twin of POST /api/v1/datasets/{id}/model-runs/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.management.commands._cli import INPUT_ERRORS, dataset_get, json_option, user_get
from quality.services import model_run_create
from workbench.errors import describe


def read_predictions(
    path: Path, labels: list[str]
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """Predictions from a JSON file (the API's body, or just its ``predictions`` list) or from a
    CSV/TSV/Parquet table with an ``item`` or ``external_id`` column and one column per label.
    Returns the entries and the class order they use (None: the dataset's)."""
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl"):
        try:
            body = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}.") from exc
        entries = body.get("predictions") if isinstance(body, dict) else body
        order = body.get("labels") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise CommandError(f"{path} holds no list of predictions.")
        return entries, order
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(
                path, sep="\t" if suffix == ".tsv" else ",", dtype={"external_id": str}
            )
    except (OSError, ValueError) as exc:
        raise CommandError(f"Can't read {path}: {exc}.") from exc
    key = "item" if "item" in frame.columns else "external_id"
    if key not in frame.columns:
        raise CommandError(f"{path} needs an `item` or `external_id` column.")
    missing = [name for name in labels if name not in frame.columns]
    if missing:
        raise CommandError(f"{path} needs one column per label; missing: {', '.join(missing)}.")
    keys = frame[key].tolist()
    probs = frame[labels].to_numpy(dtype=float).tolist()
    entries = [{key: k, "probabilities": p} for k, p in zip(keys, probs, strict=True)]
    return entries, None


class Command(BaseCommand):
    help = (
        "Store a model's out-of-sample class probabilities for a dataset's items as a model run "
        "(JSON like the API's body, or a CSV/TSV/Parquet table: item or external_id, and one "
        "column per label). Nothing is stored if any row is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id", type=int)
        parser.add_argument("file", type=Path)
        parser.add_argument("--name", required=True)
        parser.add_argument("--model-version", dest="run_version", default="")
        parser.add_argument(
            "--trained-on", default="", help="The dataset version it was trained on."
        )
        parser.add_argument("--hyperparameters", help="JSON object.")
        parser.add_argument("--user", help="Recorded as the run's creator.")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = dataset_get(options["dataset_id"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}.")
        labels = list(dataset.labels.order_by("position", "id").values_list("name", flat=True))
        entries, order = read_predictions(path, labels)
        hyperparameters = json_option(options["hyperparameters"], "--hyperparameters") or {}
        user = user_get(options["user"]) if options["user"] else None
        try:
            run = model_run_create(
                dataset=dataset,
                created_by=user,
                name=options["name"],
                version=options["run_version"],
                trained_on=options["trained_on"],
                hyperparameters=hyperparameters,
                predictions=entries,
                labels=order,
            )
        except INPUT_ERRORS as exc:
            raise CommandError(describe(exc)) from exc
        self.stdout.write(
            f"Model run {run.pk}: {run.prediction_count:,} predictions"
            + (f", {run.renormalised_count:,} rows renormalised" if run.renormalised_count else "")
            + "."
        )
