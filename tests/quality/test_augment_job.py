"""Augmentation jobs through the public API: preview before writing, text/tabular/SMOTE/image
recipes, provenance (parent, recipe, seed, inherited reference label), determinism and
idempotence, augmented items kept out of labelling, agreement and HLP, exports that include or
exclude them, and bad parameters refused with nothing stored."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import numpy as np
from django.test import Client
from PIL import Image

from labeling import services
from labeling.models import Dataset, Item, Origin
from workbench.models import Job

TEXTS = [
    "the battery died after two days of light use",
    "great screen and the sound is crisp and loud",
    "shipping was slow but support answered quickly",
    "it broke the first time I dropped it on carpet",
    "exactly as described and works out of the box",
]


def text_dataset(owner: Any, upload: Any) -> Dataset:
    dataset = services.dataset_create(
        name="Reviews", created_by=owner, labels=["pos", "neg"], annotators_per_item=2
    )
    rows = "".join(
        f"r{i},{text},{'neg' if i % 2 == 0 else 'pos'},{'web' if i < 3 else 'app'}\n"
        for i, text in enumerate(TEXTS)
    )
    response = upload(dataset, "reviews.csv", "id,text,label,source\n" + rows)
    assert response.status_code == 201, response.json()
    return dataset


def augmented(dataset: Dataset) -> list[Item]:
    return list(
        Item.objects.filter(dataset=dataset, origin=Origin.AUGMENTED)
        .select_related("parent", "reference_label")
        .order_by("external_id")
    )


def test_preview_then_text_augmentation(owner: Any, api: Any, upload: Any, run_job: Any) -> None:
    dataset = text_dataset(owner, upload)
    base = f"/api/v1/datasets/{dataset.pk}"
    params = {
        "recipe": "word_delete",
        "recipe_params": {"p": 0.3},
        "target": {"label": "neg"},
        "seed": 7,
        "variants": 2,
    }
    preview = api.post(f"{base}/augment/preview/", params, format="json")
    assert preview.status_code == 200, preview.json()
    shown = preview.json()["items"]
    assert [row["external_id"] for row in shown] == ["r0", "r2", "r4"]
    for row in shown:
        assert len(row["variants"]) == 2
        original = row["original"]["text"].split()
        for variant in row["variants"]:
            words = variant["text"].split()
            assert 1 <= len(words) <= len(original) and set(words) <= set(original)
    assert not augmented(dataset)  # a preview writes nothing

    job = run_job(dataset, kind="augment", **params)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["created"] == 6 and job["result"]["parents"] == 3
    made = augmented(dataset)
    assert len(made) == 6
    for item in made:
        assert item.parent is not None and item.parent.external_id in {"r0", "r2", "r4"}
        assert item.reference_label is not None and item.reference_label.name == "neg"
        assert item.reference_method == "augmented"
        assert item.recipe is not None
        assert item.recipe["seed"] == 7 and item.recipe["steps"][0] == {
            "recipe": "word_delete",
            "p": 0.3,
        }
        assert item.metadata == item.parent.metadata
        assert item.annotation_count == 0
    # The preview showed exactly what the job wrote.
    written = {(i.parent.external_id, i.recipe["variant"]): i.data["text"] for i in made}
    for row in shown:
        for variant, data in enumerate(row["variants"]):
            assert written[(row["external_id"], variant)] == data["text"]

    # Same recipe and seed again: the same items, none added twice.
    again = run_job(dataset, kind="augment", **params)
    assert again["result"]["created"] == 0 and again["result"]["already_there"] == 6
    assert [i.data for i in augmented(dataset)] == [i.data for i in made]
    # Another seed: new items.
    other = run_job(dataset, kind="augment", **{**params, "seed": 8})
    assert other["result"]["created"] == 6

    # Augmented items never count: not labelled, not in agreement, filtered from exports.
    for _ in range(5):
        response = api.get(f"{base}/next-item/")
        if response.status_code == 204:
            break
        nxt = response.json()["item"]
        assert not nxt["external_id"].startswith("r") or "~" not in nxt["external_id"]
        api.post(f"{base}/annotations/", {"item": nxt["id"], "label": "pos"}, format="json")
    agreement = run_job(dataset, kind="agreement", consensus_method="majority_vote")
    assert agreement["result"]["counts"]["items"] <= 5

    export = api.get(f"{base}/export/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == 5 + 12
    child = next(r for r in rows if r["origin"] == "augmented")
    assert child["parent"] in {"r0", "r2", "r4"}
    assert json.loads(child["recipe"])["steps"][0]["recipe"] == "word_delete"
    only_originals = api.get(f"{base}/export/?format=csv&augmented=exclude")
    text = b"".join(only_originals.streaming_content).decode()
    assert len(list(csv.DictReader(io.StringIO(text)))) == 5
    only_augmented = api.get(f"{base}/export/?format=jsonl&augmented=only")
    lines = b"".join(only_augmented.streaming_content).decode().splitlines()
    assert len(lines) == 12 and all(json.loads(line)["parent"] for line in lines)
    assert api.get(f"{base}/export/?augmented=maybe").status_code == 400


def test_bad_parameters_store_nothing(owner: Any, api: Any, upload: Any) -> None:
    dataset = text_dataset(owner, upload)
    url = f"/api/v1/datasets/{dataset.pk}/jobs/"
    other = services.dataset_create(name="Other", created_by=owner, labels=["x"])
    assert upload(other, "o.csv", "id,text\nz,zed\n").status_code == 201
    foreign = Item.objects.get(dataset=other).pk
    cases = [
        ({"recipe": "shout", "target": {"label": "neg"}}, "recipe", "Unknown recipe"),
        (
            {"recipe": "word_delete", "recipe_params": {"p": 1.5}, "target": {"label": "neg"}},
            "recipe",
            "p must be between 0 and 1, got 1.5",
        ),
        ({"recipe": "hflip", "target": {"label": "neg"}}, "recipe", "image recipe"),
        ({"recipe": "word_swap", "target": {"items": [foreign]}}, "target", "no items"),
        (
            {"recipe": "word_swap", "target": {"label": "neg"}, "variants": 50},
            "variants",
            "1 to 20",
        ),
        ({"recipe": "word_swap"}, "target", "Say what to augment"),
        ({"recipe": "word_swap", "target": {"slice": 0}}, "target", "no slice table"),
    ]
    for params, field, message in cases:
        response = api.post(url, {"kind": "augment", "params": params}, format="json")
        assert response.status_code == 400, params
        assert message.lower() in json.dumps(response.json()[field]).lower(), response.json()
        preview = api.post(f"/api/v1/datasets/{dataset.pk}/augment/preview/", params, format="json")
        assert preview.status_code == 400, params
    assert not Job.objects.filter(kind="augment").exists()
    assert not augmented(dataset)


def test_tabular_jitter_and_smote(owner: Any, api: Any, upload: Any, run_job: Any) -> None:
    dataset = services.dataset_create(
        name="Sensors", created_by=owner, labels=["ok", "fault"], annotators_per_item=1
    )
    rng = np.random.default_rng(3)
    rows = []
    for i in range(40):
        fault = i < 8  # 8 faults, 32 ok: SMOTE brings faults up to 32
        rows.append(
            f"s{i},{rng.normal(5 if fault else 0, 1):.3f},{rng.normal(2, 0.5):.3f},"
            f"{'fault' if fault else 'ok'}\n"
        )
    mapping = {"external_id": "id", "data": ["temp", "load"], "label": "label"}
    response = upload(
        dataset, "s.csv", "id,temp,load,label\n" + "".join(rows), mapping=json.dumps(mapping)
    )
    assert response.status_code == 201, response.json()
    job = run_job(
        dataset,
        kind="augment",
        recipe="gaussian_jitter",
        recipe_params={"scale": 0.05},
        target={"label": "ok"},
        seed=1,
    )
    assert job["status"] == "succeeded", job["error"]
    jittered = augmented(dataset)
    assert len(jittered) == 32
    for item in jittered:
        # Imported fields are text; the jittered copies hold numbers.
        assert abs(item.data["temp"] - float(item.parent.data["temp"])) < 1.0
        assert item.reference_label.name == "ok"
        assert item.recipe["steps"][0]["sd"]["temp"] > 0  # the absolute sd applied

    Item.objects.filter(origin=Origin.AUGMENTED).delete()
    job = run_job(
        dataset,
        kind="augment",
        recipe="smote",
        target={"items": list(Item.objects.filter(dataset=dataset).values_list("id", flat=True))},
        seed=2,
    )
    assert job["status"] == "succeeded", job["error"]
    made = augmented(dataset)
    assert len(made) == 24  # 32 - 8 new faults
    for item in made:
        assert item.reference_label.name == "fault" and item.parent.reference_label.name == "fault"
        neighbour = Item.objects.get(dataset=dataset, external_id=item.recipe["neighbour"])
        step = item.recipe["step"]
        for field in ("temp", "load"):
            low, high = float(item.parent.data[field]), float(neighbour.data[field])
            expected = low + step * (high - low)
            assert abs(item.data[field] - expected) < 1e-9


def test_image_augmentation_stores_new_images(
    owner: Any, api: Any, upload: Any, run_job: Any
) -> None:
    dataset = services.dataset_create(name="Pics", created_by=owner, labels=["cat", "dog"])
    picture = Image.new("RGB", (8, 6))
    picture.putpixel((0, 0), (255, 0, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.png", buffer.getvalue())
        zipped.writestr("labels.csv", "file,label\na.png,cat\n")
    assert upload(dataset, "pics.zip", archive.getvalue()).status_code == 201
    job = run_job(dataset, kind="augment", recipe="hflip", target={"label": "cat"}, seed=0)
    assert job["status"] == "succeeded", job["error"]
    (child,) = augmented(dataset)
    assert child.data["image"] != child.parent.data["image"]
    browser = Client()
    browser.force_login(owner)
    response = browser.get(child.data["image"])
    assert response.status_code == 200
    flipped = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert flipped.size == (8, 6)
    assert flipped.getpixel((7, 0)) == (255, 0, 0) and flipped.getpixel((0, 0)) == (0, 0, 0)


def test_augment_page(owner: Any, annotator: Any, upload: Any, settings: Any) -> None:
    from labeling.models import Role

    dataset = text_dataset(owner, upload)
    services.membership_set(dataset=dataset, username="annotator", role=Role.ANNOTATOR)
    page = Client()
    page.force_login(owner)
    url = f"/datasets/{dataset.pk}/augment/"
    html = page.get(f"{url}?target=label&value=neg&recipe=typo").content.decode()
    assert 'value="neg"' in html and '<option value="typo" selected>' in html
    assert f'href="{url}"' in page.get(f"/datasets/{dataset.pk}/").content.decode()
    # A bad recipe parameter: the reason, no job, the form keeps what was typed.
    response = page.post(
        url,
        {"target": "label", "value": "neg", "recipe": "typo", "recipe_params": '{"p": 9}'},
        follow=True,
    )
    text = response.content.decode()
    assert "p must be between 0 and 1, got 9" in text and "&quot;p&quot;: 9" in text
    response = page.post(
        url,
        {"target": "label", "value": "neg", "recipe": "typo", "recipe_params": "{p"},
        follow=True,
    )
    assert "Parameters must be JSON" in response.content.decode()
    assert not Job.objects.filter(kind="augment").exists()
    response = page.post(
        url, {"target": "label", "value": "neg", "recipe": "typo", "seed": "4", "variants": "3"}
    )
    assert response.status_code == 302
    job = Job.objects.get(kind="augment")
    assert (job.params["seed"], job.params["variants"], job.params["target"]) == (
        4,
        3,
        {"label": "neg"},
    )
    job.refresh_from_db()
    html = page.get(url).content.decode()
    assert f"job #{job.pk}" in html, job.status
    watcher = Client()
    watcher.force_login(annotator)
    assert watcher.get(url).status_code == 403
