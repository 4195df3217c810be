"""Job kinds of the quality app."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from labeling.models import ConsensusMethod, Item
from workbench.errors import BadInput
from workbench.jobs import Progress, job_kind, params_checked, params_unknown
from workbench.models import Job


def _model_run(
    dataset: Any, params: dict[str, Any], errors: dict[str, list[str]], needs: str
) -> int | None:
    """The ``model_run`` parameter: a run of this dataset, by default its newest."""
    from quality.models import ModelRun

    runs = ModelRun.objects.filter(dataset=dataset)
    run_id = params.get("model_run")
    if run_id is None:
        run_id = runs.values_list("id", flat=True).first()  # the newest
    if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
        errors["model_run"] = ["A model run's id (a whole number)."]
    elif run_id is None:
        errors["model_run"] = [
            f"{needs} needs a model run of this dataset (its class probabilities): upload one "
            "or run the baseline model first."
        ]
    elif not runs.filter(pk=run_id).exists():
        errors["model_run"] = [f"Model run {run_id} is not one of this dataset's."]
    return run_id


def _validate_agreement(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    method = params.get("consensus_method", dataset.consensus_method)
    if method not in ConsensusMethod.values:
        errors["consensus_method"] = [
            f"Unknown method '{method}'. Choose one of: {', '.join(ConsensusMethod.values)}."
        ]
    cleaned["consensus_method"] = method
    min_shared = params.get("min_shared", 10)
    if not isinstance(min_shared, int) or isinstance(min_shared, bool) or min_shared < 1:
        errors["min_shared"] = ["A whole number of shared items, at least 1."]
    cleaned["min_shared"] = min_shared
    if method == ConsensusMethod.CROWDLAB:
        cleaned["model_run"] = _model_run(dataset, params, errors, "CROWDLAB")
    return params_checked(params, {"consensus_method", "min_shared", "model_run"}, errors, cleaned)


@job_kind(
    "agreement",
    description="Measure labeller agreement and fit the consensus labels.",
    validate=_validate_agreement,
)
def run_agreement(job: Job, progress: Progress) -> dict[str, Any]:
    """Agreement report and consensus for the job's dataset."""
    from quality.services import agreement_run

    assert job.dataset is not None  # noqa: S101 - agreement jobs are created on a dataset
    return agreement_run(dataset=job.dataset, job_id=job.pk, params=job.params, progress=progress)


