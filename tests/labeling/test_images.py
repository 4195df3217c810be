"""Image datasets from a ZIP (with an optional CSV by file name), served to members only."""

from __future__ import annotations

import base64
import io
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from labeling import images
from labeling.models import Annotation, Dataset, Item
from tests.conftest import client_for, db_counts

# A 1-by-1 PNG and the start of a JPEG: real magic numbers, no imaging library needed.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def make_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


CSV = "file,label,annotator,camera\ncats/cat1.png,positive,W1,phone\ncat2.png,negative,W1,dslr\n"


def test_zip_of_images_with_labels(
    dataset: Dataset, upload: Any, annotator: Any, outsider: Any, settings: Any
) -> None:
    content = make_zip(
        {
            "cats/cat1.png": PNG,
            "cats/cat2.png": PNG,
            "dog.jpg": JPEG,
            "labels.csv": CSV.encode(),
            "__MACOSX/._dog.jpg": b"junk",
            "README.txt": b"hello",
        }
    )
    response = upload(dataset, "pets.zip", content, source="Camera roll")
    assert response.status_code == 201, response.json()
    items = {i.external_id: i for i in Item.objects.filter(dataset=dataset)}
    assert set(items) == {"cats/cat1.png", "cats/cat2.png", "dog.jpg"}
    cat1 = items["cats/cat1.png"]
    assert cat1.metadata == {"file_name": "cats/cat1.png", "camera": "phone"}
    assert items["cats/cat2.png"].metadata["camera"] == "dslr"  # matched by base name
    assert Annotation.objects.get(item=cat1).label.name == "positive"
    url = cat1.data["image"]
    assert url.startswith(f"/datasets/{dataset.pk}/files/")
    member = client_for(annotator)
    member.force_login(annotator)
    served = member.get(url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    stranger = client_for(outsider)
    stranger.force_login(outsider)
    assert stranger.get(url).status_code == 403
    escape = f"/datasets/{dataset.pk}/files/../../secret_key"
    assert member.get(escape).status_code == 404
    missing = f"/datasets/{dataset.pk}/files/{url.rsplit('/', 2)[-2]}/nope.png"
    assert member.get(missing).status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.png": PNG, "labels.csv": b"file,label\nb.png,positive\n"}, "which the ZIP lacks"),
        ({"a.png": b"not really a png"}, "is not a PNG, JPEG, GIF or WebP image"),
        ({"notes.txt": b"no images"}, "holds no images"),
        ({"a.png": PNG, "labels.csv": b"file,label\na.png,purple\n"}, "Unknown label 'purple'"),
    ],
)
def test_bad_zips_change_nothing(
    dataset: Dataset, upload: Any, settings: Any, files: dict[str, bytes], message: str
) -> None:
    before = db_counts()
    response = upload(dataset, "bad.zip", make_zip(files))
    assert response.status_code == 400
    assert message in str(response.json())
    assert db_counts() == before
    assert list(images.stored_files(images.dataset_prefix(dataset.pk))) == []


def test_not_a_zip(dataset: Dataset, upload: Any) -> None:
    response = upload(dataset, "fake.zip", b"PK but not really")
    assert response.status_code == 400
    assert "not a readable ZIP" in response.json()["detail"]


def test_preview_keeps_no_files(dataset: Dataset, owner: Any, client: Any) -> None:
    client.force_login(owner)
    file = io.BytesIO(make_zip({"a.png": PNG}))
    file.name = "one.zip"
    response = client.post(f"/datasets/{dataset.pk}/import/", {"action": "preview", "file": file})
    assert response.status_code == 200
    assert response.context["preview"]["summary"]["items"] == 1
    assert not Item.objects.exists()
    assert list(images.stored_files(images.dataset_prefix(dataset.pk))) == []


@pytest.fixture
def s3_bucket(settings: Any) -> Iterator[Any]:
    """Images in an S3-compatible bucket: moto's S3 server on a local port, reached over HTTP by
    django-storages and boto3 exactly as a MinIO or AWS endpoint would be."""
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    # moto keeps its buckets for the whole process: a bucket of its own for each test.
    bucket = f"workbench-images-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "location": "media",
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }
    try:
        yield client, bucket
    finally:
        server.stop()


def bucket_keys(s3: tuple[Any, str]) -> list[str]:
    client, bucket = s3
    listing = client.list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_images_in_an_s3_bucket(
    dataset: Dataset, upload: Any, annotator: Any, outsider: Any, s3_bucket: Any
) -> None:
    response = upload(dataset, "pets.zip", make_zip({"cats/cat1.png": PNG, "dog.jpg": JPEG}))
    assert response.status_code == 201, response.json()
    batch = response.json()["import_batch"]["id"]
    assert bucket_keys(s3_bucket) == [
        f"media/datasets/{dataset.pk}/{batch}/cats/cat1.png",
        f"media/datasets/{dataset.pk}/{batch}/dog.jpg",
    ]
    assert not (images.Path(images.settings.MEDIA_ROOT) / "datasets" / str(dataset.pk)).exists()
    url = Item.objects.get(dataset=dataset, external_id="dog.jpg").data["image"]
    member = client_for(annotator)
    member.force_login(annotator)
    served = member.get(url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == JPEG
    stranger = client_for(outsider)
    stranger.force_login(outsider)
    assert stranger.get(url).status_code == 403


def test_a_failed_import_leaves_nothing_in_the_bucket(
    dataset: Dataset, upload: Any, s3_bucket: Any
) -> None:
    bad = make_zip({"a.png": PNG, "b.png": PNG, "labels.csv": b"file,label\nb.png,purple\n"})
    response = upload(dataset, "bad.zip", bad)
    assert response.status_code == 400
    assert bucket_keys(s3_bucket) == []
