"""The management commands: the demo dataset, and creating, staffing, importing into and
exporting datasets from the command line."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.test import RequestFactory

from labeling import demo
from labeling.models import (
    Annotation,
    Dataset,
    ImportBatch,
    Item,
    Labeller,
    Membership,
)
from tests.conftest import db_counts as counts
from workbench.models import Job

PETS = (
    "id,text,source,worker,label\n"
    "p1,A cat on a mat,web,W1,cat\n"
    "p1,A cat on a mat,web,W2,dog\n"
    "p2,A dog in the fog,app,W1,dog\n"
    "p3,Is that a snake?,app,,\n"
)


def run(*args: Any) -> str:
    """Run a command; return what it wrote to standard output."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stored_files(settings: Any) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return str(path)


# ---------------------------------------------------------------------------------------------
# The demo data


def test_demo_generation_is_deterministic() -> None:
    assert demo.generate_demo_rows(7) == demo.generate_demo_rows(7)
    assert demo.generate_demo_rows(7) != demo.generate_demo_rows(8)


def test_demo_items_have_slices_and_labellers_of_different_reliability() -> None:
    items = demo.generate_demo_items(7)
    assert len(items) == demo.DEMO_ITEM_COUNT
    assert len({i.external_id for i in items}) == len(items)
    assert {i.truth for i in items} == set(demo.LABEL_NAMES)
    assert {"mixed", "sarcastic", "vague"} <= {i.kind for i in items}
    for field, values in [
        ("source", demo.SOURCES),
        ("device", demo.DEVICES),
        ("language_variant", demo.LANGUAGE_VARIANTS),
        ("product_category", demo.CATEGORIES),
    ]:
        assert {i.metadata[field] for i in items} == set(values)
    assert {i.metadata["rating_stars"] for i in items} == {1, 2, 3, 4, 5}
    assert all(str(i.metadata["collected_at"]).startswith("2026-") for i in items)
    label_counts = Counter(len(i.annotations) for i in items)
    assert label_counts[0] == 30  # 5% left for the labellers
    assert label_counts[1] + label_counts[2] == 90  # 15% partly labelled
    assert label_counts[3] == 480
    correct: dict[str, list[bool]] = defaultdict(list)
    by_slice: dict[bool, list[bool]] = defaultdict(list)
    for item in items:
        hard = item.metadata["source"] == "email" or item.metadata["language_variant"] == "en-IN"
        for ann in item.annotations:
            correct[ann.labeller].append(ann.label == item.truth)
            by_slice[hard].append(ann.label == item.truth)
    accuracy = {name: sum(hits) / len(hits) for name, hits in correct.items()}
    assert {"crowd:W3KX9", "crowd:Q7TZ2"} <= set(accuracy)
    assert accuracy["alice"] > accuracy["bob"] > accuracy["dave"] > accuracy["erin"]
    assert accuracy["alice"] > 0.8
    assert sum(by_slice[True]) / len(by_slice[True]) < sum(by_slice[False]) / len(by_slice[False])


