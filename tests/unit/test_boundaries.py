"""The repository checks itself: package boundaries (import-linter), types (mypy strict) and style (ruff)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["router", "context_store", "agent_desktop", "adapters"]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_package_boundaries_hold() -> None:
    done = _run(str(BIN / "lint-imports"))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.slow
def test_types_are_strict_clean() -> None:
    done = _run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_style_is_ruff_clean() -> None:
    check = _run(sys.executable, "-m", "ruff", "check", *PACKAGES, "tests")
    assert check.returncode == 0, check.stdout[-4000:]
    fmt = _run(sys.executable, "-m", "ruff", "format", "--check", *PACKAGES, "tests")
    assert fmt.returncode == 0, fmt.stdout[-4000:]
