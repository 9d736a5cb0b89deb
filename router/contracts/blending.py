"""Blending rules: while a channel is in trouble, a group of agents takes other capacities (more voice,
no new chats) and gets its own back when the trouble has cleared. The ``[[blending]]`` entries of the
configuration file, and the status the wallboard shows (docs/blending.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from router.contracts.channels import Channel
from router.contracts.wire import Ident, Strict


class BlendingWhen(Strict):
    """The condition that puts the rule in force: exactly one of the two."""

    ewt_over_seconds: Annotated[float | None, Field(gt=0, le=86_400)] = Field(
        default=None,
        description="the estimated wait of a new contact on the channel is above this many seconds (in"
        " any queue that takes the channel; a queue with contacts waiting and nobody staffed counts as"
        " over)",
    )
    service_level_under: Annotated[float | None, Field(gt=0, le=1)] = Field(
        default=None,
        description="the channel's service level today (a share, 0.8 for 80 %) is below this: contacts"
        " answered within their queue's threshold over those answered, abandoned, or still waiting past"
        " it",
    )

    @model_validator(mode="after")
    def _one(self) -> BlendingWhen:
        if (self.ewt_over_seconds is None) == (self.service_level_under is None):
            raise ValueError("give exactly one of ewt_over_seconds and service_level_under")
        return self


class BlendingAgents(Strict):
    group: Ident = Field(description="the agents whose `groups` name it")


class BlendingRule(Strict):
    """One ``[[blending]]`` entry."""

    id: Ident | None = Field(
        default=None, description="the rule's name on the wallboard and in events (default: <channel>-<n>)"
    )
    channel: Channel = Field(description="the channel watched")
    when: BlendingWhen
    for_seconds: Annotated[float, Field(ge=0, le=86_400)] = Field(
        default=30, description="the condition must hold this long before the agents are switched"
    )
    agents: BlendingAgents
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] = Field(
        min_length=1,
        description="the group's capacities while the rule is in force; channels not named keep the"
        " agent's own",
    )
    restore_after_seconds: Annotated[float, Field(ge=0, le=86_400)] = Field(
        default=60,
        description="the condition must have been clear this long before the agents get their own"
        " capacities back",
    )


class BlendingStatus(BaseModel):
    """One rule as the wallboard shows it."""

    rule: str
    channel: str
    group: str
    active: bool = Field(description="the group works with the rule's capacities now")
    since: float | None = Field(description="when the rule came into force (Unix seconds), while active")
    capacity: dict[str, int]
    condition: Literal["ewt_over_seconds", "service_level_under"]
    threshold: float


def rule_ids(rules: list[BlendingRule]) -> list[str]:
    """Each rule's name: its ``id``, else ``<channel>-<n>`` (its place among the rules, from 1)."""
    return [r.id or f"{r.channel.value}-{n}" for n, r in enumerate(rules, start=1)]
