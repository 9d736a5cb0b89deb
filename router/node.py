"""This router process: its identity in the live index and where it listens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Node:
    grace_ms: int
    """How long an agent whose desktop dropped keeps its work before it is requeued."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    base_url: str = ""
    """Set once the listening address is known."""


NODE = web.AppKey("node", Node)
