"""Writes of the quality app: the agreement and consensus run, model runs, label issues."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from labeling.models import ConsensusMethod, Dataset, Decision, Item, Label, Labeller
from labeling.selectors import annotation_frame, dataset_state
from labeling.services import decision_record, item_priorities_write, reference_labels_write
from quality import selectors
from quality.analysis.agreement import (
    Level,
    agreement_report,
    frame_records,
    krippendorff_alpha,
    slice_agreement,
)
from quality.analysis.consensus import Consensus, dawid_skene, dawid_skene_apply, majority_vote
from quality.models import LabelIssue, ModelRun
from workbench import db, field_values
from workbench.errors import BadInput
from workbench.jobs import JobError, Progress

# A labeller is flagged when even the top of their 95% interval of agreement with the others
# is below the median labeller's agreement, and at least this many of their labels have a
# leave-one-out reference.
FLAG_MIN_LABELS = 10

DEFINITIONS = {
    "alpha": "Krippendorff's alpha: 1 - observed / expected disagreement over all items with two "
    "or more labels (1 = perfect, 0 = chance, < 0 = systematic disagreement). Nominal treats "
    "labels as unordered; ordinal and interval use the order of an ordered label set.",
    "fleiss_kappa": "Fleiss' kappa: agreement beyond chance among a fixed number of labellers per "
    "item; computed on the items that have the most common number of labels.",
    "cohen_kappa": "Cohen's kappa between two labellers over the items both labelled: (observed - "
    "chance agreement) / (1 - chance agreement). Shown when they share enough items.",
    "percent_agreement": "The share of agreeing pairs of labels on the same item, averaged over "
    "items with two or more labels (Fleiss' P-bar); not corrected for chance.",
    "labeller_agreement": "How often a labeller's label equals the majority of the other labels on "
    "the same item (leave-one-out); a tie among t labels earns 1/t; a reviewer's decision, "
    "where there is one, is the reference instead. With a 95% Wilson interval.",
    "class_agreement": "Per label: when one labeller gives it, the chance that another labeller "
    "of the same item gives it too (specific agreement).",
    "confusions": "The label pairs labellers disagree on most: each pair's share of all "
    "disagreement, counting the pairs of labels within an item and weighting an item with n "
    "labels by 1/(n - 1) (Krippendorff's coincidences).",
    "majority_vote": "The label given most often; ties go to the label whose labellers are more "
    "reliable (agreement with the others), then to a seeded draw. Confidence: its share of votes.",
    "dawid_skene": "Dawid-Skene: estimates each labeller's confusion matrix and the class priors "
    "by expectation-maximisation; the consensus is the most probable class, its confidence that "
    "probability.",
    "crowdlab": "CROWDLAB (cleanlab.multiannotator): weighs each labeller's answers and a model's "
    "probabilities by their estimated quality; the consensus is the best-supported class, its "
    "confidence CROWDLAB's consensus quality score. Items the model run doesn't cover get the "
    "majority vote.",
    "active_learning": "Active learning: CROWDLAB's active-learning score of each item the model "
    "run covers (cleanlab.multiannotator.get_active_learning_scores; 0 to 1, lower means another "
    "label would help more: items whose consensus is uncertain, and unlabelled items the model is "
    "unsure of). Under active-learning assignment the labelling queue hands out the lowest "
    "score first, then the remaining items breadth-first. Re-run the job as labels come in.",
    "ds_accuracy": "The Dawid-Skene estimate of the chance that the labeller gives the true class.",
    "crowdlab_quality": "CROWDLAB's labeller quality: how often the labeller agrees with the "
    "consensus, and how likely their labels are under CROWDLAB's posterior (which combines the "
    "model with the other labellers), weighed together (0 to 1).",
    "flagged": "Flagged: the upper end of the labeller's 95% interval is below the median "
    "labeller's agreement (and at least 10 of their labels have a leave-one-out reference).",
}


def _params(dataset: Dataset, params: dict[str, Any]) -> tuple[str, int]:
    method = params.get("consensus_method") or dataset.consensus_method
    return method, int(params.get("min_shared", 10))


def agreement_run(
    *, dataset: Dataset, job_id: int, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Measure how consistently the labellers agree, fit the consensus, and make it the items'
    reference labels (the reviewer's decision wins where there is one)."""
    method, min_shared = _params(dataset, params)
    progress(0, 1, "Reading the labels")
    frame = annotation_frame(dataset_id=dataset.pk)
    annotations = frame.annotations
    if annotations.empty:
        raise JobError("This dataset has no labels yet: label some items or import labels first.")
    k = len(frame.label_ids)
    level: Level = "ordinal" if dataset.labels_ordered else "nominal"
    progress(0.1, 1, f"Measuring agreement on {len(annotations):,} labels")
    report = agreement_report(
        annotations, k, level=level, min_shared=min_shared, decided=frame.decided
    )
    result: dict[str, Any] = report.to_dict()
    if dataset.labels_ordered:
        result["alpha_interval"] = krippendorff_alpha(annotations, k, level="interval").to_dict()
    progress(0.4, 1, "Agreement per metadata slice")
    result["slices"] = {
        field: frame_records(slice_agreement(annotations, k, groups, level=level))
        for field, groups in selectors.metadata_groups(dataset=dataset).items()
    }
    progress(0.5, 1, "Fitting the consensus")
    rates = report.labellers.set_index("labeller")["rate"].dropna()
    items = annotations["item"].to_numpy()
    labellers = annotations["labeller"].to_numpy()
    labels = annotations["label"].to_numpy()
    # The tie-break keys of the incremental consensus (labeling.services), so that the job and
    # a later answer agree on every item.
    keys = {
        "item_keys": annotations["item_key"].to_numpy(),
        "label_keys": frame.label_keys[labels],
    }
    reliability = (rates.index.to_numpy(), rates.to_numpy(dtype=np.float64))
    votes = majority_vote(items, labels, labeller_ids=labellers, reliability=reliability, **keys)
    ds = dawid_skene(items, labellers, labels, k, **keys)
    ds_accuracy = pd.Series(ds.labeller_accuracy(), index=ds.labeller_ids)
    names = selectors.labeller_names(dataset=dataset)
    table = report.labellers.copy()
    table["name"] = table["labeller"].map(names)
    table["volume"] = table["labeller"].map(annotations["labeller"].value_counts())
    table["ds_accuracy"] = table["labeller"].map(ds_accuracy)
    rated = table[(table["n"] >= FLAG_MIN_LABELS) & table["rate"].notna()]
    median = float(rated["rate"].median()) if len(rated) else float("nan")
    table["flagged"] = (
        (table["n"] >= FLAG_MIN_LABELS) & table["high"].notna() & (table["high"] < median)
    )
    confusion = {
        int(pk): np.round(ds.confusion[i], 3).tolist()
        for i, pk in enumerate(ds.labeller_ids.tolist())
    }
    result["labellers"] = frame_records(table)
    for row in result["labellers"]:
        row["confusion"] = confusion.get(row["labeller"])
    result["median_labeller_agreement"] = None if np.isnan(median) else median
    result["labels"] = frame.label_names
    for row in result["classes"]:
        row["label"] = frame.label_names[row["label"]]
    for row in result["confusions"]:
        row["label_a"] = frame.label_names[row["label_a"]]
        row["label_b"] = frame.label_names[row["label_b"]]
    result["pairwise"]["names"] = [names.get(pk, str(pk)) for pk in result["pairwise"]["labellers"]]
    same = int(np.count_nonzero(votes.labels == ds.consensus.labels))
    result["consensus"] = {
        "method": method,
        "items": int(votes.item_ids.size),
        "majority_vote_vs_dawid_skene": same / votes.item_ids.size if votes.item_ids.size else None,
        "mean_confidence": float(
            (
                ds.consensus.confidence
                if method == ConsensusMethod.DAWID_SKENE
                else votes.confidence
            ).mean()
        ),
        "dawid_skene_iterations": ds.iterations,
        "dawid_skene_converged": ds.converged,
    }
    result["definitions"] = DEFINITIONS
    progress(0.7, 1, "Writing the reference labels")
    methods: npt.NDArray[np.str_] | str = method
    if method == ConsensusMethod.DAWID_SKENE:
        # One E-step under the stored parameters: what a new answer will get, too.
        rows = np.searchsorted(ds.labeller_ids, labellers)
        chosen = dawid_skene_apply(
            items, rows, labels, priors=ds.priors, confusion=ds.confusion, **keys
        )
    elif method == ConsensusMethod.CROWDLAB:
        chosen, methods = _crowdlab_consensus(dataset, params, frame, votes, result)
    else:
        chosen = votes
    with transaction.atomic():
        _consensus_store(dataset, job_id, method, frame.label_ids, ds, rates)
        _reference_store(chosen, methods, frame.label_ids, frame.decided)
    progress(1, 1, "Done")
    return result


