"""An adapter run as its own process (``omniroute adapter NAME``), pointed at a running router with
an adapter token: the provider's webhook reaches the router through the public API."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.conftest import MakeServer
from tests.support.configs import ADAPTERS_BASE
from tests.support.ports import free_port
from tests.support.providers import TWILIO_TOKEN, fixture_json, post_twilio
from tests.support.servers import interaction


async def test_sms_adapter_process_posts_to_the_router(make_server: MakeServer, tmp_path: Path) -> None:
    server = await make_server(ADAPTERS_BASE)
    config = tmp_path / "adapter.toml"
    config.write_text(
        str(ADAPTERS_BASE.adapter("twilio_sms", auth_token=TWILIO_TOKEN, from_number="+15558675310"))
    )
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router", "adapter", "twilio_sms",
        "--router", server.url, "--token", await server.token("adapter"),
        "--config", str(config), "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        while b"listening on" not in (line := await asyncio.wait_for(process.stdout.readline(), 20)):
            assert line, "the adapter process exited"
        params = fixture_json("twilio_sms/incoming_sms.params.json")
        status, text = await post_twilio(f"http://127.0.0.1:{port}", "/adapters/twilio/sms", params)
        assert status == 200, text
        _, body = await server.request("POST", "/v1/interactions", {
            "channel": "sms", "external_id": params["MessageSid"],
            "from": {"kind": "phone", "value": params["From"]},
        }, role="adapter")  # fmt: skip
        assert body["created"] is False  # the adapter process had created it
        stored = await interaction(server, body["id"])
        assert [m["body"] for m in stored["messages"]] == ["Ahoy"]
    finally:
        process.terminate()
        await process.wait()
