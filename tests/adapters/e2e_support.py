"""End-to-end support: a routing configuration with adapter sections, and a signed-webhook poster."""

from __future__ import annotations

import json
import socket
from typing import Any

import aiohttp

from adapters.kit.signatures import meta_signature, twilio_signature
from tests.helpers import TestServer

ROUTING = """
[routing]
reconnect_grace_seconds = 2
timer_interval_seconds = 0.05

[[queues]]
id = "voice_billing"
skills = { billing = 3 }
channels = ["voice"]
offer_timeout_seconds = 10
wrapup_seconds = 0

[[queues]]
id = "general"
skills = { general = 1 }
channels = ["voice", "chat", "email", "social", "sms"]
offer_timeout_seconds = 10
wrapup_seconds = 0

[[agents]]
id = "alice"
name = "Alice"
skills = { billing = 5 }
capacity = { voice = 1, chat = 0, email = 0, social = 0, sms = 0 }

[[agents]]
id = "carol"
name = "Carol"
skills = { general = 5 }
capacity = { voice = 0, chat = 3, social = 3, sms = 3, email = 5 }

[[rules]]
when = { intent = "billing", channel = "voice" }
queue = "voice_billing"
"""

TWILIO_TOKEN = "e2e-twilio-token"
META_SECRET = "e2e-meta-secret"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def config(**adapters: dict[str, Any]) -> str:
    """The routing configuration plus one ``[adapters.<name>]`` table per keyword (enabled)."""
    parts = [ROUTING]
    for name, section in adapters.items():
        parts.append(f"\n[adapters.{name}]\nenabled = true")
        parts.extend(f"{key} = {_toml_value(value)}" for key, value in section.items())
    return "\n".join(parts) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def post_twilio(base_url: str, path: str, params: dict[str, str]) -> tuple[int, str]:
    """POST a form as Twilio would, signed over the URL it requests."""
    url = base_url + path
    headers = {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, params.items())}
    async with aiohttp.ClientSession() as session, session.post(url, data=params, headers=headers) as resp:
        return resp.status, await resp.text()


async def post_meta(base_url: str, path: str, body: bytes) -> int:
    headers = {"X-Hub-Signature-256": meta_signature(META_SECRET, body), "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url + path, data=body, headers=headers) as resp,
    ):
        return resp.status


async def interaction(server: TestServer, interaction_id: str) -> dict[str, Any]:
    status, body = await server.request("GET", f"/v1/interactions/{interaction_id}", role="supervisor")
    assert status == 200, body
    return dict(body)
