"""The library stays a plain library: no Dagster or Great Expectations behind `import cxdata`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MODULES = ["cxdata.cli", "cxdata.config", "cxdata.io", "cxdata.profile", "cxdata.synth", "cxdata.warehouse"]


def test_library_imports_no_orchestrator_and_no_validation_framework():
    code = (
        f"import sys, {', '.join(MODULES)}; "
        "heavy = sorted(m for m in ('dagster', 'great_expectations') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


ROOT = Path(__file__).resolve().parents[1]
# Everything the project ships or documents; folders are walked for text files.
SHIPPED = [
    "README.md",
    "pyproject.toml",
    "dagster.yaml",
    ".ci",
    "docs",
    "cxdata",
    "pipelines",
    "sql",
    "tests",
    "benchmarks",
]
TEXT = {"", ".md", ".py", ".sql", ".toml", ".yaml", ".yml", ".j2", ".txt", ".cfg", ".ini", ".json"}
OUTSIDE = ("../" + "shared", "shared/" + "DESIGN")  # split, so this file does not match itself


def _shipped_text_files() -> list[Path]:
    found = []
    for name in SHIPPED:
        top = ROOT / name
        paths = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        found += [p for p in paths if p.is_file() and p.suffix in TEXT and "__pycache__" not in p.parts]
    return found


def test_project_stands_alone_and_links_its_design_contract():
    files = _shipped_text_files()
    assert ROOT / "docs" / "design.md" in files and ROOT / "cxdata" / "cli.py" in files
    outside = [
        f"{path.relative_to(ROOT)}: {marker}"
        for path in files
        for marker in OUTSIDE
        if marker in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert outside == [], "files outside the repository are referred to"
    assert "(docs/design.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
