"""One channel table: every channel fact is read from ``router/contracts/channels.py``."""

from __future__ import annotations

import re
from pathlib import Path

from router.contracts import CHANNELS, DEFAULT_CAPACITY, AgentConfig, Channel, lua_header
from router.realtime.sockets import FALLBACK_CAPABILITIES

REPO = Path(__file__).resolve().parents[2]


def test_each_member_is_named_by_its_value_and_carries_its_facts() -> None:
    assert [ch.name for ch in Channel] == [ch.value for ch in Channel]
    assert CHANNELS == tuple(Channel)
    assert Channel("sms") is Channel.sms is Channel["sms"]
    assert DEFAULT_CAPACITY == {ch.value: ch.spec.default_capacity for ch in Channel}
    assert FALLBACK_CAPABILITIES == {ch.value: list(ch.spec.capabilities) for ch in Channel}
    assert AgentConfig(name="x").full_capacity() == DEFAULT_CAPACITY
    assert [ch for ch in Channel if ch.spec.exclusive] == [Channel.voice]


def test_the_lua_header_is_generated_from_the_table() -> None:
    header = lua_header()
    listed = re.search(r"local CHANNELS = \{(.*)\}", header)
    assert listed is not None
    assert [s.strip().strip("'") for s in listed.group(1).split(",")] == [ch.value for ch in Channel]
    assert "local EXCLUSIVE = {voice = true}" in header


def _quoted_channel_lists(text: str) -> list[str]:
    """Runs of three or more quoted channel names next to each other: a copy of the channel list."""
    names = "|".join(ch.value for ch in Channel)
    item = rf"""["'](?:{names})["']"""
    return re.findall(rf"{item}(?:\s*[,:]\s*[^,\n]*?,?\s*{item}){{2,}}", text)


def test_no_copy_of_the_channel_list_outside_the_table() -> None:
    table = REPO / "router" / "contracts" / "channels.py"
    sources = [
        p
        for pattern in ("router/**/*.py", "router/**/*.lua", "agent_desktop/**/*.py")
        for p in REPO.glob(pattern)
        if p != table
    ]
    assert sources
    copies = {
        str(p.relative_to(REPO)): found for p in sources if (found := _quoted_channel_lists(p.read_text()))
    }
    assert copies == {}
    # the check itself finds a copy when there is one
    assert _quoted_channel_lists("CHANNELS = {'voice', 'chat', 'email', 'social', 'sms'}")
