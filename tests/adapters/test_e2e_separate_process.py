"""An adapter run as its own process (``omniroute adapter NAME``), pointed at a running router with
an adapter token: the provider's webhook reaches the router through the public API."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.adapters.adapter_testkit import fixture_json
from tests.adapters.e2e_support import ROUTING, TWILIO_TOKEN, free_port, interaction, post_twilio
from tests.conftest import MakeServer


async def test_sms_adapter_process_posts_to_the_router(make_server: MakeServer, tmp_path: Path) -> None:
    server = await make_server(ROUTING)
    config = tmp_path / "adapter.toml"
    config.write_text(
        ROUTING + f'\n[adapters.twilio_sms]\nauth_token = "{TWILIO_TOKEN}"\nfrom_number = "+15558675310"\n'
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
