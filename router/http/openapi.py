"""The OpenAPI 3.1 document, generated from the pydantic contracts."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from router import contracts as c

# (method, path, summary, roles, request model, response model, success status)
ROUTES: list[tuple[str, str, str, str, type[BaseModel] | None, type[BaseModel] | None, int]] = [
    (
        "post",
        "/v1/interactions",
        "Ingest an inbound event (idempotent on channel + external_id)",
        "adapter",
        c.InboundEvent,
        c.IngestResult,
        201,
    ),
    (
        "get",
        "/v1/interactions/{id}",
        "An interaction with messages, notes and live position",
        "adapter, supervisor, agent",
        None,
        c.InteractionOut,
        200,
    ),
    (
        "post",
        "/v1/interactions/{id}/messages",
        "Add a customer message or an agent's reply",
        "adapter, agent",
        c.MessageIn,
        c.MessageOut,
        201,
    ),
    (
        "post",
        "/v1/interactions/{id}/end",
        "The customer hung up or left",
        "adapter",
        c.EndIn,
        c.InteractionOut,
        200,
    ),
    (
        "get",
        "/v1/customers/{id}/context",
        "The customer's context record",
        "supervisor, agent serving them",
        None,
        c.ContextRecord,
        200,
    ),
    (
        "post",
        "/v1/customers/{id}/events",
        "Add a journey event",
        "adapter",
        c.JourneyEventIn,
        c.JourneyEventOut,
        201,
    ),
    ("get", "/v1/queues", "Queues with live statistics", "supervisor, agent, adapter", None, c.QueueOut, 200),
    (
        "get",
        "/v1/queues/{id}",
        "One queue with live statistics",
        "supervisor, agent, adapter",
        None,
        c.QueueOut,
        200,
    ),
    ("put", "/v1/queues/{id}", "Create or update a queue", "admin", c.QueueConfig, c.QueueOut, 200),
    ("get", "/v1/agents", "Agents with live state", "supervisor", None, c.AgentOut, 200),
    ("get", "/v1/agents/{id}", "One agent with live state", "supervisor, the agent", None, c.AgentOut, 200),
    ("put", "/v1/agents/{id}", "Create or update an agent", "admin", c.AgentConfig, c.AgentOut, 200),
    ("get", "/v1/rules", "Routing rules", "supervisor", None, c.RulesIn, 200),
    ("put", "/v1/rules", "Replace the routing rules", "admin", c.RulesIn, c.RulesIn, 200),
    ("post", "/v1/tokens", "Create an API token", "admin", c.TokenIn, c.TokenOut, 201),
    ("get", "/v1/meta", "The channel table and server facts", "any (no token needed)", None, c.Meta, 200),
    (
        "post",
        "/v1/messages/{id}/status",
        "Report an outbound message's delivery",
        "adapter",
        c.MessageStatusIn,
        None,
        200,
    ),
    (
        "post",
        "/v1/messages/status",
        "Record a provider receipt by provider message id",
        "adapter",
        c.MessageStatusIn,
        None,
        200,
    ),
]


@cache
def openapi_document() -> dict[str, Any]:
    models = {m for r in ROUTES for m in (r[4], r[5]) if m is not None} | {c.Problem}
    _, schema = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, Any] = {}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for method, path, summary, roles, req, resp, status in ROUTES:
        op: dict[str, Any] = {
            "summary": summary,
            "description": f"Roles: {roles}.",
            "security": [{"bearer": []}],
            "responses": {
                str(status): {
                    "description": "OK",
                    **(
                        {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{resp.__name__}"}
                                }
                            }
                        }
                        if resp
                        else {}
                    ),
                },
                "401": {"description": "missing or unknown token", "content": problem},
                "403": {"description": "wrong role", "content": problem},
                "422": {"description": "invalid body", "content": problem},
            },
        }
        if req is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{req.__name__}"}}},
            }
        if "{id}" in path:
            op["parameters"] = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "omniroute",
            "version": "1",
            "description": "Omnichannel contact-center routing API",
        },
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