def _validate_label_issues(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    from quality.models import ModelRun
    from quality.services import FILTER_BY

    errors: dict[str, list[str]] = {}
    run_id = params.get("model_run")
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        errors["model_run"] = ["Name the model run (its id) whose probabilities to use."]
    elif not ModelRun.objects.filter(pk=run_id, dataset=dataset).exists():
        other = ModelRun.objects.filter(pk=run_id).exists()
        errors["model_run"] = [
            f"Model run {run_id} belongs to another dataset."
            if other
            else f"There is no model run {run_id}."
        ]
    filter_by = params.get("filter_by", "prune_by_noise_rate")
    if filter_by not in FILTER_BY:
        errors["filter_by"] = [
            f"Unknown filter_by '{filter_by}'. Choose one of: {', '.join(FILTER_BY)}."
        ]
    include_decided = params.get("include_decided", False)
    if not isinstance(include_decided, bool):
        errors["include_decided"] = ["true or false."]
    return params_checked(
        params,
        {"model_run", "filter_by", "include_decided"},
        errors,
        {"model_run": run_id, "filter_by": filter_by, "include_decided": include_decided},
    )


@job_kind(
    "label_issues",
    description="Find likely label errors with cleanlab from a model run's probabilities.",
    validate=_validate_label_issues,
)
def run_label_issues(job: Job, progress: Progress) -> dict[str, Any]:
    """Label issues of the job's dataset under the named model run."""
    from quality.services import label_issues_run

    assert job.dataset is not None  # noqa: S101 - label-issue jobs are created on a dataset
    return label_issues_run(
        dataset=job.dataset, job_id=job.pk, params=job.params, progress=progress
    )


def _validate_baseline(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    folds = params.get("folds", 5)
    if not isinstance(folds, int) or isinstance(folds, bool) or not 2 <= folds <= 20:
        errors["folds"] = ["A whole number from 2 to 20."]
    seed = params.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        errors["seed"] = ["A whole number, 0 or more."]
    kind = params.get("kind")
    if kind is not None and kind not in ("text", "tabular", "image"):
        errors["kind"] = ["text, tabular or image (default: chosen from the items' data)."]
    return params_checked(
        params,
        {"folds", "seed", "kind"},
        errors,
        {"folds": folds, "seed": seed, **({"kind": kind} if kind else {})},
    )


@job_kind(
    "baseline_model",
    description="Out-of-sample class probabilities by k-fold cross-validation (a model run).",
    validate=_validate_baseline,
)
def run_baseline(job: Job, progress: Progress) -> dict[str, Any]:
    """The baseline model of the job's dataset, stored as a model run."""
    from quality.services import baseline_run

    assert job.dataset is not None  # noqa: S101 - baseline jobs are created on a dataset
    return baseline_run(dataset=job.dataset, job=job, params=job.params, progress=progress)


def _validate_active_learning(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    run_id = _model_run(dataset, params, errors, "Active learning")
    return params_checked(params, {"model_run"}, errors, {"model_run": run_id})


@job_kind(
    "active_learning",
    description="Order the labelling queue by CROWDLAB's active-learning scores.",
    validate=_validate_active_learning,
)
def run_active_learning(job: Job, progress: Progress) -> dict[str, Any]:
    """Labelling priorities of the job's dataset from a model run."""
    from quality.services import active_learning_run

    assert job.dataset is not None  # noqa: S101 - active-learning jobs are created on a dataset
    return active_learning_run(dataset=job.dataset, params=job.params, progress=progress)


def _names(
    params: dict[str, Any], key: str, allowed: list[str], default: list[str], errors: Any
) -> list[str]:
    value = params.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[key] = ["A list of field names."]
        return []
    unknown = [v for v in value if v not in allowed]
    if unknown:
        errors[key] = [
            f"Not fields of this dataset: {', '.join(unknown)}. It has: "
            f"{', '.join(allowed) or 'none'}."
        ]
    return list(dict.fromkeys(value))


def _whole(params: dict[str, Any], key: str, default: int, low: int, high: int, errors: Any) -> int:
    value = params.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[key] = [f"A whole number from {low} to {high}."]
    return value


def _validate_slices(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    from quality.services import IMAGE_FIELDS

    errors: dict[str, list[str]] = {}
    run_id = _model_run(dataset, params, errors, "Slice analysis")
    metadata_fields = list(dataset.metadata_fields)
    text_default = [f for f in dataset.data_fields if f not in IMAGE_FIELDS][:2]
    cleaned = {
        "model_run": run_id,
        "fields": _names(params, "fields", metadata_fields, metadata_fields[:20], errors),
        "text_fields": _names(
            params, "text_fields", list(dataset.data_fields), text_default, errors
        ),
        "numeric_bins": _whole(params, "numeric_bins", 4, 2, 20, errors),
        "max_values": _whole(params, "max_values", 30, 2, 200, errors),
        "min_items": _whole(params, "min_items", 30, 1, 1_000_000, errors),
        "min_labels": _whole(params, "min_labels", 30, 1, 1_000_000, errors),
        "max_level": _whole(params, "max_level", 2, 1, 3, errors),
        "top_k": _whole(params, "top_k", 10, 1, 50, errors),
    }
    for key in ("discover", "rules"):
        value = params.get(key, True)
        if not isinstance(value, bool):
            errors[key] = ["true or false."]
        cleaned[key] = value
    return params_checked(params, set(cleaned), errors, cleaned)


@job_kind(
    "slices",
    description="Slice-level error analysis of a model run against human-level performance.",
    validate=_validate_slices,
)
def run_slices(job: Job, progress: Progress) -> dict[str, Any]:
    """The error-analysis table of the job's dataset under a model run."""
    from quality.services import slices_run

    assert job.dataset is not None  # noqa: S101 - slice jobs are created on a dataset
    return slices_run(dataset=job.dataset, job_id=job.pk, params=job.params, progress=progress)


MAX_AUGMENTED = 200_000  # new items per job


def validate_augment(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of an augmentation: ``recipe`` (a recipe name with ``recipe_params``, a
    step or a list of steps; see quality.analysis.augment), ``target`` (``{"items": [ids]}``,
    ``{"label": name}``, ``{"tag": name}`` or ``{"slice": number, "job": id}``), ``seed``,
    ``variants`` and, for text pairs, the ``field`` to change. Checked against the items."""
    from quality.analysis import augment as aug
    from quality.services import IMAGE_FIELDS, augment_targets, item_kind

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    recipe = params.get("recipe")
    if recipe is None:
        errors["recipe"] = [f"Choose a recipe: {', '.join(aug.RECIPES)}."]
    else:
        try:
            cleaned["recipe"] = aug.validate(recipe, params.get("recipe_params"))
        except aug.AugmentError as exc:
            errors["recipe"] = [f"{str(exc)[:1].upper()}{str(exc)[1:]}."]
    seed = params.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        errors["seed"] = ["A whole number from 0 to 4294967295."]
    cleaned["seed"] = seed
    cleaned["variants"] = _whole(params, "variants", 1, 1, 20, errors)
    target = params.get("target")
    shapes = {"items", "label", "tag", "slice"}
    if not isinstance(target, dict) or len(set(target) & shapes) != 1:
        errors["target"] = [
            'Say what to augment: {"items": [ids]}, {"label": name}, {"tag": name} or '
            '{"slice": number} (a row of the newest slice table; add "job" for another).'
        ]
    elif "items" in target and (
        not isinstance(target["items"], list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in target["items"])
    ):
        errors["target"] = ["items: a list of item ids."]
    elif "slice" in target and (
        not isinstance(target["slice"], int)
        or not (target.get("job") is None or isinstance(target.get("job"), int))
    ):
        errors["target"] = ["slice: a row number of the slice table (and job: its id)."]
    cleaned["target"] = target
    field = params.get("field")
    if field is not None and field not in dataset.data_fields:
        errors["field"] = [f"Not a data field of this dataset: {field}."]
    cleaned["field"] = field
    params_unknown(
        params, {"recipe", "recipe_params", "seed", "variants", "target", "field"}, errors
    )
    if not errors:
        try:
            targets = augment_targets(dataset=dataset, target=dict(target or {}))
        except BadInput as exc:
            raise ValidationError({"target": [exc.message]}) from exc
        if not targets.size:
            errors["target"] = [
                "The target holds no items (augmented items aren't augmented again)."
            ]
        elif targets.size * cleaned["variants"] > MAX_AUGMENTED:
            errors["variants"] = [
                f"{targets.size:,} items × {cleaned['variants']} variants is more than "
                f"{MAX_AUGMENTED:,} new items; aim at fewer items or ask for fewer variants."
            ]
        else:
            sample = list(
                Item.objects.filter(pk__in=targets[:200].tolist()).values_list("data", flat=True)
            )
            kind = item_kind(sample)
            wanted = cleaned["recipe"]["kind"]
            if kind != wanted and not (wanted == "tabular" and kind == "text"):
                errors["recipe"] = [
                    f"A {wanted} recipe can't change {kind} items; choose a {kind} recipe."
                ]
            if kind == "image" and field is not None and field not in IMAGE_FIELDS:
                errors["field"] = ["Image recipes change the item's image."]
    if errors:
        raise ValidationError(errors)
    if cleaned["recipe"]["steps"][0]["recipe"] == "smote":
        cleaned["variants"] = 1
    return cleaned


@job_kind(
    "augment",
    description="Make augmented variants of a slice, a class or chosen items.",
    validate=validate_augment,
    owners_only=True,
)
def run_augment(job: Job, progress: Progress) -> dict[str, Any]:
    """New augmented items for the job's dataset."""
    from quality.services import augment_run

    assert job.dataset is not None  # noqa: S101 - augmentation jobs are created on a dataset
    return augment_run(dataset=job.dataset, job_id=job.pk, params=job.params, progress=progress)


def _drift_sides(dataset: Any, side: Any, key: str, errors: dict[str, list[str]]) -> None:
    from labeling.models import ImportBatch

    shapes = {"dataset", "import_batch", "version", "file"}
    if not isinstance(side, dict) or len(set(side) & shapes) != 1:
        errors[key] = [
            'One of {"dataset": true}, {"import_batch": id}, {"version": number} or a posted file.'
        ]
    elif (
        "import_batch" in side
        and not ImportBatch.objects.filter(
            dataset=dataset, pk=side["import_batch"] if isinstance(side["import_batch"], int) else 0
        ).exists()
    ):
        errors[key] = [f"There is no import batch {side['import_batch']} in this dataset."]
    elif "version" in side:
        from labeling.versions import versions_of

        number = side["version"]
        if (
            not isinstance(number, int)
            or not versions_of(dataset_id=dataset.pk).filter(number=number).exists()
        ):
            errors[key] = [f"There is no version {number} of this dataset."]


def validate_drift(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``reference`` and ``current``: each ``{"dataset": true}``, ``{"import_batch": id}``,
    ``{"version": number}`` or a posted file; ``thresholds``: overrides of
    quality.analysis.drift.Thresholds."""
    from quality.analysis.drift import Thresholds

    errors: dict[str, list[str]] = {}
    reference = params.get("reference", {"dataset": True})
    current = params.get("current")
    _drift_sides(dataset, reference, "reference", errors)
    _drift_sides(dataset, current, "current", errors)
    thresholds = params.get("thresholds", {})
    if not isinstance(thresholds, dict):
        errors["thresholds"] = ["An object of threshold names and values."]
    else:
        try:
            Thresholds(**thresholds)
        except (TypeError, ValueError) as exc:
            errors["thresholds"] = [str(exc)]
    return params_checked(
        params,
        {"reference", "current", "thresholds"},
        errors,
        {"reference": reference, "current": current, "thresholds": thresholds},
    )


@job_kind(
    "drift",
    description="Compare a batch with a reference, field by field, and give a drift verdict.",
    validate=validate_drift,
)
def run_drift(job: Job, progress: Progress) -> dict[str, Any]:
    from quality.services import drift_run

    assert job.dataset is not None  # noqa: S101 - drift jobs are created on a dataset
    return drift_run(dataset=job.dataset, params=job.params, progress=progress)


def validate_data_quality(dataset: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``target``: ``{"import_batch": id}``, ``{"version": number}`` or ``{"dataset": true}``
    (default); ``rules``: extra rules for this report only (the saved ones always apply)."""
    from quality.analysis.data_quality import RuleError, validate_rules

    errors: dict[str, list[str]] = {}
    target = params.get("target", {"dataset": True})
    _drift_sides(dataset, target, "target", errors)
    if isinstance(target, dict) and "file" in target:
        errors["target"] = ["A report is made of an import batch, a version or the dataset."]
    rules = params.get("rules", [])
    try:
        fields = list(dict.fromkeys([*dataset.data_fields, *dataset.metadata_fields]))
        rules = validate_rules(rules, fields)
    except RuleError as exc:
        errors["rules"] = [str(exc)]
    return params_checked(params, {"target", "rules"}, errors, {"target": target, "rules": rules})


@job_kind(
    "data_quality",
    description="A data-quality report of an import batch, a version or the dataset.",
    validate=validate_data_quality,
)
def run_data_quality(job: Job, progress: Progress) -> dict[str, Any]:
    from quality.services import data_quality_run

    assert job.dataset is not None  # noqa: S101 - reports are made of a dataset's items
    return data_quality_run(dataset=job.dataset, params=job.params, progress=progress)