def _crowdlab_for(
    dataset: Dataset, run_id: int, frame: Any, *, active_learning: bool
) -> tuple[Any, ModelRun]:
    """CROWDLAB on a dataset's labels and a model run's probabilities."""
    from quality.analysis.crowdlab import CrowdlabProblem, crowdlab

    run = ModelRun.objects.get(pk=run_id, dataset=dataset)
    if list(run.label_ids) != list(frame.label_ids):
        raise JobError(
            f"Model run {run.pk} was stored for other labels than the dataset has now; upload "
            "a new one."
        )
    prob_ids, probs = selectors.model_run_probabilities(model_run=run)
    annotations = frame.annotations
    try:
        crowd = crowdlab(
            annotations["item"].to_numpy(),
            annotations["labeller"].to_numpy(),
            annotations["label"].to_numpy(),
            probs,
            len(frame.label_ids),
            prob_item_ids=prob_ids,
            active_learning=active_learning,
        )
    except CrowdlabProblem as exc:
        raise JobError(f"CROWDLAB can't run: {exc}") from exc
    return crowd, run


def active_learning_run(
    *, dataset: Dataset, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Score the items of a model run by CROWDLAB's active-learning score (cleanlab's
    ``get_active_learning_scores``: lower means another label helps more) and store the scores
    as the items' labelling priority; other items lose theirs. Under active-learning
    assignment, next-item hands out the lowest score first."""
    progress(0, 1, "Reading the labels")
    frame = annotation_frame(dataset_id=dataset.pk)
    progress(0.2, 1, "Scoring the items (CROWDLAB)")
    crowd, run = _crowdlab_for(dataset, params["model_run"], frame, active_learning=True)
    ranked = crowd.label_next()
    progress(0.8, 1, f"Storing the priorities of {len(ranked):,} items")
    with transaction.atomic():
        item_priorities_write(
            dataset_id=dataset.pk,
            item_ids=ranked["item_id"].to_numpy(dtype=np.int64),
            priorities=ranked["active_learning_score"].to_numpy(dtype=np.float64),
        )
    progress(1, 1, "Done")
    top = ranked.head(10)
    return {
        "model_run": run.pk,
        "method": crowd.method,
        "items_scored": len(ranked),
        "labelled_items": int(ranked["labelled"].sum()),
        "unlabelled_items": int((~ranked["labelled"]).sum()),
        "next": [
            {"item": int(i), "score": float(v), "labelled": bool(b)}
            for i, v, b in zip(
                top["item_id"], top["active_learning_score"], top["labelled"], strict=True
            )
        ],
        "assignment": dataset.assignment,
        "definition": DEFINITIONS["active_learning"],
        "notes": list(crowd.notes),
    }


def _crowdlab_consensus(
    dataset: Dataset,
    params: dict[str, Any],
    frame: Any,
    votes: Consensus,
    result: dict[str, Any],
) -> tuple[Consensus, npt.NDArray[np.str_]]:
    """CROWDLAB's consensus where the model run has probabilities, majority vote elsewhere;
    labeller qualities go into the report."""
    crowd, run = _crowdlab_for(dataset, params["model_run"], frame, active_learning=False)
    by_item = crowd.items.set_index("item_id")
    covered = pd.Index(by_item.index).get_indexer(votes.item_ids)
    has = covered >= 0
    labels = votes.labels.copy()
    confidence = votes.confidence.copy()
    labels[has] = by_item["consensus_label"].to_numpy(dtype=np.int64)[covered[has]]
    confidence[has] = by_item["consensus_quality"].to_numpy(dtype=np.float64)[covered[has]]
    quality = crowd.labellers.set_index("labeller_id")["quality"]
    for row in result["labellers"]:
        value = quality.get(row["labeller"])
        row["crowdlab_quality"] = None if value is None or pd.isna(value) else float(value)
    result["consensus"].update(
        {
            "model_run": run.pk,
            "crowdlab": crowd.method,
            "crowdlab_items": int(has.sum()),
            "crowdlab_model_weight": crowd.model_weight,
            "mean_confidence": float(confidence.mean()) if confidence.size else None,
            "notes": list(crowd.notes),
        }
    )
    chosen = Consensus(votes.item_ids, labels, confidence, votes.counts)
    methods = np.where(has, ConsensusMethod.CROWDLAB.value, ConsensusMethod.MAJORITY_VOTE.value)
    return chosen, methods


def _reference_store(
    consensus: Consensus,
    method: npt.NDArray[np.str_] | str,
    label_ids: list[int],
    decided: pd.Series,
) -> None:
    """Every labelled item's reference label: the reviewer's decision, else the consensus."""
    ids = np.asarray(label_ids, dtype=np.int64)
    decision = decided.reindex(consensus.item_ids)
    has_decision = decision.notna().to_numpy()
    codes = np.where(has_decision, decision.fillna(0).to_numpy(dtype=np.int64), consensus.labels)
    confidence = np.where(has_decision, 1.0, consensus.confidence)
    methods = np.where(has_decision, "decision", method)
    reference_labels_write(
        list(
            zip(
                consensus.item_ids.tolist(),
                consensus.counts.tolist(),
                ids[codes].tolist(),
                methods.tolist(),
                confidence.tolist(),
                strict=True,
            )
        )
    )


def _consensus_store(
    dataset: Dataset,
    job_id: int,
    method: str,
    label_ids: list[int],
    ds: Any,
    rates: pd.Series,
) -> None:
    """Keep what the consensus of new answers needs: each labeller's reliability and confusion
    matrix, the priors, and the method."""
    confusion = {int(pk): ds.confusion[i].tolist() for i, pk in enumerate(ds.labeller_ids.tolist())}
    reliability = {int(pk): float(v) for pk, v in rates.items()}
    changed = []
    for labeller in Labeller.objects.filter(dataset=dataset).only("id"):
        labeller.reliability = reliability.get(labeller.pk)
        labeller.confusion = confusion.get(labeller.pk)
        changed.append(labeller)
    Labeller.objects.bulk_update(changed, ["reliability", "confusion"], batch_size=1000)
    dataset.consensus_method = method
    dataset.consensus_model = {
        "method": method,
        "job": job_id,
        "label_ids": label_ids,
        "priors": ds.priors.tolist(),
        "default_confusion": ds.confusion.mean(axis=0).tolist() if len(ds.labeller_ids) else None,
    }
    dataset.save(update_fields=["consensus_method", "consensus_model"])


# ---------------------------------------------------------------------------------------------
# Model runs

MAX_PREDICTION_ERRORS = 5


def _item_ids_for(
    dataset: Dataset, entries: list[dict[str, Any]]
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Each entry's item id (by ``item`` or ``external_id``) and the problems found: unknown
    items, entries naming neither or both, the same item twice. Bulk queries only."""
    problems: list[str] = []
    by_id: dict[int, int] = {}
    by_external: dict[int, str] = {}
    for n, entry in enumerate(entries):
        has_id, has_external = entry.get("item") is not None, entry.get("external_id") is not None
        if has_id == has_external:
            problems.append(f"Prediction {n + 1}: give either `item` (an id) or `external_id`.")
        elif has_id:
            if not isinstance(entry["item"], int) or isinstance(entry["item"], bool):
                problems.append(f"Prediction {n + 1}: `item` must be a number (an item id).")
            else:
                by_id[n] = entry["item"]
        else:
            by_external[n] = str(entry["external_id"])
    known_ids: set[int] = set()
    wanted_ids = sorted(set(by_id.values()))
    for start in range(0, len(wanted_ids), 10_000):
        known_ids.update(
            Item.objects.filter(
                dataset=dataset, pk__in=wanted_ids[start : start + 10_000]
            ).values_list("id", flat=True)
        )
    external: dict[str, int] = {}
    wanted_external = sorted(set(by_external.values()))
    for start in range(0, len(wanted_external), 10_000):
        external.update(
            Item.objects.filter(
                dataset=dataset, external_id__in=wanted_external[start : start + 10_000]
            ).values_list("external_id", "id")
        )
    ids = np.zeros(len(entries), dtype=np.int64)
    unknown: list[str] = []
    for n, pk in by_id.items():
        if pk in known_ids:
            ids[n] = pk
        else:
            unknown.append(f"item {pk}")
    for n, name in by_external.items():
        if name in external:
            ids[n] = external[name]
        else:
            unknown.append(f"external_id '{name}'")
    if unknown:
        problems.append(
            f"{len(unknown):,} prediction(s) name items this dataset doesn't have: "
            + ", ".join(unknown[:MAX_PREDICTION_ERRORS])
            + ("…" if len(unknown) > MAX_PREDICTION_ERRORS else "")
            + "."
        )
    if not problems:
        unique, counts = np.unique(ids, return_counts=True)
        twice = unique[counts > 1]
        if twice.size:
            problems.append(
                f"{twice.size:,} item(s) have more than one prediction, e.g. item "
                f"{int(twice[0])}; give one per item."
            )
    return ids, problems


