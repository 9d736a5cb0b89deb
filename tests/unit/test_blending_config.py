"""``[[blending]]`` entries: the keys the docs list, exactly one condition, distinct names."""

from __future__ import annotations

import pytest

from router.config import ConfigError, parse_config
from router.contracts.blending import rule_ids

RULE = """
[[blending]]
channel = "voice"
when = { ewt_over_seconds = 90 }
for_seconds = 30
agents = { group = "flex" }
capacity = { voice = 1, chat = 0 }
restore_after_seconds = 120
"""


def test_a_rule_and_its_default_name() -> None:
    cfg = parse_config(RULE + RULE.replace("ewt_over_seconds = 90", "service_level_under = 0.8"))
    first, second = cfg.blending
    assert first.when.ewt_over_seconds == 90 and first.when.service_level_under is None
    assert second.when.service_level_under == 0.8
    assert {ch.value: n for ch, n in first.capacity.items()} == {"voice": 1, "chat": 0}
    assert rule_ids(cfg.blending) == ["voice-1", "voice-2"]


def test_agents_have_groups() -> None:
    cfg = parse_config('[[agents]]\nid = "dana"\nname = "Dana"\ngroups = ["flex", "tier2"]\n')
    assert cfg.agents[0].groups == ["flex", "tier2"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("when = { ewt_over_seconds = 90 }", "when = {}"), "exactly one"),
        (
            (
                "when = { ewt_over_seconds = 90 }",
                "when = { ewt_over_seconds = 9, service_level_under = 0.5 }",
            ),
            "exactly one",
        ),
        (("ewt_over_seconds = 90", "service_level_under = 1.5"), "service_level_under"),
        (('channel = "voice"', 'channel = "fax"'), "channel"),
        (("capacity = { voice = 1, chat = 0 }", "capacity = {}"), "capacity"),
        (('agents = { group = "flex" }', 'agents = { queue = "flex" }'), "agents"),
        (("for_seconds = 30", "for_seconds = -1"), "for_seconds"),
    ],
)
def test_bad_rules_are_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(RULE.replace(*change))


def test_rule_names_are_distinct() -> None:
    named = RULE.replace('channel = "voice"', 'id = "spike"\nchannel = "voice"')
    with pytest.raises(ConfigError, match="distinct"):
        parse_config(named + named)
