"""House style, enforced: ruff (lint and format) and mypy pass on the whole project."""

from __future__ import annotations

import os
import re
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


_ENV_READ = re.compile(
    r"""(?:environ(?:\.get)?|env_(?:int|bool|list)|_int|getenv)\(\s*\[?["']([A-Z][A-Z0-9_]+)["']"""
    r"""|environ\[["']([A-Z][A-Z0-9_]+)["']\]"""
)
# Read by the libraries we configure, not settings of ours.
_NOT_OURS = {"DJANGO_SETTINGS_MODULE", "RUN_MAIN", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_the_readme_lists_every_setting_the_code_reads() -> None:
    names: set[str] = set()
    for folder in ("workbench", "labeling", "quality", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in _ENV_READ.finditer(path.read_text()):
                names.add(match.group(1) or match.group(2))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names - _NOT_OURS if f"`{n}`" not in readme)
    assert len(names) > 30, names  # the pattern still finds them
    assert not missing, f"Settings read by the code but not in the README's table: {missing}"


def test_the_docs_link_only_to_files_in_the_repository() -> None:
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "bench" / "README.md"]:
        text = doc.read_text()
        assert "shared/" not in text and "DESIGN.md" not in text, doc
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to a missing {target}"
