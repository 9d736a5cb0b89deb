"""What one supervisor socket looks at on a big center.

A snapshot of every agent does not scale (5 MB at 20,000 agents), so a supervisor socket gets the
queue aggregates (all queues, per channel totals) and the agents of its ``view`` only: a queue's agents
(or every agent), sorted by id, one page at a time. ``agent`` frames go to the sockets whose page holds
the agent; ``queue`` frames go to every socket, at most one per queue per :data:`QUEUE_PUSH_SECONDS`.
The rows of a page are read in one pipelined round of Redis reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from agent_desktop import frames
from router.routing.directory import Directory
from router.routing.engine import Engine

QUEUE_PUSH_SECONDS = 0.25
"""A queue's aggregates reach a socket at most this often; changes in between are sent together."""


@dataclass
class ViewState:
    """A socket's view and the agent ids on its current page (the ``agent`` frames it gets)."""

    queue: str | None = None
    page: int = 0
    page_size: int = frames.PAGE_SIZE
    total: int = 0
    agents: frozenset[str] = field(default_factory=frozenset)

    def described(self) -> frames.AgentView:
        return frames.AgentView(queue=self.queue, page=self.page, page_size=self.page_size, total=self.total)


async def filtered(engine: Engine, directory: Directory, queue: str | None) -> list[str]:
    """The agents a view's filter holds, sorted by id: the queue's eligible agents, or all agents."""
    if queue is None:
        return sorted(directory.agents)
    members = await engine.redis.smembers(engine.keys.queue_agents(queue))
    return sorted(str(a) for a in members if str(a) in directory.agents)


async def page(
    engine: Engine, directory: Directory, queue: str | None, number: int, size: int
) -> tuple[list[str], int]:
    """The agent ids on page ``number`` (from 0) of ``size`` of the filter, and the filter's total."""
    ids = await filtered(engine, directory, queue)
    return ids[number * size : (number + 1) * size], len(ids)


async def agent_statuses(engine: Engine, directory: Directory, ids: list[str]) -> list[frames.AgentStatus]:
    """The status rows of these agents (configured ones, in this order): two pipelined rounds."""
    ids = [a for a in ids if a in directory.agents]
    if not ids:
        return []
    keys = engine.keys
    pipe = engine.redis.pipeline(transaction=False)
    for a in ids:
        pipe.hgetall(keys.agent(a))
        pipe.smembers(keys.agent_work(a))
    res: list[Any] = await pipe.execute()
    lives: list[dict[str, str]] = res[0::2]
    works: list[set[str]] = res[1::2]
    pipe = engine.redis.pipeline(transaction=False)
    owners: list[str] = []
    for a, work in zip(ids, works, strict=True):
        for iid in work:
            pipe.hget(keys.interaction(str(iid)), "st")
            owners.append(a)
    states: list[str | None] = await pipe.execute() if owners else []
    wrapups: dict[str, int] = defaultdict(int)
    for a, st in zip(owners, states, strict=True):
        if st == "wrapup":
            wrapups[a] += 1
    out = []
    for a, live in zip(ids, lives, strict=True):
        cfg = directory.agents[a]
        cap = cfg.full_capacity()
        out.append(
            frames.AgentStatus(
                id=a,
                name=cfg.name,
                state=live.get("state", "offline"),
                reason=live.get("reason", ""),
                connected=live.get("connected") == "1",
                state_since=float(live["since"]) / 1000 if live.get("since") else None,
                load={ch: int(live.get(f"load:{ch}", 0)) for ch in cap},
                # a blending rule's capacity in force, as the live index holds it
                capacity={ch: int(live.get(f"cap:{ch}", n)) for ch, n in cap.items()},
                wrapup=wrapups.get(a, 0),
            )
        )
    return out


def channel_totals(queues: list[frames.QueueSnapshot], directory: Directory) -> list[frames.ChannelTotals]:
    """The queues added up per channel; a queue that serves several channels counts under its first."""
    totals: dict[str, frames.ChannelTotals] = {}
    for q in queues:
        cfg = directory.queues.get(q.id)
        channel = cfg.channels[0].value if cfg is not None and cfg.channels else "voice"
        t = totals.get(channel) or frames.ChannelTotals(
            channel=channel, queues=0, waiting=0, oldest_wait_seconds=0.0, answered_today=0, abandoned_today=0
        )
        t.queues += 1
        t.waiting += q.stats.waiting
        t.oldest_wait_seconds = max(t.oldest_wait_seconds, q.stats.oldest_wait_seconds)
        t.answered_today += q.stats.answered_today
        t.abandoned_today += q.stats.abandoned_today
        totals[channel] = t
    return [totals[c] for c in sorted(totals)]
