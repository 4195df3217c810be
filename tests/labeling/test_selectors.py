"""Bulk reads for the numeric code give the same arrays whichever way they are read."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from labeling import selectors
from labeling.models import Dataset


def test_annotation_pairs_bulk_path_matches_the_plain_one(
    dataset: Dataset, upload: Any, monkeypatch: Any
) -> None:
    rows = "".join(
        f"i{i},Text {i},W{w},{'positive' if (i + w) % 3 else 'negative'}\n"
        for i in range(40)
        for w in range(3)
    )
    mapping = {"external_id": "id", "data": ["text"], "labeller": "worker", "label": "label"}
    response = upload(
        dataset, "l.csv", "id,text,worker,label\n" + rows, mapping=json.dumps(mapping)
    )
    assert response.status_code == 201, response.json()
    items = list(dataset.items.values_list("id", flat=True))
    plain = selectors.annotation_pairs(dataset_id=dataset.pk, item_ids=items)
    monkeypatch.setattr(selectors, "FEW_ITEMS", 0)  # the bulk path (COPY on PostgreSQL)
    bulk = selectors.annotation_pairs(dataset_id=dataset.pk, item_ids=items)
    everything = selectors.annotation_pairs(dataset_id=dataset.pk)

    def rows_of(pairs: dict[str, Any]) -> list[tuple[int, ...]]:
        keys = ("item_id", "label_id", "item_key", "labeller_id", "label_key")
        return sorted(zip(*(pairs[k].tolist() for k in keys), strict=True))

    assert len(rows_of(plain)) == 120
    assert rows_of(bulk) == rows_of(plain) == rows_of(everything)
    assert np.array_equal(np.sort(everything["touched"]), np.sort(items))