def test_demo_load_creates_a_labelled_dataset_to_explore(db: None, settings: Any) -> None:
    out = run("demo_load")

    dataset = Dataset.objects.get(name=demo.DEMO_DATASET_NAME)
    assert "http://127.0.0.1:8000/" in out
    assert "demo / demo-workbench" in out
    login = RequestFactory().post("/login/")
    demo_user = authenticate(login, username="demo", password="demo-workbench")
    assert demo_user is not None
    assert demo_user.is_superuser
    assert demo_user.is_staff
    assert authenticate(login, username="erin", password="demo-workbench") is not None
    assert dict(
        Membership.objects.filter(dataset=dataset).values_list("user__username", "role")
    ) == {
        "demo": "owner",
        "alice": "reviewer",
        "bob": "annotator",
        "carol": "annotator",
        "dave": "annotator",
        "erin": "annotator",
    }
    assert list(dataset.labels.values_list("name", "hotkey")) == [
        ("positive", "1"),
        ("negative", "2"),
        ("neutral", "3"),
    ]
    assert all(dataset.labels.values_list("description", flat=True))
    assert "Mixed reviews" in dataset.guidelines
    assert dataset.annotators_per_item == 3

    items = Item.objects.filter(dataset=dataset)
    assert items.count() == demo.DEMO_ITEM_COUNT
    assert set(dataset.metadata_fields) == {
        "source",
        "device",
        "language_variant",
        "product_category",
        "rating_stars",
        "collected_at",
    }
    first = items.get(external_id="rev-0001")
    assert set(first.data) == {"text"}
    assert isinstance(first.metadata["rating_stars"], int)

    labellers = dict(Labeller.objects.filter(dataset=dataset).values_list("name", "user__username"))
    assert labellers == {
        "alice": "alice",
        "bob": "bob",
        "carol": "carol",
        "dave": "dave",
        "erin": "erin",
        "crowd:W3KX9": None,
        "crowd:Q7TZ2": None,
    }
    assert items.filter(annotation_count=0).count() == 30
    assert items.filter(annotation_count__in=[1, 2]).count() == 90
    disagreements = items.annotate(n=Count("annotations__label", distinct=True)).filter(n__gt=1)
    assert disagreements.count() > 100
    assert items.filter(reference_label__isnull=False).count() == 570

    batch = ImportBatch.objects.get(dataset=dataset)
    assert (batch.source, batch.status, batch.uploaded_by) == (
        "Generated demo data (seeded)",
        "succeeded",
        demo_user,
    )
    assert batch.annotation_count == Annotation.objects.filter(item__dataset=dataset).count()
    assert len(stored_files(settings)) == 1  # the generated file is kept as provenance


def test_demo_load_twice_adds_nothing(db: None) -> None:
    run("demo_load")
    before = counts()
    users = get_user_model().objects.count()

    out = run("demo_load")

    assert counts() == before
    assert get_user_model().objects.count() == users
    assert Dataset.objects.filter(name=demo.DEMO_DATASET_NAME).count() == 1
    assert "already exists" in out
    assert "demo / demo-workbench" in out


def test_demo_load_keeps_the_password_of_an_existing_user(db: None) -> None:
    get_user_model().objects.create_user("alice", password="alice-own-secret")

    run("demo_load")

    login = RequestFactory().post("/login/")
    assert authenticate(login, username="alice", password="alice-own-secret") is not None
    dataset = Dataset.objects.get(name=demo.DEMO_DATASET_NAME)
    assert Membership.objects.get(dataset=dataset, user__username="alice").role == "reviewer"


# ---------------------------------------------------------------------------------------------
# dataset_create and dataset_member


def test_dataset_create_prints_the_id(owner: Any, tmp_path: Path) -> None:
    guidelines = write(tmp_path, "guide.md", "Label the animal you see.\n")

    out = run(
        "dataset_create",
        "Pets",
        "--owner",
        "owner",
        "--labels",
        "cat, dog,bird",
        "--description",
        "Animal photos",
        "--guidelines-file",
        guidelines,
        "--annotators-per-item",
        "2",
    )

    dataset = Dataset.objects.get(pk=int(out.strip()))
    assert (dataset.name, dataset.description, dataset.annotators_per_item) == (
        "Pets",
        "Animal photos",
        2,
    )
    assert dataset.guidelines == "Label the animal you see.\n"
    assert list(dataset.labels.values_list("name", "hotkey")) == [
        ("cat", "1"),
        ("dog", "2"),
        ("bird", "3"),
    ]
    assert Membership.objects.get(dataset=dataset).user == owner