def _probability_matrix(
    entries: list[dict[str, Any]], label_names: list[str]
) -> tuple[npt.NDArray[np.float64] | None, list[str]]:
    """The (n, k) probabilities in ``label_names`` order: each entry's ``probabilities`` is a
    list in that order or an object {label name: probability}."""
    k = len(label_names)
    position = {name: i for i, name in enumerate(label_names)}
    matrix = np.zeros((len(entries), k), dtype=np.float64)
    problems: list[str] = []
    for n, entry in enumerate(entries):
        probs = entry.get("probabilities")
        try:
            if isinstance(probs, dict):
                unknown = sorted(set(probs) - set(position))
                if unknown or len(probs) != k:
                    problems.append(
                        f"Prediction {n + 1}: give a probability for each of the {k} labels "
                        f"({', '.join(label_names)})"
                        + (f"; unknown: {', '.join(unknown[:3])}" if unknown else "")
                        + "."
                    )
                    continue
                for name, value in probs.items():
                    matrix[n, position[name]] = float(value)
            elif isinstance(probs, list):
                if len(probs) != k:
                    problems.append(
                        f"Prediction {n + 1} has {len(probs)} probabilities; the dataset has "
                        f"{k} labels ({', '.join(label_names)})."
                    )
                    continue
                matrix[n] = [float(v) for v in probs]
            else:
                problems.append(
                    f"Prediction {n + 1}: `probabilities` must be a list of {k} numbers or an "
                    "object keyed by label name."
                )
        except (TypeError, ValueError):
            problems.append(f"Prediction {n + 1}: probabilities must be numbers.")
        if len(problems) >= MAX_PREDICTION_ERRORS:
            break
    return (None if problems else matrix), problems


@transaction.atomic
def model_run_create(
    *,
    dataset: Dataset,
    created_by: Any,
    name: str,
    predictions: list[dict[str, Any]],
    version: str = "",
    hyperparameters: dict[str, Any] | None = None,
    trained_on: str = "",
    labels: list[str] | None = None,
    source: str = ModelRun.Source.UPLOAD,
    job: Any = None,
    metrics: dict[str, Any] | None = None,
    features: npt.NDArray[np.float32] | None = None,
) -> ModelRun:
    """Store a model's class probabilities for items of the dataset, all or nothing.

    Items are named by id or external id; ``labels`` gives the class order of list-shaped
    probabilities (default: the dataset's label order). Rows that miss summing to 1 by a little
    are renormalised and counted; the wrong number of classes, unknown items, NaN, negative
    values and rows far from 1 are refused with BadInput, and nothing is stored.
    """
    names = list(
        Label.objects.filter(dataset=dataset)
        .order_by("position", "id")
        .values_list("name", flat=True)
    )
    if not predictions:
        raise BadInput("The model run has no predictions.")
    if labels is not None and sorted(labels) != sorted(names):
        raise BadInput(
            f"`labels` must name each of the dataset's labels once ({', '.join(names)}); "
            f"got {', '.join(map(str, labels))}."
        )
    order = labels or names
    ids, problems = _item_ids_for(dataset, predictions)
    matrix, more = _probability_matrix(predictions, order)
    problems += more
    if problems or matrix is None:
        raise BadInput("Nothing was stored. " + " ".join(problems[:MAX_PREDICTION_ERRORS]))
    # Columns in the dataset's label order, whatever order the upload used.
    return model_run_store(
        dataset=dataset,
        created_by=created_by,
        name=name,
        item_ids=ids,
        probabilities=matrix[:, [order.index(n) for n in names]],
        version=version,
        hyperparameters=hyperparameters,
        trained_on=trained_on,
        source=source,
        job=job,
        metrics=metrics,
        features=features,
    )


@transaction.atomic
def model_run_store(
    *,
    dataset: Dataset,
    created_by: Any,
    name: str,
    item_ids: npt.NDArray[np.int64],
    probabilities: npt.NDArray[np.float64],
    version: str = "",
    hyperparameters: dict[str, Any] | None = None,
    trained_on: str = "",
    source: str = ModelRun.Source.UPLOAD,
    job: Any = None,
    metrics: dict[str, Any] | None = None,
    features: npt.NDArray[Any] | None = None,
) -> ModelRun:
    """Store checked item ids and their probabilities (columns in the dataset's label order)
    as a model run: rows near 1 are renormalised, anything else refused (BadInput)."""
    from quality.analysis.label_issues import ProbabilityProblem, normalise_probabilities

    label_ids = list(
        Label.objects.filter(dataset=dataset)
        .order_by("position", "id")
        .values_list("id", flat=True)
    )
    try:
        normalised = normalise_probabilities(probabilities, n_classes=len(label_ids))
    except ProbabilityProblem as exc:
        raise BadInput(f"Nothing was stored. {exc}") from exc
    probs = normalised.probs.astype("<f8")
    run = ModelRun.objects.create(
        dataset=dataset,
        name=name,
        version=version,
        hyperparameters=hyperparameters or {},
        trained_on=trained_on,
        dataset_state=dataset_state(dataset_id=dataset.pk),
        source=source,
        job=job,
        label_ids=label_ids,
        prediction_count=len(item_ids),
        renormalised_count=normalised.renormalised,
        metrics=metrics or {},
        created_by=created_by,
    )
    order_by_item = np.argsort(item_ids, kind="stable")
    predicted = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    db.copy_rows(
        "quality_prediction",
        ["model_run_id", "item_id", "predicted", "confidence", "probabilities"],
        (
            (run.pk, int(item_ids[i]), int(predicted[i]), float(confidence[i]), probs[i].tobytes())
            for i in order_by_item.tolist()
        ),
    )
    if features is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(features, dtype=np.float32)[order_by_item])
        run.features.save(f"run-{run.pk}-features.npy", ContentFile(buffer.getvalue()))
    return run


