"""What every HTTP handler uses: the request body read as a contract model, and a JSON answer."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from router.contracts import BodyError, parse_json, validation_errors
from router.errors import BadRequest, Undecodable

M = TypeVar("M", bound=BaseModel)


async def body(request: web.Request, model: type[M]) -> M:
    """The request's body as ``model``: 400 when it cannot be decoded, 422 when it is not acceptable JSON
    (``NaN``, nesting past ``MAX_JSON_DEPTH``) or does not fit the model (each error names its field)."""
    try:
        raw = await request.read()
    except web.RequestPayloadError as exc:
        raise Undecodable(f"the body cannot be read: {' '.join(str(exc).split())}") from exc
    try:
        data = parse_json(raw)
    except BodyError as exc:
        if not exc.decodable:
            raise Undecodable(str(exc)) from exc
        raise BadRequest(str(exc)) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errs = validation_errors(exc)
        raise BadRequest(f"{len(errs)} invalid field(s)", errors=errs) from exc


def ok(model: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> web.Response:
    if isinstance(model, BaseModel):
        text = model.model_dump_json(by_alias=True)
    else:
        text = json.dumps(
            [m.model_dump(mode="json") if isinstance(m, BaseModel) else m for m in model]
            if isinstance(model, list)
            else model,
            default=str,
        )
    return web.Response(text=text, status=status, content_type="application/json")
