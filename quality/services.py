"""Writes of the quality app: the agreement and consensus run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction

from labeling.models import ConsensusMethod, Dataset, Labeller
from labeling.selectors import annotation_frame
from labeling.services import reference_labels_refresh
from quality import selectors
from quality.analysis.agreement import (
    Level,
    agreement_report,
    frame_records,
    krippendorff_alpha,
    slice_agreement,
)
from quality.analysis.consensus import dawid_skene, majority_vote
from workbench.jobs import JobError, Progress

# A labeller is flagged when even the top of their 95% interval of agreement with the others
# is below the median labeller's agreement, and they gave at least this many labels.
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
    "confusions": "The label pairs labellers disagree on most: the share of all disagreeing pairs.",
    "majority_vote": "The label given most often; ties go to the label whose labellers are more "
    "reliable (agreement with the others), then to a seeded draw. Confidence: its share of votes.",
    "dawid_skene": "Dawid-Skene: estimates each labeller's confusion matrix and the class priors "
    "by expectation-maximisation; the consensus is the most probable class, its confidence that "
    "probability.",
    "ds_accuracy": "The Dawid-Skene estimate of the chance that the labeller gives the true class.",
    "flagged": "Flagged: the upper end of the labeller's 95% interval is below the median "
    "labeller's agreement (and they gave at least 10 labels).",
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
    votes = majority_vote(
        items,
        labels,
        labeller_ids=labellers,
        reliability=(rates.index.to_numpy(), rates.to_numpy(dtype=np.float64)),
    )
    ds = dawid_skene(items, labellers, labels, k)
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
    with transaction.atomic():
        _consensus_store(dataset, job_id, method, frame.label_ids, ds, rates)
        reference_labels_refresh(dataset_id=dataset.pk)
    progress(1, 1, "Done")
    return result


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
