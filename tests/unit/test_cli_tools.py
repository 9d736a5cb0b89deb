"""The offline tools are an extra: the CLI imports a tool only when it is asked for, and a tool whose
extra is missing says in one line what to install."""

from __future__ import annotations

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