def test_dataset_create_takes_labels_as_json(owner: Any) -> None:
    labels = [{"name": "spam", "hotkey": "s", "description": "Unwanted"}, {"name": "ham"}]

    out = run(
        "dataset_create", "Mail", "--owner", "owner", "--labels-json", orjson.dumps(labels).decode()
    )

    dataset = Dataset.objects.get(pk=int(out))
    assert list(dataset.labels.values_list("name", "hotkey", "description")) == [
        ("spam", "s", "Unwanted"),
        ("ham", "1", ""),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "nobody", "--labels", "a"], "no user named 'nobody'"),
        (["--owner", "owner", "--labels", "a,b,a"], "Label names repeat: a"),
        (["--owner", "owner", "--labels-json", '[{"name": "a", "hotkey": "ab"}]'], "one key"),
        (["--owner", "owner", "--labels-json", "[{"], "--labels-json is not valid JSON"),
        (["--owner", "owner", "--guidelines-file", "/no/such/file"], "no file /no/such/file"),
        (["--owner", "owner", "--annotators-per-item", "0"], "between 1 and 100"),
    ],
)
def test_dataset_create_refuses_bad_input_and_creates_nothing(
    owner: Any, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("dataset_create", "Pets", *args)
    assert not Dataset.objects.exists()


def test_dataset_member_adds_changes_and_removes(dataset: Dataset, outsider: Any) -> None:
    assert "Added outsider" in run("dataset_member", str(dataset.pk), "outsider", "annotator")
    assert Membership.objects.get(dataset=dataset, user=outsider).role == "annotator"

    assert "(was annotator)" in run("dataset_member", str(dataset.pk), "outsider", "reviewer")
    assert Membership.objects.get(dataset=dataset, user=outsider).role == "reviewer"

    run("dataset_member", str(dataset.pk), "outsider", "--remove")
    assert not Membership.objects.filter(dataset=dataset, user=outsider).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["owner", "annotator"], "at least one owner"),
        (["owner", "--remove"], "at least one owner"),
        (["outsider", "--remove"], "not a member"),
        (["outsider", "boss"], "invalid choice"),
        (["outsider"], "Give a role"),
        (["nobody", "annotator"], "no user named 'nobody'"),
    ],
)
def test_dataset_member_refuses_bad_changes(
    dataset: Dataset, outsider: Any, args: list[str], message: str
) -> None:
    before = sorted(Membership.objects.values_list("user__username", "role"))
    with pytest.raises(CommandError, match=message):
        run("dataset_member", str(dataset.pk), *args)
    assert sorted(Membership.objects.values_list("user__username", "role")) == before


def test_commands_name_a_missing_dataset(db: None, owner: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "pets.csv", PETS)
    for args in (
        ["dataset_member", "999", "owner", "owner"],
        ["dataset_import", "999", path, "--user", "owner"],
        ["dataset_export", "999", "--output", str(tmp_path / "x.csv")],
    ):
        with pytest.raises(CommandError, match="no dataset with id 999"):
            run(*args)


# ---------------------------------------------------------------------------------------------
# dataset_import


def test_dataset_import_records_provenance(
    dataset: Dataset, owner: Any, tmp_path: Path, settings: Any
) -> None:
    dataset.labels.all().delete()  # labels come from the file
    path = write(tmp_path, "pets.csv", PETS)

    out = run(
        "dataset_import",
        str(dataset.pk),
        path,
        "--user",
        "owner",
        "--source",
        "Photos from the shelter",
        "--default-metadata",
        '{"batch": "may"}',
    )

    assert "4 rows, 3 new items, 3 annotations" in out
    assert "New labels: cat, dog" in out
    batch = ImportBatch.objects.get()
    assert (batch.file_name, batch.source, batch.uploaded_by, batch.status) == (
        "pets.csv",
        "Photos from the shelter",
        owner,
        "succeeded",
    )
    assert Item.objects.get(external_id="p1").metadata == {"source": "web", "batch": "may"}
    assert sorted(Annotation.objects.values_list("labeller__name", "label__name")) == [
        ("W1", "cat"),
        ("W1", "dog"),
        ("W2", "dog"),
    ]
    assert len(stored_files(settings)) == 1


