"""What a process knows of the work accepted through it: enough to complete it without reading its
record first (the live index decides whether it is still held, and the record's write checks again)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

HELD_KNOWN_MAX = 50_000
"""How many accepted interactions a process remembers (what ``complete`` needs without reading the
record); the oldest are forgotten first, and forgotten work is read from the record as before."""


@dataclass(frozen=True, slots=True)
class HeldWork:
    """What ``complete`` needs of held work: none of it changes once the work is assigned."""

    id: uuid.UUID
    queue: str
    channel: str


class AcceptedHere:
    """The work accepted through this process, by interaction id, with the agent who accepted it: the
    most recent ``size`` of them (an accept on another process, or an interaction that ended some other
    way, is simply not known, or known and refused by the live index)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._known: OrderedDict[str, tuple[str, HeldWork]] = OrderedDict()

    def add(self, agent_id: str, work: HeldWork) -> None:
        self._known[str(work.id)] = (agent_id, work)
        self._known.move_to_end(str(work.id))
        if len(self._known) > self.size:
            self._known.popitem(last=False)

    def get(self, agent_id: str, interaction_id: str) -> HeldWork | None:
        known = self._known.get(interaction_id)
        return known[1] if known is not None and known[0] == agent_id else None

    def forget(self, interaction_id: str) -> bool:
        return self._known.pop(interaction_id, None) is not None

    def __len__(self) -> int:
        return len(self._known)