# ---------------------------------------------------------------------------------------------
# Label issues

FILTER_BY = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)


def label_issues_run(
    *, dataset: Dataset, job_id: int, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Find the items whose reference label is probably wrong under a model run's
    out-of-sample probabilities (cleanlab), rank them, and store them for review."""
    from quality.analysis.label_issues import LabelIssueProblem, ProbabilityProblem, find_issues

    run = ModelRun.objects.get(pk=params["model_run"], dataset=dataset)
    label_ids = run.label_ids
    progress(0, 1, "Reading the model's probabilities")
    item_ids, probs = selectors.model_run_probabilities(model_run=run)
    codes = selectors.reference_codes(
        dataset_id=dataset.pk, item_ids=item_ids, label_ids=run.label_ids
    )
    labelled = codes >= 0
    if not labelled.any():
        raise JobError(
            f"None of the {item_ids.size:,} items of model run {run.pk} has a label yet: label "
            "them (or import their labels) first."
        )
    features = None
    if run.features:
        with run.features.open("rb") as handle:
            features = np.load(handle)[labelled]
    progress(0.2, 1, f"Looking for label issues among {int(labelled.sum()):,} labelled items")
    try:
        report = find_issues(
            codes[labelled],
            probs[labelled],
            filter_by=params.get("filter_by", "prune_by_noise_rate"),
            features=features,
        )
    except (LabelIssueProblem, ProbabilityProblem) as exc:
        raise JobError(str(exc)) from exc
    progress(0.8, 1, "Storing the issues")
    ids = item_ids[labelled]
    names = dict(Label.objects.filter(pk__in=label_ids).values_list("id", "name"))
    found = report.issues
    item_of = ids[found["index"].to_numpy(dtype=np.int64)]
    keep = np.ones(item_of.size, dtype=bool)
    if not params.get("include_decided"):
        decided = np.fromiter(selectors.decided_items(dataset=dataset), dtype=np.int64)
        keep = ~np.isin(item_of, decided)
    skipped = int((~keep).sum())
    found = found[keep]
    stored = _label_issues_store(dataset.pk, job_id, item_of[keep], found, label_ids)
    by_type = found["issue_type"].value_counts().to_dict()
    return {
        "model_run": run.pk,
        "filter_by": params.get("filter_by", "prune_by_noise_rate"),
        "items": int(item_ids.size),
        "without_label": int((~labelled).sum()),
        "issues": stored,
        "by_type": {str(k): int(v) for k, v in by_type.items()},
        "skipped_decided": skipped,
        "labels": [names.get(pk, "?") for pk in label_ids],
        # The issues themselves are LabelIssue rows; the report keeps the dataset's health.
        "report": {k: v for k, v in report.to_dict().items() if k != "issues"},
    }


def _label_issues_store(
    dataset_id: int,
    job_id: int,
    item_ids: npt.NDArray[np.int64],
    found: pd.DataFrame,
    label_ids: list[int],
) -> int:
    """Write a job's issues in rank order (by COPY on PostgreSQL); a re-run replaces them."""
    ids = np.asarray(label_ids, dtype=np.int64)
    given = ids[found["given"].to_numpy(dtype=np.int64)].tolist()
    raw = found["suggested"].to_numpy(dtype=np.float64, na_value=np.nan)
    suggested = [None if np.isnan(v) else int(ids[int(v)]) for v in raw]
    confidence = [None if np.isnan(v) else v for v in found["confidence"].astype(float).tolist()]
    sets = found["set_id"].to_numpy(dtype=np.float64, na_value=np.nan)
    details = ["{}" if np.isnan(v) else f'{{"duplicate_set": {int(v)}}}' for v in sets]
    rows = zip(
        item_ids.tolist(),
        range(1, len(found) + 1),
        found["issue_type"].astype(str).tolist(),
        given,
        suggested,
        found["score"].astype(float).tolist(),
        confidence,
        details,
        strict=True,
    )
    status = LabelIssue.Status.OPEN.value
    with transaction.atomic():
        LabelIssue.objects.filter(job_id=job_id).delete()
        return db.copy_rows(
            LabelIssue._meta.db_table,
            [
                "job_id",
                "dataset_id",
                "item_id",
                "rank",
                "issue_type",
                "given_label_id",
                "suggested_label_id",
                "score",
                "confidence",
                "details",
                "status",
            ],
            ((job_id, dataset_id, *row, status) for row in rows),
        )


def _issue_for_update(dataset: Dataset, issue_id: int) -> LabelIssue:
    issue = (
        LabelIssue.objects.select_for_update(of=("self",))
        .select_related("given_label", "suggested_label")
        .filter(pk=issue_id, dataset=dataset)
        .first()
    )
    if issue is None:
        raise BadInput(f"There is no label issue {issue_id} in this dataset.")
    return issue


@transaction.atomic
def label_issue_decide(
    *,
    dataset: Dataset,
    issue_id: int,
    action: str,
    reviewer: Any,
    label: str | None = None,
    note: str = "",
) -> LabelIssue:
    """Settle a label issue: ``accept`` the suggested label, ``keep`` the given one, or
    ``relabel`` with another. Each becomes the item's reference label through a review
    decision (logged with who, when, old → new and the note)."""
    issue = _issue_for_update(dataset, issue_id)
    if action == "accept":
        if issue.suggested_label is None:
            raise BadInput("This issue has no suggested label to accept; keep or relabel.")
        chosen, method, status = (
            issue.suggested_label.name,
            Decision.Method.CLEANLAB,
            LabelIssue.Status.ACCEPTED,
        )
    elif action == "keep":
        if issue.given_label is None:
            raise BadInput("This issue's given label no longer exists; relabel instead.")
        chosen, method, status = (
            issue.given_label.name,
            Decision.Method.REVIEW,
            LabelIssue.Status.REJECTED,
        )
    elif action == "relabel":
        if not label:
            raise BadInput("Name the label to relabel with.")
        chosen, method, status = label, Decision.Method.REVIEW, LabelIssue.Status.RELABELLED
    else:
        raise BadInput(f"Unknown action '{action}': use accept, keep or relabel.")
    reason = (
        note
        or {
            "accept": "Accepted the suggested label (cleanlab).",
            "keep": "Kept the label (not an error).",
            "relabel": "Relabelled in label-issue review.",
        }[action]
    )
    decision_record(
        dataset=dataset,
        item_id=issue.item_id,
        label=chosen,
        reviewer=reviewer,
        note=reason,
        method=method,
    )
    issue.status = status
    issue.decided_by = reviewer
    issue.decided_at = timezone.now()
    issue.save(update_fields=["status", "decided_by", "decided_at"])
    return issue


@transaction.atomic
def label_issues_accept(
    *, dataset: Dataset, issue_ids: list[int], reviewer: Any, note: str = ""
) -> int:
    """Accept the suggestion of several open issues at once (bulk accept of the top K after a
    look); all or nothing. Returns how many were accepted."""
    for issue_id in issue_ids:
        label_issue_decide(
            dataset=dataset, issue_id=issue_id, action="accept", reviewer=reviewer, note=note
        )
    return len(issue_ids)


# ---------------------------------------------------------------------------------------------
# Baseline model

IMAGE_FIELDS = ("image", "image_url")


def item_kind(data: list[dict[str, Any]]) -> str:
    """How to model the items: images, texts (one or two text fields) or tabular fields."""
    sample = data[:200]
    if any(any(f in d for f in IMAGE_FIELDS) for d in sample):
        return "image"
    text_fields = {k for d in sample for k, v in d.items() if isinstance(v, str)}
    if 1 <= len(text_fields) <= 2 and all(
        all(isinstance(d.get(k), str) for k in text_fields) for d in sample
    ):
        return "text"
    return "tabular"


def _baseline_inputs(
    dataset: Dataset, kind: str, data: list[dict[str, Any]], metadata: list[dict[str, Any]]
) -> Any:
    if kind == "text":
        fields = sorted({k for d in data[:200] for k, v in d.items() if isinstance(v, str)})
        if len(fields) == 1:
            return [str(d.get(fields[0], "")) for d in data]
        return [(str(d.get(fields[0], "")), str(d.get(fields[1], ""))) for d in data]
    if kind == "image":
        from labeling import images

        prefix = f"/datasets/{dataset.pk}/files/"
        blobs = []
        for n, d in enumerate(data):
            url = str(next((d[f] for f in IMAGE_FIELDS if f in d), ""))
            file = (
                images.open_file(dataset.pk, url.removeprefix(prefix))
                if url.startswith(prefix)
                else None
            )
            if file is None:
                raise JobError(
                    f"Item {n + 1}'s image ({url[:80]}) is not a file imported into this dataset; "
                    "the baseline model reads only imported images."
                )
            with file:
                blobs.append(file.read())
        return blobs
    return pd.DataFrame([{**m, **d} for d, m in zip(data, metadata, strict=True)])


def baseline_run(
    *, dataset: Dataset, job: Any, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Out-of-sample class probabilities for the labelled items by k-fold cross-validation
    with a model suited to the item kind; stored as a model run (with its parameters, fold
    metrics and the dataset state it saw) for the label-issue job."""
    from quality.analysis.baseline import BaselineProblem, cross_validated_probabilities

    progress(0, 1, "Reading the labelled items")
    ids, data, metadata, codes = selectors.labelled_items(dataset=dataset)
    if len(ids) < 2:
        raise JobError("The baseline model needs labelled items: label some items first.")
    kind = params.get("kind") or item_kind(data)
    inputs = _baseline_inputs(dataset, kind, data, metadata)
    n_classes = Label.objects.filter(dataset=dataset).count()

    def fold_done(done: int, total: int, message: str) -> None:
        progress(0.1 + 0.8 * done / max(total, 1), 1, message or f"Fold {done} of {total}")

    try:
        result = cross_validated_probabilities(
            kind,
            inputs,
            np.asarray(codes, dtype=np.int64),
            n_classes,
            folds=params.get("folds", 5),
            seed=params.get("seed", 0),
            progress=fold_done,
        )
    except BaselineProblem as exc:
        raise JobError(f"The baseline model can't run: {exc}") from exc
    progress(0.9, 1, "Storing the probabilities")
    summary = result.to_dict()
    from labeling.versions import job_versions

    version = job_versions(dataset.pk, [job])[job.pk]
    run = model_run_store(
        dataset=dataset,
        created_by=job.created_by,
        name=f"baseline ({kind})",
        version=job.code_version or "",
        item_ids=np.asarray(ids, dtype=np.int64),
        probabilities=result.probabilities,
        hyperparameters=result.params,
        trained_on=f"v{version}" if version else f"live data at job {job.pk} (no version)",
        source=ModelRun.Source.BASELINE,
        job=job,
        metrics={
            k: v
            for k, v in summary.items()
            if k in ("accuracy", "log_loss", "fold_metrics", "notes")
        },
        features=None if result.features is None else np.asarray(result.features),
    )
    return {"model_run": run.pk, "kind": kind, "items": len(ids), **summary}


# ---------------------------------------------------------------------------------------------
# Slice-level error analysis


SLICE_DEFINITIONS = {
    "reference": "Reference label of an item: the reviewer's decision where one exists, else "
    "the consensus label.",
    "accuracy": "Model accuracy on a slice: the share of its items (with a reference label and "
    "a prediction) whose predicted class (the model run's most probable) equals the reference "
    "label.",
    "hlp": "Human-level performance (HLP) on a slice: the share of its individual human labels "
    "that equal the reference label computed without that labeller (the majority of the item's "
    "other labels; a reviewer's decision is used as is). A label with no other label and no "
    "decision on its item has no reference and doesn't count; a label tying for the plurality "
    "of the others gets partial credit (1 / the number of tied labels).",
    "gap": "Gap to HLP = HLP − accuracy (may be negative).",
    "share": "Share = the slice's items / all items of the analysis.",
    "potential_improvement": "Potential improvement = max(gap, 0) × share: how much overall "
    "accuracy would rise if the model reached human level on the slice. Rows sort by it.",
    "interval": "Each rate comes with a 95% Wilson interval and its count.",
    "too_small": "Too small to judge: fewer than min_items items with both a prediction and a "
    "reference label, or fewer "
    "than min_labels human labels with a reference; shown, not hidden.",
    "discovered": "Discovered slices: conjunctions of up to max_level field values where the "
    "model errs more than on average, found by a SliceLine-style lattice search (score "
    "α(error rate in slice / overall error rate − 1) − (1 − α)(n / slice size − 1)).",
    "augmented": "Augmented items are left out: they never count towards accuracy or HLP.",
}


def slices_run(
    *, dataset: Dataset, job_id: int, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """The error-analysis table of a model run: accuracy, human-level performance, gap, share
    and potential improvement per slice (metadata values and bins, text lengths, saved rules,
    error tags, discovered conjunctions). Slice members are kept in a file for drill-down."""
    from quality.analysis import slices as sl
    from quality.models import SliceRule

    run = ModelRun.objects.get(pk=params["model_run"], dataset=dataset)
    progress(0, 1, "Reading the labels")
    labels = annotation_frame(dataset_id=dataset.pk, keys=False)
    if list(run.label_ids) != list(labels.label_ids):
        raise JobError(
            f"Model run {run.pk} was stored for other labels than the dataset has now; upload "
            "a new one."
        )
    rules = list(SliceRule.objects.filter(dataset=dataset)) if params["rules"] else []
    fields = list(params["fields"])
    extra = sorted(
        {c[0] for r in rules for c in r.conditions if isinstance(c, list) and c}
        - set(fields)
        - {f"len({t})" for t in params["text_fields"]}
    )
    progress(0.1, 1, "Reading the items")
    frame = selectors.slice_frame(
        dataset=dataset,
        fields=[*fields, *[f for f in extra if f in dataset.metadata_fields]],
        text_fields=list(params["text_fields"]),
    )
    if frame.empty:
        raise JobError("The dataset has no items to analyse.")
    item_ids = frame["item_id"].to_numpy(dtype=np.int64)
    label_ids = np.asarray(labels.label_ids, dtype=np.int64)
    position = np.full(int(max(label_ids.max(initial=0), frame["reference"].max())) + 1, -1)
    position[label_ids] = np.arange(label_ids.size)
    position[0] = -1
    reference = position[frame["reference"].to_numpy(dtype=np.int64)]
    progress(0.2, 1, "Reading the model's predictions")
    prob_ids, probs = selectors.model_run_probabilities(model_run=run)
    prediction = np.full(item_ids.size, -1, dtype=np.int64)
    if prob_ids.size:
        at = np.minimum(np.searchsorted(prob_ids, item_ids), prob_ids.size - 1)
        has = prob_ids[at] == item_ids
        prediction[has] = probs[at[has]].argmax(axis=1)
    items = pd.DataFrame(
        {
            "item": item_ids,
            "reference": reference,
            "prediction": prediction,
            "decided": frame["decided"].to_numpy(dtype=bool),
        }
    )
    metadata = frame.drop(columns=["item_id", "reference", "decided"])
    length_fields = [f"len({t})" for t in params["text_fields"]]
    progress(0.3, 1, "Slicing")
    try:
        slices = sl.slice_masks(
            metadata,
            fields=[*fields, *length_fields],
            numeric_bins=params["numeric_bins"],
            max_values=params["max_values"],
        )
        for rule in rules:
            slices.append(sl.rule_slice(metadata, rule.conditions, name=rule.name))
    except ValueError as exc:
        raise JobError(f"A slice can't be made: {exc}.") from exc
    for tag, tagged in selectors.tagged_items(dataset=dataset).items():
        slices.append(sl.SliceDef.from_mask(f"tag: {tag}", np.isin(item_ids, tagged), source="tag"))
    discovered: list[Any] = []
    if params["discover"]:
        progress(0.45, 1, "Looking for underperforming slices")
        known = (reference >= 0) & (prediction >= 0)
        errors = np.where(known, (prediction != reference).astype(np.float64), np.nan)
        columns = [*fields, *length_fields]
        if columns and known.any():
            discovered = sl.discover_slices(
                metadata[columns],
                errors,
                max_level=params["max_level"],
                top_k=params["top_k"],
                numeric_bins=params["numeric_bins"],
                max_values=params["max_values"],
            )
            slices.extend(d.as_slice() for d in discovered)
    progress(0.7, 1, f"Computing the table of {len(slices):,} slices")
    annotations = labels.annotations[["item", "labeller", "label"]]
    table = sl.slice_table(
        items,
        annotations,
        slices,
        min_items=params["min_items"],
        min_labels=params["min_labels"],
    )
    progress(0.9, 1, "Keeping the slices' items for drill-down")
    result = table.to_dict()
    by_name = {s.name: s for s in slices}
    members: dict[str, Any] = {"item_ids": item_ids}
    for number, row in enumerate(result["rows"]):
        found = by_name.get(row["slice"])
        row["number"] = number
        row["conditions"] = found.to_dict()["conditions"] if found is not None else None
        if found is not None:
            members[f"s{number}"] = np.packbits(found.mask(item_ids.size))
    buffer = io.BytesIO()
    np.savez(buffer, **members)  # bit-packed masks hardly compress
    path = default_storage.save(f"jobs/{job_id}/slices.npz", ContentFile(buffer.getvalue()))
    progress(1, 1, "Done")
    return {
        **result,
        "model_run": run.pk,
        "labels": labels.label_names,
        "fields": fields,
        "text_fields": list(params["text_fields"]),
        "rules": [r.name for r in rules],
        "discovered": [d.to_dict() for d in discovered],
        "members_file": path,
        "definitions": SLICE_DEFINITIONS,
    }


def slice_items(*, job: Any, number: int) -> npt.NDArray[np.int64]:
    """The ids of the items of row ``number`` of a slice job's table, as the job saw them."""
    path = (job.result or {}).get("members_file")
    if not path or not default_storage.exists(path):
        raise BadInput("This slice table kept no item lists; run the slice analysis again.")
    with default_storage.open(path, "rb") as handle, np.load(handle) as saved:
        key = f"s{int(number)}"
        if key not in saved:
            raise BadInput(f"The slice table has no slice {number}.")
        item_ids = saved["item_ids"]
        flags = np.unpackbits(saved[key], count=item_ids.size).astype(bool)
        return np.asarray(item_ids[flags], dtype=np.int64)


def slice_rule_create(*, dataset: Dataset, name: str, conditions: Any, user: Any) -> Any:
    """Save a slice rule after checking it against a sample of the items' metadata (fields,
    operators, values of the right type)."""
    from quality.analysis.slices import rule_mask
    from quality.models import SliceRule

    name = " ".join(str(name).split())
    if not name:
        raise BadInput("Give the rule a name.")
    if SliceRule.objects.filter(dataset=dataset, name=name).exists():
        raise BadInput(f"There is already a rule named '{name}'.")
    fields = list(dataset.metadata_fields)
    sample = list(
        Item.objects.filter(dataset=dataset)
        .order_by("id")
        .values_list("metadata", flat=True)[:1000]
    )
    frame = pd.DataFrame(
        {f: [m.get(f) if isinstance(m, dict) else None for m in sample] for f in fields},
        columns=fields,
    )
    try:
        rule_mask(frame, conditions)
    except ValueError as exc:
        raise BadInput(f"The rule can't be used: {exc}.") from exc
    return SliceRule.objects.create(
        dataset=dataset, name=name, conditions=conditions, created_by=user
    )


# ---------------------------------------------------------------------------------------------
# Augmentation

AUGMENT_CHUNK = 5000


def augment_targets(*, dataset: Dataset, target: dict[str, Any]) -> npt.NDArray[np.int64]:
    """The ids of the (non-augmented) items an augmentation aims at: ``{"items": [ids]}``,
    ``{"label": name}`` (items with that reference label), ``{"tag": name}`` or ``{"slice":
    number, "job": id}`` (a row of a slice table; the newest table without ``job``)."""
    from labeling.models import Origin

    items = Item.objects.filter(dataset=dataset).exclude(origin=Origin.AUGMENTED)
    if "items" in target:
        ids = items.filter(pk__in=target["items"]).values_list("id", flat=True)
    elif "label" in target:
        ids = items.filter(reference_label__name=target["label"]).values_list("id", flat=True)
    elif "tag" in target:
        ids = items.filter(tags__tag=target["tag"]).values_list("id", flat=True)
    else:
        job = (
            selectors.latest_job(dataset=dataset, kind="slices")
            if target.get("job") is None
            else dataset.jobs.filter(kind="slices", status="succeeded", pk=target["job"]).first()
        )
        if job is None:
            raise BadInput("There is no slice table to take the slice from; run one first.")
        members = slice_items(job=job, number=int(target["slice"]))
        ids = items.filter(pk__in=members.tolist()).values_list("id", flat=True)
    return np.sort(np.fromiter(ids, dtype=np.int64))


def _image_path(dataset: Dataset, url: Any) -> str | None:
    from django.urls import reverse

    prefix = reverse("dataset-file", args=[dataset.pk, "x"]).removesuffix("x")
    return url.removeprefix(prefix) if isinstance(url, str) and url.startswith(prefix) else None


def augment_generate(
    *, dataset: Dataset, params: dict[str, Any], item_ids: npt.NDArray[np.int64], save: bool
) -> list[dict[str, Any]]:
    """The augmented items of some parent items (as rows for ``augmented_items_create``).
    Images are written to storage only with ``save``; a preview gets them as data URLs."""
    from quality.analysis import augment as aug

    recipe, seed, variants = params["recipe"], params["seed"], params["variants"]
    kind = recipe["kind"]
    parents = list(
        Item.objects.filter(pk__in=item_ids.tolist())
        .order_by("id")
        .values_list(
            "id", "external_id", "data", "metadata", "reference_label_id", "reference_confidence"
        )
    )
    ids = [p[0] for p in parents]
    digest = hashlib.blake2b(
        orjson.dumps([recipe, seed, params.get("field")], option=orjson.OPT_SORT_KEYS),
        digest_size=4,
    ).hexdigest()

    def row(
        parent: tuple[Any, ...], variant: int, data: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return {
            "external_id": f"{parent[1]}~{digest}-{variant}",
            "data": data,
            "metadata": parent[3],
            "parent_id": parent[0],
            "recipe": {
                **recipe,
                "seed": seed,
                "variant": variant,
                **({"field": params["field"]} if params.get("field") else {}),
                **extra,
            },
            "reference_label_id": parent[4],
            "reference_method": "augmented",
            "reference_confidence": parent[5],
        }

    try:
        if kind == "text":
            made = aug.augment_records(
                [p[2] for p in parents],
                ids,
                recipe,
                seed=seed,
                variants=variants,
                field=params.get("field"),
            )
            return [row(parents[v.parent], v.variant, v.data) for v in made]
        if kind == "image":
            return _augment_images(dataset, parents, recipe, seed, variants, save, row)
        frame = pd.DataFrame([p[2] for p in parents])
        for column in frame.columns:  # imported fields are text: "5.1" is a number here
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
        if recipe["steps"][0]["recipe"] == "smote":
            names = dict(Label.objects.filter(dataset=dataset).values_list("id", "name"))
            labels = [names.get(p[4], "") for p in parents]
            new = aug.smote(frame, labels, recipe, seed=seed)
            return [
                row(
                    parents[int(b)],
                    n,
                    _plain(r),
                    neighbour=parents[int(nb)][1],
                    step=float(st),
                )
                for n, (r, b, nb, st) in enumerate(
                    zip(new.rows.to_dict("records"), new.base, new.neighbour, new.step, strict=True)
                )
            ]
        table = aug.augment_table(frame, ids, recipe, seed=seed, variants=variants)
        # The recipe as applied (each column's absolute noise sd): it reproduces the rows.
        return [
            row(parents[int(p)], int(v), _plain(r), steps=table.recipe["steps"])
            for r, p, v in zip(
                table.rows.to_dict("records"), table.parent, table.variant, strict=True
            )
        ]
    except aug.AugmentError as exc:
        raise BadInput(f"The recipe can't be applied: {exc}.") from exc


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A table row as JSON values (numpy scalars to Python, NaN to null)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and np.isnan(value):
            value = None
        out[str(key)] = value
    return out


def _augment_images(
    dataset: Dataset,
    parents: list[tuple[Any, ...]],
    recipe: dict[str, Any],
    seed: int,
    variants: int,
    save: bool,
    row: Any,
) -> list[dict[str, Any]]:
    import base64

    from labeling import images
    from quality.analysis import augment as aug

    rows = []
    for parent in parents:
        data = parent[2]
        field = next((f for f in IMAGE_FIELDS if f in data), None)
        path = _image_path(dataset, data.get(field)) if field else None
        handle = images.open_file(dataset.pk, path) if path else None
        if handle is None:
            raise BadInput(
                f"Item {parent[1]}'s image isn't stored in the workbench (only uploaded images "
                "can be augmented)."
            )
        with handle:
            content = handle.read()
        for variant in range(variants):
            made = aug.augment_image(content, recipe, seed=seed, item_id=parent[0], variant=variant)
            suffix = "png" if made.format == "PNG" else "jpg"
            if save:
                store = images.storer(dataset.pk, "augmented")
                url = store(f"{parent[0]}-{seed}-{variant}.{suffix}", made.data)
            else:
                mime = "image/png" if made.format == "PNG" else "image/jpeg"
                url = f"data:{mime};base64,{base64.b64encode(made.data).decode()}"
            rows.append(row(parent, variant, {**data, field: url}))
    return rows


def augment_run(
    *, dataset: Dataset, job_id: int, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Make augmented items from the target items, a chunk at a time: each new item carries
    origin "augmented", its parent, the recipe with its parameters, seed and variant, and the
    parent's reference label (method "augmented"). Same recipe and seed → the same items; a
    re-run adds none twice."""
    from labeling.services import augmented_items_create

    targets = augment_targets(dataset=dataset, target=params["target"])
    if not targets.size:
        raise JobError("The target holds no items (augmented items are never augmented again).")
    created = existing = 0
    # SMOTE needs every class at once, and jitter the spread of every row: tables go whole.
    whole = params["recipe"]["kind"] == "tabular"
    chunk = targets.size if whole else AUGMENT_CHUNK
    for start in range(0, targets.size, chunk):
        progress(
            start,
            targets.size,
            f"Augmenting items {start + 1:,}–{min(start + chunk, targets.size):,} "
            f"of {targets.size:,}",
        )
        try:
            rows = augment_generate(
                dataset=dataset, params=params, item_ids=targets[start : start + chunk], save=True
            )
        except BadInput as exc:
            raise JobError(exc.message) from exc
        with transaction.atomic():
            new, old = augmented_items_create(dataset_id=dataset.pk, rows=rows)
        created += new
        existing += old
    progress(targets.size, targets.size, "Done")
    return {
        "parents": int(targets.size),
        "created": created,
        "already_there": existing,
        "recipe": params["recipe"],
        "seed": params["seed"],
        "variants": params["variants"],
        "target": params["target"],
    }


def augment_preview(
    *, dataset: Dataset, params: dict[str, Any], limit: int = 4
) -> list[dict[str, Any]]:
    """A few target items beside their variants; nothing is written."""
    targets = augment_targets(dataset=dataset, target=params["target"])
    if not targets.size:
        raise BadInput("The target holds no items (augmented items are never augmented again).")
    smote = params["recipe"]["steps"][0]["recipe"] == "smote"
    rows = augment_generate(
        dataset=dataset, params=params, item_ids=targets if smote else targets[:limit], save=False
    )
    originals = dict(
        Item.objects.filter(pk__in={r["parent_id"] for r in rows}).values_list("id", "data")
    )
    external = dict(Item.objects.filter(pk__in=originals).values_list("id", "external_id"))
    shown: dict[int, dict[str, Any]] = {}
    for r in rows:
        entry = shown.setdefault(
            r["parent_id"],
            {
                "item": r["parent_id"],
                "external_id": external[r["parent_id"]],
                "original": originals[r["parent_id"]],
                "variants": [],
            },
        )
        entry["variants"].append(r["data"])
        if len(shown) > limit:
            break
    return list(shown.values())[:limit]


# ---------------------------------------------------------------------------------------------
# Drift

DRIFT_FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class _Side:
    """One side of a drift comparison or the target of a data-quality report, looked up: its
    description and how to read it. A side read from a file (a version, a posted batch) needs
    no database connection, so it can be read in a thread beside a database read."""

    name: str
    read: Callable[[], pd.DataFrame]
    from_database: bool


def _side(dataset: Dataset, side: dict[str, Any], *, ordered: bool = True) -> _Side:
    """``{"dataset": true}`` (every item that isn't augmented), ``{"import_batch": id}``,
    ``{"version": n}`` (a frozen version's file) or ``{"file": path}`` (a batch a pipeline
    posted, not stored as items). ``ordered``: rows in item order (a report that names rows
    needs it; a comparison of distributions doesn't)."""
    if "version" in side:
        version = _version(dataset, int(side["version"]))
        return _Side(f"version {side['version']}", lambda: _version_frame(version), False)
    if "file" in side:
        path = side["file"]
        return _Side(f"posted file {side.get('name') or path}", lambda: _file_frame(path), False)
    batch = side.get("import_batch")

    def read() -> pd.DataFrame:
        return selectors.items_frame(
            dataset=dataset,
            data_fields=list(dataset.data_fields),
            metadata_fields=list(dataset.metadata_fields),
            import_batch=batch,
            ordered=ordered,
        )

    return _Side("the whole dataset" if batch is None else f"import batch #{batch}", read, True)


def drift_side(*, dataset: Dataset, side: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """One side (:func:`_side`) as a frame of fields (Arrow-backed text values, rows in item
    order) plus ``__label``, and its description."""
    found = _side(dataset, side)
    return found.read(), found.name


def _read_sides(sides: Sequence[_Side]) -> list[pd.DataFrame]:
    """Each side's frame. Files are read in threads while this one reads the database: Arrow's
    parsing and the database server then each have a core."""
    with ThreadPoolExecutor(max_workers=len(sides)) as pool:
        files = {i: pool.submit(s.read) for i, s in enumerate(sides) if not s.from_database}
        frames = {i: s.read() for i, s in enumerate(sides) if s.from_database}
        return [files[i].result() if i in files else frames[i] for i in range(len(sides))]


def _file_frame(path: str) -> pd.DataFrame:
    """A posted batch: CSV (all text), JSON lines or Parquet, as field values; a ``label``
    column, if any, becomes ``__label``."""
    fmt = DRIFT_FILE_FORMATS.get("." + path.rsplit(".", 1)[-1].lower())
    with default_storage.open(path, "rb") as handle:
        if fmt == "csv":
            # Every column as text; only a missing value (an empty field) is missing.
            header = pa_csv.open_csv(handle).schema.names
            handle.seek(0)
            table = pa_csv.read_csv(
                handle,
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
                ),
            )
        elif fmt == "jsonl":
            columns, rows = field_values.json_lines(pa.py_buffer(handle.read()))
            return field_values.frame(columns, rows).rename(columns={"label": "__label"})
        else:
            table = pq.read_table(handle)
    columns = {name: field_values.arrow_texts(table.column(name)) for name in table.column_names}
    return field_values.frame(columns, table.num_rows).rename(columns={"label": "__label"})


def _version(dataset: Dataset, number: int) -> Any:
    from labeling.versions import versions_of

    version = versions_of(dataset_id=dataset.pk).filter(number=number).first()
    if version is None:
        raise BadInput(f"There is no version {number} of this dataset.")
    return version


def _version_frame(version: Any) -> pd.DataFrame:
    """A frozen version's items that aren't augmented, from its field table
    (``labeling.versions.version_fields``): each field as text and ``__label``."""
    from labeling.versions import version_fields

    table = version_fields(version=version)
    table = table.filter(pc.not_equal(table.column(field_values.ORIGIN), "augmented"))
    table = table.drop_columns([field_values.ORIGIN])
    columns = {name: table.column(name) for name in table.column_names}
    return field_values.frame(columns, table.num_rows)


def drift_run(*, dataset: Dataset, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Compare a batch with a reference field by field (quality.analysis.drift) and give a
    verdict."""
    from quality.analysis.drift import FieldKind, Thresholds, drift_report, field_kind

    progress(0, 1, "Reading the reference and the current batch")
    try:
        sides = [_side(dataset, params[key], ordered=False) for key in ("reference", "current")]
        reference, current = _read_sides(sides)
    except BadInput as exc:
        raise JobError(exc.message) from exc
    except (ValueError, OSError) as exc:
        raise JobError(f"The posted file can't be read: {exc}") from exc
    progress(0.5, 1, f"Comparing {len(current):,} rows with {len(reference):,}")
    reference_labels = reference.pop("__label") if "__label" in reference else None
    current_labels = current.pop("__label") if "__label" in current else None
    # Label drift only when both sides have labels: a fresh, unlabelled batch against a
    # labelled version is the usual case, and says nothing about labels.
    labelled = all(
        labels is not None and labels.notna().any() for labels in (reference_labels, current_labels)
    )
    if not labelled:
        reference_labels = current_labels = None
    images = [f for f in IMAGE_FIELDS if f in reference.columns or f in current.columns]
    reference = reference.drop(columns=[f for f in images if f in reference.columns])
    current = current.drop(columns=[f for f in images if f in current.columns])
    # The dataset's own fields; other columns of a posted file (ids and the like) are listed.
    known = [
        f
        for f in dict.fromkeys([*dataset.data_fields, *dataset.metadata_fields])
        if f not in images and (f in reference.columns or f in current.columns)
    ]
    ignored = sorted(set(current.columns) - set(known) - set(images))
    # A data field is the content labellers read: compared as text (by length), unless its
    # values are numbers (a table's data fields), which are compared as numbers.
    kinds: dict[str, FieldKind] = {
        f: "text"
        for f in dataset.data_fields
        if f in reference.columns and field_kind(reference[f]) != "numeric"
    }
    try:
        report = drift_report(
            reference,
            current,
            fields=known,
            kinds=kinds,
            thresholds=Thresholds(**params.get("thresholds", {})),
            reference_labels=reference_labels,
            current_labels=current_labels,
        )
    except ValueError as exc:
        raise JobError(f"Drift can't be computed: {exc}") from exc
    progress(1, 1, "Done")
    result = report.to_dict()
    return {
        **result,
        "reference": {**params["reference"], "name": sides[0].name, "rows": len(reference)},
        "current": {**params["current"], "name": sides[1].name, "rows": len(current)},
        "drifted_fields": report.drifted_fields,
        "reasons": report.reasons,
        "ignored_columns": ignored,
    }


# ---------------------------------------------------------------------------------------------
# Data-quality reports


def data_rules_set(*, dataset: Dataset, rules: Any, user: Any) -> list[dict[str, Any]]:
    """Replace the dataset's data-quality rules after checking them against its fields."""
    from quality.analysis.data_quality import RuleError, validate_rules
    from quality.models import DataRules

    fields = list(dict.fromkeys([*dataset.data_fields, *dataset.metadata_fields]))
    try:
        checked = validate_rules(rules, fields)
    except RuleError as exc:
        raise BadInput(f"The rules can't be used: {exc}.") from exc
    DataRules.objects.update_or_create(
        dataset=dataset, defaults={"rules": checked, "updated_by": user}
    )
    return checked


def data_quality_run(
    *, dataset: Dataset, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """The data-quality report of an import batch, a version or the whole dataset."""
    from quality.analysis.data_quality import quality_report
    from quality.analysis.drift import field_kind
    from quality.models import DataRules

    progress(0, 1, "Reading the items")
    try:
        frame, name = drift_side(dataset=dataset, side=params["target"])
    except BadInput as exc:
        raise JobError(exc.message) from exc
    labels = frame.pop("__label") if "__label" in frame else None
    saved = DataRules.objects.filter(dataset=dataset).values_list("rules", flat=True).first()
    rules = [*(saved or []), *params.get("rules", [])]
    text_fields = [
        f
        for f in dataset.data_fields
        if f in frame.columns and f not in IMAGE_FIELDS and field_kind(frame[f]) != "numeric"
    ]
    progress(0.3, 1, f"Checking {len(frame):,} rows")
    try:
        report = quality_report(
            frame,
            text_fields=text_fields,
            labels=labels,
            label_classes=list(dataset.labels.values_list("name", flat=True)),
            rules=rules,
            duplicate_fields=[f for f in dataset.data_fields if f in frame.columns] or None,
        )
    except ValueError as exc:
        raise JobError(f"The report can't be made: {exc}") from exc
    progress(1, 1, "Done")
    return {**report.to_dict(), "target": {**params["target"], "name": name}}
