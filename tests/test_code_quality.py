"""House style, enforced: ruff (lint and format) and mypy pass on the whole project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        message = f"{name} is not installed (make install)"
        if os.environ.get("WORKBENCH_REQUIRE_SERVICES"):  # in CI nothing skips
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_ruff() -> None:
    ruff = _tool("ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        out = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    mypy = _tool("mypy")
    out = subprocess.run(
        [mypy, "-p", "labeling", "-p", "workbench", "-p", "quality"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
