"""Where the externally produced reference data lives (../shared/data beside the checkout; a
clone elsewhere finds it through WORKBENCH_SHARED_DATA or the workspace's /work/shared/data)."""

from __future__ import annotations

import os
from pathlib import Path


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
