"""Where the externally produced reference data lives (../shared/data beside the checkout; a
clone elsewhere finds it through WORKBENCH_SHARED_DATA or the workspace's /work/shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _find() -> Path:
    candidates = [
        os.environ.get("WORKBENCH_SHARED_DATA", ""),
        str(Path(__file__).resolve().parents[1].parent / "shared" / "data"),
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[1])


SHARED_DATA = _find()

# In CI (WORKBENCH_REQUIRE_SERVICES=1) nothing skips: missing reference data is a failure there.
REQUIRED = bool(os.environ.get("WORKBENCH_REQUIRE_SERVICES"))


def missing(path: Path) -> bool:
    """For ``skipif``: the data is absent and this isn't CI (where the test then fails)."""
    return not path.exists() and not REQUIRED


def need(path: Path, what: str) -> None:
    """Skip (on a newcomer's machine) or fail (in CI) when reference data is absent."""
    if not path.exists():
        message = f"{what} not found at {path} (see ../shared/data/README.md)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
