"""The offline tools are an extra: the CLI imports a tool only when it is asked for, and a tool whose
extra is missing says in one line what to install."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_serve_and_adapter_never_import_the_tools() -> None:
    done = _run(
        "import sys\n"
        "from router.cli import build_parser\n"
        "build_parser().parse_args(['serve', '--port', '0'])\n"
        "heavy = ('matplotlib', 'psutil')\n"
        "print(sorted(m for m in sys.modules if m.startswith('router.tools') or m in heavy))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("tool", "module"), [("simulate", "matplotlib"), ("bench", "psutil")])
def test_a_tool_without_its_extra_says_what_to_install(tool: str, module: str) -> None:
    # sys.modules[name] = None is how Python marks a module as not importable
    done = _run(
        f"import sys; sys.modules[{module!r}] = None\n"
        "from router.cli import main\n"
        f"sys.exit(main([{tool!r}, '--help']))\n"
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"omniroute {tool} needs the tools extra ({module} not installed)" in lines[0]
    assert "pip install 'omniroute[tools]'" in lines[0]


def test_a_tool_with_its_extra_gets_its_own_arguments() -> None:
    done = _run("import sys\nfrom router.cli import main\nsys.exit(main(['staffing', '--help']))\n")
    assert done.returncode == 0, done.stderr
    assert "--arrivals-per-hour" in done.stdout


def test_forecast_without_statsmodels_says_what_to_install() -> None:
    done = _run(
        "import sys; sys.modules['statsmodels'] = None\n"
        "from router.cli import main\n"
        "sys.exit(main(['forecast', '--queue', 'support']))\n"
    )
    assert done.returncode == 2
    assert "omniroute forecast needs the forecast extra (statsmodels not installed)" in done.stderr
    assert "pip install 'omniroute[forecast]'" in done.stderr


def test_the_server_imports_statsmodels_only_when_a_forecast_is_asked_for() -> None:
    # the forecast extra is heavy (statsmodels, scipy, pandas, numpy): a server starts without loading it
    done = _run(
        "import sys\n"
        "import router.app, router.cli\n"
        "print(sorted(m for m in ('statsmodels', 'scipy', 'pandas', 'numpy') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("setting", "loop"), [(None, "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")]
)
def test_commands_run_on_the_event_loop_chosen(setting: str | None, loop: str) -> None:
    """``OMNIROUTE_EVENT_LOOP``: uvloop unless asyncio's own loop is asked for; the command's coroutine
    runs on it (what ``omniroute serve`` and the other async commands run on)."""
    env = {k: v for k, v in os.environ.items() if k != "OMNIROUTE_EVENT_LOOP"}
    if setting is not None:
        env["OMNIROUTE_EVENT_LOOP"] = setting
    code = (
        "import argparse, asyncio, sys\n"
        "from router import cli\n"
        "async def probe(args):\n"
        "    print(type(asyncio.get_running_loop()).__module__.split('.')[0])\n"
        "def build():\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--log-level', default='warning')\n"
        "    parser.set_defaults(func=probe)\n"
        "    return parser\n"
        "cli.build_parser = build\n"
        "sys.exit(cli.main([]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == loop


def test_an_unknown_event_loop_is_refused_in_one_line() -> None:
    env = {**os.environ, "OMNIROUTE_EVENT_LOOP": "tokio"}
    done = subprocess.run(
        [sys.executable, "-m", "router", "staffing", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert "OMNIROUTE_EVENT_LOOP must be one of uvloop, asyncio, got 'tokio'" in done.stderr
