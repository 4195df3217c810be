"""Image datasets: a ZIP of image files (and optionally one CSV of metadata and labels keyed by
file name) becomes one image item per file. The files are kept in Django's default storage (the
media root, or an S3-compatible bucket through django-storages when ``WORKBENCH_S3_BUCKET`` is set)
and served only to the dataset's members, through ``views.dataset_file``."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage
from django.urls import reverse
from django.utils.text import get_valid_filename

from labeling import formats

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
MAX_IMAGES = 200_000
MAX_IMAGE_BYTES = 50 * 2**20
MAX_EXPANSION = 20  # a ZIP may unpack to at most 20 times the upload limit (zip bombs)
KEY_COLUMNS = ("file", "file_name", "filename", "image", "path", "name")


def _is_image(head: bytes) -> bool:
    return (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")
        or head.startswith((b"GIF87a", b"GIF89a"))
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def _storage() -> Storage:
    return default_storage


def dataset_prefix(dataset_id: int) -> str:
    return f"datasets/{dataset_id}"


def stored_files(prefix: str) -> Iterator[str]:
    """Every file name under ``prefix`` in the storage (recursively)."""
    storage = _storage()
    try:
        folders, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from stored_files(f"{prefix}/{folder}")


def delete_files(prefix: str) -> None:
    """Remove every stored file under ``prefix``."""
    storage = _storage()
    for name in list(stored_files(prefix)):
        storage.delete(name)


def discard(dataset_id: int, batch_id: int) -> None:
    """Remove the images an import stored (when it fails or was only a preview)."""
    delete_files(f"{dataset_prefix(dataset_id)}/{batch_id}")


def open_file(dataset_id: int, path: str) -> File[bytes] | None:
    """A stored file of the dataset by its path below the dataset's prefix, or None."""
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("", ".", "..") or p.startswith("/") for p in parts):
        return None
    name = f"{dataset_prefix(dataset_id)}/{'/'.join(parts)}"
    storage = _storage()
    if not storage.exists(name):
        return None
    return storage.open(name, "rb")


def safe_name(member: str) -> str:
    parts = [get_valid_filename(p) for p in PurePosixPath(member).parts if p not in ("", ".", "..")]
    return "/".join(p for p in parts if p)


def storer(dataset_id: int, batch_id: int | str) -> Callable[[str, bytes], str]:
    """A function that stores one image of a batch (or of a folder such as "augmented") and
    returns its (same-origin) URL."""
    prefix = f"{dataset_prefix(dataset_id)}/"
    storage = _storage()

    def store(member: str, content: bytes) -> str:
        saved = storage.save(f"{prefix}{batch_id}/{safe_name(member)}", ContentFile(content))
        return reverse("dataset-file", args=[dataset_id, saved.removeprefix(prefix)])

    return store


def _sidecar(archive: zipfile.ZipFile, names: list[str]) -> tuple[str | None, list[dict[str, str]]]:
    tables = [n for n in names if n.lower().endswith((".csv", ".tsv"))]
    if not tables:
        return None, []
    if len(tables) > 1:
        raise formats.FileProblem(
            f"The ZIP holds {len(tables)} CSV files ({', '.join(tables[:3])}…); keep one, with a "
            "row per image."
        )
    raw = archive.read(tables[0])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise formats.FileProblem(f"{tables[0]} is not valid UTF-8.") from exc
    delimiter = "\t" if tables[0].lower().endswith(".tsv") else ","
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise formats.FileProblem(f"{tables[0]} is malformed CSV: {exc}.") from exc
    return tables[0], rows


def zip_records(
    path: Path,
    mapping: dict[str, Any],
    result: formats.ReadResult,
    *,
    store: Callable[[str, bytes], str],
) -> Iterator[formats.Record | formats.RowError]:
    """One record per image in the ZIP, with metadata and labels from its CSV, if any."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise formats.FileProblem("This is not a readable ZIP file.") from exc
    with archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir()
            and "__MACOSX" not in i.filename
            and not PurePosixPath(i.filename).name.startswith(".")
        ]
        images = [i for i in infos if PurePosixPath(i.filename).suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise formats.FileProblem("The ZIP holds no images (PNG, JPEG, GIF or WebP).")
        if len(images) > MAX_IMAGES:
            raise formats.FileProblem(
                f"The ZIP holds {len(images):,} images; the limit is {MAX_IMAGES:,}."
            )
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_EXPANSION * settings.WORKBENCH_MAX_UPLOAD_BYTES:
            raise formats.FileProblem("The ZIP unpacks to far more than the upload limit.")
        table, rows = _sidecar(archive, [i.filename for i in infos])
        by_name: dict[str, tuple[int, dict[str, str]]] = {}
        key = label_col = labeller_col = None
        if rows:
            columns = list(rows[0])
            key = mapping.get("external_id") or next(
                (c for c in columns if c.lower() in KEY_COLUMNS), None
            )
            if key not in columns:
                raise formats.FileProblem(
                    f"{table} needs a column naming each image's file ({', '.join(KEY_COLUMNS)}); "
                    f"it has: {', '.join(columns)}."
                )
            label_col = mapping.get("label") or next(
                (c for c in columns if c.lower() in formats.LABEL_COLUMNS), None
            )
            labeller_col = mapping.get("labeller") or next(
                (c for c in columns if c.lower() in formats.LABELLER_COLUMNS), None
            )
            for n, row in enumerate(rows, start=1):
                by_name[(row.get(key) or "").strip()] = (n, row)
        known = {i.filename for i in images} | {PurePosixPath(i.filename).name for i in images}
        for n, row in enumerate(rows, start=1):
            name = (row.get(key or "") or "").strip()
            if name not in known:
                yield formats.RowError(n, key, f"{table} names '{name}', which the ZIP lacks.")
        for position, info in enumerate(images, start=1):
            result.rows = position
            result.fraction = position / len(images)
            if info.file_size > MAX_IMAGE_BYTES:
                yield formats.RowError(position, None, f"{info.filename} is over 50 MB.")
                continue
            content = archive.read(info)
            if not _is_image(content[:16]):
                yield formats.RowError(
                    position, None, f"{info.filename} is not a PNG, JPEG, GIF or WebP image."
                )
                continue
            entry = by_name.get(info.filename) or by_name.get(PurePosixPath(info.filename).name)
            metadata: dict[str, Any] = {"file_name": info.filename}
            annotations: list[formats.AnnotationRecord] = []
            if entry is not None:
                _, row = entry
                for column, value in row.items():
                    if column in (key, label_col, labeller_col) or value in (None, ""):
                        continue
                    metadata[column] = formats.infer_scalar(value.strip())
                label = (row.get(label_col or "") or "").strip()
                if label:
                    labeller = (row.get(labeller_col or "") or "").strip()
                    annotations.append(
                        formats.AnnotationRecord(
                            labeller=labeller or formats.DEFAULT_LABELLER, label=label
                        )
                    )
            yield formats.Record(
                row=position,
                external_id=info.filename,
                data={"image": store(info.filename, content)},
                metadata=metadata,
                annotations=annotations,
            )
