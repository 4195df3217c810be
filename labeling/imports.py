"""Uploads waiting for the owner's go-ahead (the import page's preview step): the file is kept
on disk under a random token, and nothing is written to the database until it is imported."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile

from labeling import services
from labeling.models import Dataset, ImportBatch
from workbench.models import Job

PENDING_DIR = "pending"
PENDING_MAX_AGE_SECONDS = 24 * 3600


def pending_store(*, dataset: Dataset, upload: UploadedFile[bytes]) -> tuple[str, str]:
    """Keep an upload for preview; returns its token and stored name."""
    services.upload_check(upload)
    _forget_old()
    token = secrets.token_urlsafe(16)
    name = Path(upload.name or "upload").name
    stored = default_storage.save(f"{PENDING_DIR}/{dataset.pk}-{token}/{name}", upload)
    return token, stored


def pending_import(
    *,
    dataset: Dataset,
    stored_name: str,
    uploaded_by: Any,
    file_format: str | None,
    mapping: dict[str, Any],
    source: str,
) -> tuple[ImportBatch, Job]:
    """Import a previewed upload (then forget the pending copy)."""
    path = Path(default_storage.path(stored_name))
    with path.open("rb") as fh:
        upload = UploadedFile(file=fh, name=path.name, size=path.stat().st_size)
        batch, job = services.import_create(
            dataset=dataset,
            upload=upload,
            uploaded_by=uploaded_by,
            file_format=file_format,
            mapping=mapping,
            source=source,
        )
    default_storage.delete(stored_name)
    return batch, job


def _forget_old() -> None:
    root = Path(default_storage.path(PENDING_DIR))
    if not root.exists():
        return
    cutoff = time.time() - PENDING_MAX_AGE_SECONDS
    for folder in root.iterdir():
        if folder.stat().st_mtime < cutoff:
            for file in folder.iterdir():
                file.unlink(missing_ok=True)
            folder.rmdir()
