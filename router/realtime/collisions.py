"""Collision warnings: a customer whose live work two agents hold at once (a chat and an e-mail of one
person) is answered twice unless each agent knows of the other. Offers, ``assigned`` frames and the
desktop's work list carry the other agents' interactions; the agent who already held one is told with a
``collision`` frame when the second is assigned; the context record lists them (``collisions``)."""

from __future__ import annotations

from collections.abc import Iterable

from router.contracts import Collision, ContextRecord, InteractionStatus
from router.routing import events
from router.routing.engine import Engine

HELD = (InteractionStatus.assigned, InteractionStatus.wrapup)


def from_held(
    held: Iterable[tuple[str, str, str]], interaction_id: str, agent_id: str | None
) -> list[Collision]:
    """The held interactions (id, agent, channel) other than ``interaction_id`` that another agent than
    ``agent_id`` holds."""
    return [
        Collision(interaction_id=iid, agent_id=holder, channel=channel)
        for iid, holder, channel in held
        if iid != interaction_id and holder != agent_id
    ]


def of_record(record: ContextRecord, interaction_id: str, agent_id: str | None) -> list[Collision]:
    """What an agent offered or holding ``interaction_id`` is warned of, from the customer's record."""
    held = [
        (i.id, i.agent_id, i.channel.value) for i in record.interactions if i.status in HELD and i.agent_id
    ]
    return from_held(held, interaction_id, agent_id)


async def tell_holders(
    engine: Engine, interaction_id: str, agent_id: str, channel: str, found: list[Collision]
) -> None:
    """``interaction_id`` was just assigned to ``agent_id``: each agent of ``found`` gets a ``collision``
    frame on the work it holds (through the stream, to whichever process holds its socket)."""
    new = Collision(interaction_id=interaction_id, agent_id=agent_id, channel=channel).model_dump()
    for other in found:
        await events.publish(
            engine,
            "collision",
            {"interaction_id": other.interaction_id, "agent_id": other.agent_id, "collisions": [new]},
        )