def test_dataset_import_applies_format_and_mapping(dataset: Dataset, tmp_path: Path) -> None:
    path = write(tmp_path, "reviews.txt", "key\tbody\tverdict\nk1\tFine\tneutral\n")

    run(
        "dataset_import",
        str(dataset.pk),
        path,
        "--user",
        "owner",
        "--format",
        "tsv",
        "--mapping",
        '{"external_id": "key", "data": ["body"], "label": "verdict"}',
    )

    item = Item.objects.get()
    assert (item.external_id, item.data) == ("k1", {"body": "Fine"})
    assert item.annotations.get().label.name == "neutral"


def test_dataset_import_runs_a_large_file_to_the_end(
    dataset: Dataset, tmp_path: Path, settings: Any
) -> None:
    settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES = 10  # anything bigger goes to a job
    dataset.labels.all().delete()
    path = write(tmp_path, "pets.csv", PETS)

    out = run("dataset_import", str(dataset.pk), path, "--user", "owner")

    assert "3 new items, 3 annotations" in out
    job = Job.objects.get()
    assert job.status == "succeeded"
    assert job.worker.startswith("inline@")  # run here, not queued
    assert ImportBatch.objects.get().status == "succeeded"
    assert Item.objects.count() == 3


BAD_FILES = [
    (
        "unknown label",
        "id,text,label\nq1,Purrs,positive\nq2,Barks,woof\n",
        r"Row 2, column 'label': Unknown label 'woof'",
    ),
    (
        "ragged row",
        "id,text,label\nq1,Purrs,positive\nq2,Barks\n",
        r"Row 2: Row has 2 fields; the header has 3",
    ),
]


@pytest.mark.parametrize("large", [False, True], ids=["inline", "job"])
@pytest.mark.parametrize(("case", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_import_names_the_row_and_changes_nothing(
    dataset: Dataset,
    tmp_path: Path,
    settings: Any,
    large: bool,
    case: str,
    content: str,
    message: str,
) -> None:
    if large:
        settings.WORKBENCH_IMPORT_INLINE_MAX_BYTES = 10
    run(
        "dataset_import",
        str(dataset.pk),
        write(tmp_path, "ok.csv", "id,text\nold,Hi\n"),
        "--user",
        "owner",
    )
    before, files = counts(), stored_files(settings)

    with pytest.raises(CommandError, match=message) as raised:
        run(
            "dataset_import",
            str(dataset.pk),
            write(tmp_path, "bad.csv", content),
            "--user",
            "owner",
        )

    assert str(raised.value).startswith("Nothing was imported.")
    assert counts() == before
    assert stored_files(settings) == files


def test_a_bad_import_lists_every_problem(dataset: Dataset, tmp_path: Path) -> None:
    content = "id,text,label\nq1,Purrs,meow\nq2,Barks\nq3,Hisses,positive\nq4,Moos,moo\n"

    with pytest.raises(CommandError) as raised:
        run(
            "dataset_import",
            str(dataset.pk),
            write(tmp_path, "bad.csv", content),
            "--user",
            "owner",
        )

    lines = str(raised.value).splitlines()
    assert "(3 problems in all)" in lines[0]
    assert lines[1:] == [
        "Problems:",
        "  Row 1, column 'label': Unknown label 'meow'. The dataset's labels: negative, neutral, "
        "positive.",
        "  Row 2: Row has 2 fields; the header has 3.",
        "  Row 4, column 'label': Unknown label 'moo'. The dataset's labels: negative, neutral, "
        "positive.",
    ]


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("pets.csv", PETS, ["--mapping", "{oops"], "--mapping is not valid JSON"),
        ("pets.csv", PETS, ["--mapping", '{"colour": "x"}'], "Unknown mapping key"),
        ("pets.csv", PETS, ["--default-metadata", "[1]"], "Must be a JSON object"),
        ("pets.doc", PETS, [], "Can't tell the format of 'pets.doc'"),
        ("empty.csv", "", [], "The file is empty"),
        ("pets.csv", PETS, ["--user", "nobody"], "no user named 'nobody'"),
    ],
)
def test_dataset_import_refuses_bad_options(
    dataset: Dataset, tmp_path: Path, name: str, content: str, args: list[str], message: str
) -> None:
    path = write(tmp_path, name, content)
    before = counts()
    user = [] if "--user" in args else ["--user", "owner"]
    with pytest.raises(CommandError, match=message):
        run("dataset_import", str(dataset.pk), path, *user, *args)
    assert counts() == before


