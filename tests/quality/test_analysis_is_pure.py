"""quality/analysis/ holds pure numeric code: importing it must not import Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[2] / "quality" / "analysis"


def test_no_django_in_quality_analysis() -> None:
    modules = sorted(
        f"quality.analysis.{p.stem}" for p in ANALYSIS.glob("*.py") if p.stem != "__init__"
    )
    assert modules
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ANALYSIS.parents[1],
    )
    assert out.stdout.strip() == "", f"Django imported by quality.analysis: {out.stdout}"
    for path in ANALYSIS.glob("*.py"):
        text = path.read_text()
        assert "import django" not in text and "from django" not in text, path
