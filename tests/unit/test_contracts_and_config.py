"""Pure units: identity normalization, configuration parsing and its errors, rank scores, Lua sources."""

from __future__ import annotations

import pytest

from router.config import ConfigError, parse_config
from router.contracts import AgentConfig, QueueConfig, normalize_identity
from router.routing.directory import eligible
from router.routing.engine import SCRIPTS, load_script_source, rank_score


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("phone", "+1 (415) 555-0123", ("phone", "+14155550123")),
        ("whatsapp", "14155550123", ("phone", "+14155550123")),
        ("sms", "whatsapp:+14155550123", ("phone", "+14155550123")),
        ("voice", "sip:+14155550123@pbx.example.com", ("phone", "+14155550123")),
        ("email", "  Mia@Example.COM ", ("email", "mia@example.com")),
        ("messenger", "6783423", ("messenger", "6783423")),
    ],
)
def test_identities_normalize_to_one_resolution_key(kind: str, value: str, expected: tuple[str, str]) -> None:
    assert normalize_identity(kind, value) == expected


@pytest.mark.parametrize(("kind", "value"), [("phone", "unknown"), ("email", "no-at-sign")])
def test_unusable_identities_are_refused(kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        normalize_identity(kind, value)


def test_priority_ranks_before_arrival() -> None:
    early_low = rank_score(0, 1_700_000_000_000)
    late_high = rank_score(50, 1_800_000_000_000)
    assert late_high < early_low
    assert rank_score(10, 1) < rank_score(10, 2)
    assert float(rank_score(0, 1_800_000_000_001)) == rank_score(0, 1_800_000_000_001), "exact in a double"


def test_eligibility_needs_every_skill_at_its_minimum() -> None:
    q = QueueConfig(skills={"billing": 5, "spanish": 3}, channels=["chat"])
    assert eligible(AgentConfig(name="a", skills={"billing": 5, "spanish": 9}), q)
    assert not eligible(AgentConfig(name="b", skills={"billing": 4, "spanish": 9}), q)
    assert not eligible(AgentConfig(name="c", skills={"billing": 9}), q)


def test_default_capacity_fills_unlisted_channels() -> None:
    cap = AgentConfig(name="a", capacity={"chat": 5}).full_capacity()
    assert cap == {"voice": 1, "chat": 5, "email": 5, "social": 3, "sms": 3}


def test_configuration_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"queues\.0\.skills\.x"):
        parse_config('[[queues]]\nid = "q"\nskills = { x = 11 }\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[[queues]\n")
    with pytest.raises(ConfigError, match="unknown queue 'nope'"):
        parse_config('[[rules]]\nwhen = { intent = "x" }\nqueue = "nope"\n')
    with pytest.raises(ConfigError, match="unknown agent"):
        parse_config('[[tokens]]\ntoken = "0123456789abcdef"\nrole = "agent"\nagent_id = "ghost"\n')
    with pytest.raises(ConfigError, match=r"server\.prot: Extra inputs"):
        parse_config("[server]\nprot = 1\n")


def test_bundled_demo_configuration_is_valid() -> None:
    from importlib import resources

    cfg = parse_config((resources.files("router") / "demo.toml").read_text())
    assert {q.id for q in cfg.queues} >= {"general", "billing", "tier2"}
    assert len(cfg.agents) >= 3


def test_every_lua_script_documents_its_keys_and_arguments() -> None:
    for name in SCRIPTS:
        src = load_script_source(name)
        body = src.split("\n", 1)[1] if name == "lib" else src[src.index(f"-- {name}.lua") :]
        assert "KEYS[1]" in body and "ARGV[1]" in body, name
