"""The AsyncAPI 3.0 document of the two websockets (``GET /v1/asyncapi.json``), generated from the frame
models of ``agent_desktop/frames.py`` (the tuples that list what each side of each socket sends) and
their JSON schemas, as the OpenAPI document is from the route table.

The document describes the server: it *receives* the frames a desktop or a wallboard sends and *sends*
the rest. A message is named by its frame's ``type``; the payload schemas are pydantic's (JSON Schema
2020-12, said so with ``schemaFormat``)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from agent_desktop import frames
from router.http.routes import SOCKET_ROUTES

SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"

# channel name → (route handler, frames the client sends, frames the server sends)
SOCKETS: dict[str, tuple[str, tuple[type[BaseModel], ...], tuple[type[BaseModel], ...]]] = {
    "agent": ("agent_socket", frames.AGENT_CLIENT_FRAMES, frames.AGENT_SERVER_FRAMES),
    "supervisor": ("supervisor_socket", frames.SUPERVISOR_CLIENT_FRAMES, frames.SUPERVISOR_SERVER_FRAMES),
}


def frame_type(model: type[BaseModel]) -> str:
    """The value of a frame model's ``type`` field."""
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


def _mode(model: type[BaseModel], received: set[type[BaseModel]]) -> JsonSchemaMode:
    return "validation" if model in received else "serialization"


@cache
def asyncapi_document() -> dict[str, Any]:
    received = {m for _, sent_by_client, _ in SOCKETS.values() for m in sent_by_client}
    every = {m for _, a, b in SOCKETS.values() for m in (*a, *b)}
    keys: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = sorted(
        {(m, _mode(m, received)) for m in every}, key=lambda k: k[0].__name__
    )
    refs, top = models_json_schema(keys, ref_template="#/components/schemas/{model}")
    routes = {r.handler: r for r in SOCKET_ROUTES}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, (handler, from_client, from_server) in SOCKETS.items():
        route = routes[handler]
        channel_messages: dict[str, Any] = {}
        for model in (*from_client, *from_server):
            kind = frame_type(model)
            messages[kind] = {
                "name": kind,
                "title": model.__name__,
                "contentType": "application/json",
                "summary": (model.__doc__ or f"the `{kind}` frame").strip().splitlines()[0],
                "payload": {
                    "schemaFormat": SCHEMA_FORMAT,
                    "schema": refs[(model, _mode(model, received))],
                },
            }
            channel_messages[kind] = {"$ref": f"#/components/messages/{kind}"}
        channel: dict[str, Any] = {
            "address": route.path,
            "title": route.summary,
            "description": route.description,
            "messages": channel_messages,
            "servers": [{"$ref": "#/servers/omniroute"}],
        }
        parameters = [p.name for p in route.params if p.where == "path"]
        if parameters:
            channel["parameters"] = {p: {"description": f"the {p.replace('_', ' ')}"} for p in parameters}
        channels[name] = channel
        for action, sent in (("receive", from_client), ("send", from_server)):
            operations[f"{name}_{action}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{name}"},
                "summary": (
                    f"Frames the {name} client sends to the server"
                    if action == "receive"
                    else f"Frames the server sends to the {name} client"
                ),
                "messages": [{"$ref": f"#/channels/{name}/messages/{frame_type(m)}"} for m in sent],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "omniroute sockets",
            "version": "1",
            "description": "The agent desktop's and the supervisor's websockets. Every frame is a JSON"
            " text message with a `type`. A socket authenticates with `Authorization: Bearer <token>` or"
            " `?token=` (browsers cannot set headers on a websocket). A malformed client frame gets an"
            " `error` frame and the socket stays open. Generated from `agent_desktop/frames.py`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "omniroute": {
                "host": "localhost:8080",
                "protocol": "ws",
                "description": "the router; `wss` behind TLS. The host is the one the HTTP API is served on.",
                "security": [{"$ref": "#/components/securitySchemes/bearer"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": top.get("$defs", {}),
            "messages": messages,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an agent or supervisor token"}
            },
        },
    }
