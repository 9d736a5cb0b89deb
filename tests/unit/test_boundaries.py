"""The repository checks itself: package boundaries (import-linter), types (mypy strict) and style (ruff)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
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


def _router_modules() -> set[str]:
    root = REPO / "router"
    files = {f"router.{p.stem}" for p in root.glob("*.py") if p.stem not in ("__init__", "__main__")}
    return files | {f"router.{p.name}" for p in root.iterdir() if (p / "__init__.py").exists()}


def test_the_contracts_name_every_router_module() -> None:
    """import-linter cannot forbid a package's own parent, so the leaf contracts list the router's modules;
    a new module must join those lists, or it could be imported from the contracts or the SDK unseen."""
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    by_source = {tuple(c.get("source_modules", ())): c for c in contracts}
    modules = _router_modules()
    assert {"router.app", "router.routing", "router.tools"} <= modules
    assert set(by_source[("router.contracts",)]["forbidden_modules"]) >= modules - {"router.contracts"}
    sdk = set(by_source[("router.sdk",)]["forbidden_modules"])
    assert sdk >= modules - {"router.contracts", "router.sdk"}
    server = next(c for c in contracts if c.get("forbidden_modules") == ["router.tools"])
    assert set(server["source_modules"]) >= modules - {"router.tools", "router.cli", "router.contracts"}
