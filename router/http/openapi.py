"""The OpenAPI 3.1 document, generated from the route table (``router.http.routes``) and the JSON schemas
of the pydantic contracts: request bodies in their validation form, answers in their serialization form."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from router import contracts as c
from router.http.routes import ROUTES, Reply, Route

TAGS = {
    "interactions": "Ingest and follow interactions (adapters), read them (supervisors, agents).",
    "customers": "The customer's context record and journey; export and erasure of their personal data.",
    "directory": "Queues, agents and routing rules.",
    "tokens": "API tokens.",
    "messages": "Delivery receipts of agents' replies.",
    "webhooks": "Events posted to other systems, signed, retried and replayable.",
    "campaigns": "Proactive messages to customers on their preferred channel, with consent and quiet hours.",
    "operations": "Health, metrics, this document and the sockets' AsyncAPI document.",
    "sockets": "Websockets: the agent desktop and the supervisor's live view.",
}

PROBLEM = "application/problem+json"

Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _schema_keys(routes: tuple[Route, ...]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    keys: set[tuple[type[BaseModel], Literal["validation", "serialization"]]] = {(c.Problem, "serialization")}
    for r in routes:
        if r.body is not None:
            keys.add((r.body, "validation"))
        keys |= {(reply.model, "serialization") for reply in r.responses.values() if reply.model is not None}
        keys |= {
            (reply.or_many, "serialization") for reply in r.responses.values() if reply.or_many is not None
        }
    return sorted(keys, key=lambda k: (k[0].__name__, k[1]))


def _content(reply: Reply, refs: Refs) -> Any:
    if reply.problem:
        return {PROBLEM: {"schema": refs[(c.Problem, "serialization")]}}
    if reply.model is not None:
        schema = refs[(reply.model, "serialization")]
        if reply.many:
            schema = {"type": "array", "items": schema}
        if reply.or_many is not None:
            schema = {"oneOf": [schema, {"type": "array", "items": refs[(reply.or_many, "serialization")]}]}
        content = {"application/json": {"schema": schema}}
        if reply.media_type is not None:  # the same answer in another form, when asked for (CSV)
            content[reply.media_type] = {"schema": dict(reply.schema or {})}
        return content
    if reply.media_type is not None:
        return {reply.media_type: {"schema": dict(reply.schema or {})}}
    return None


def _operation(r: Route, refs: Refs) -> dict[str, Any]:
    who = f"Roles: {', '.join(role.value for role in r.admitted)}." if r.roles else "No token needed."
    op: dict[str, Any] = {
        "operationId": r.handler,
        "summary": r.summary,
        "description": f"{r.description}\n\n{who}" if r.description else who,
        "tags": [r.tag],
        "x-roles": [role.value for role in r.admitted],
        "security": [] if r.public else [{"bearer": []}, *([{"query_token": []}] if r.websocket else [])],
    }
    if r.websocket:
        op["x-websocket"] = True
    if r.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "description": p.description,
                "schema": dict(p.schema),
            }
            for p in r.params
        ]
    if r.body is not None:
        op["requestBody"] = {
            "required": r.body_required,
            "content": {"application/json": {"schema": refs[(r.body, "validation")]}},
        }
    responses: dict[str, Any] = {}
    for status, reply in r.responses.items():
        answer: dict[str, Any] = {"description": reply.description}
        content = _content(reply, refs)
        if content is not None:
            answer["content"] = content
        responses[str(status)] = answer
    op["responses"] = responses
    return op


@cache
def openapi_document() -> dict[str, Any]:
    refs, top = models_json_schema(_schema_keys(ROUTES), ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for r in ROUTES:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "omniroute",
            "version": "1",
            "description": "Omnichannel contact-center routing API. Every error is"
            " `application/problem+json`. Generated from the route table in `router/http/routes.py` and the"
            " models in `router/contracts`.",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "query_token": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "token",
                    "description": "Sockets only: browsers cannot set headers on a websocket; a header wins.",
                },
            },
        },
    }