def test_dataset_import_names_a_missing_file(dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="There is no file"):
        run("dataset_import", str(dataset.pk), str(tmp_path / "nope.csv"), "--user", "owner")


# ---------------------------------------------------------------------------------------------
# dataset_export


@pytest.fixture
def pets(dataset: Dataset, tmp_path: Path) -> Dataset:
    dataset.labels.all().delete()
    run("dataset_import", str(dataset.pk), write(tmp_path, "pets.csv", PETS), "--user", "owner")
    return dataset


def test_dataset_export_writes_every_format(pets: Dataset, tmp_path: Path) -> None:
    paths = {}
    for fmt in ("csv", "jsonl", "parquet", "label-studio"):
        paths[fmt] = tmp_path / f"out.{fmt}"
        out = run("dataset_export", str(pets.pk), "--format", fmt, "--output", str(paths[fmt]))
        assert "3 items (3 annotations)" in out

    csv_lines = paths["csv"].read_text().splitlines()
    assert csv_lines[0].startswith("external_id,data.text,metadata.source")
    assert len(csv_lines) == 4
    rows = [orjson.loads(line) for line in paths["jsonl"].read_bytes().splitlines()]
    assert [r["external_id"] for r in rows] == ["p1", "p2", "p3"]
    assert [len(r["annotations"]) for r in rows] == [2, 1, 0]
    assert pq.read_table(paths["parquet"]).num_rows == 3
    tasks = orjson.loads(paths["label-studio"].read_bytes())
    assert [t["meta"]["external_id"] for t in tasks] == ["p1", "p2", "p3"]
    assert not list(tmp_path.glob(".*.part"))


def test_dataset_export_to_stdout(pets: Dataset) -> None:
    out = io.StringIO()
    err = io.StringIO()
    call_command(
        "dataset_export", str(pets.pk), "--format", "jsonl", "--output", "-", stdout=out, stderr=err
    )

    assert [orjson.loads(line)["external_id"] for line in out.getvalue().splitlines()] == [
        "p1",
        "p2",
        "p3",
    ]
    assert "Exported 3 items" in err.getvalue()


def test_dataset_export_refuses_parquet_to_a_text_stream_and_missing_dirs(
    pets: Dataset, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="Parquet is binary"):
        run("dataset_export", str(pets.pk), "--format", "parquet", "--output", "-")
    with pytest.raises(CommandError, match="does not exist"):
        run("dataset_export", str(pets.pk), "--output", str(tmp_path / "no" / "x.csv"))
    with pytest.raises(CommandError, match="invalid choice"):
        run("dataset_export", str(pets.pk), "--format", "xml", "--output", "-")


def test_export_then_import_gives_the_same_dataset(
    pets: Dataset, owner: Any, tmp_path: Path
) -> None:
    path = tmp_path / "pets.jsonl"
    run("dataset_export", str(pets.pk), "--format", "jsonl", "--output", str(path))
    copy_id = run("dataset_create", "Pets again", "--owner", "owner").strip()

    run("dataset_import", copy_id, str(path), "--user", "owner")

    def snapshot(dataset_id: int | str) -> list[Any]:
        return [
            (
                i.external_id,
                i.data,
                i.metadata,
                i.reference_label and i.reference_label.name,
                sorted(i.annotations.values_list("labeller__name", "label__name")),
            )
            for i in Item.objects.filter(dataset_id=dataset_id)
            .order_by("external_id")
            .select_related("reference_label")
        ]

    assert snapshot(copy_id) == snapshot(pets.pk)
