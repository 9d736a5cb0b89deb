"""One Redis key catalogue and one table of script error codes, checked against the Lua scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from router.errors import Conflict, NotFound, NotReady, OfferGone
from router.routing.engine import SCRIPTS, load_script_source
from router.routing.keys import CATALOGUE, SEGMENTS, Keys
from router.routing.script_errors import ScriptError, lua_header, raise_for

REPO = Path(__file__).resolve().parents[2]
LUA = sorted((REPO / "router" / "routing" / "lua").glob("*.lua"))
SEGMENT_IN_LUA = re.compile(r"P \.\. '(?::[a-z]+)?:([a-z]+)")


def _lua_segments() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in LUA:
        for segment in SEGMENT_IN_LUA.findall(path.read_text()):
            used.setdefault(segment, set()).add(path.name)
    return used


def test_every_key_a_script_touches_is_in_the_catalogue() -> None:
    used = _lua_segments()
    assert {"q", "a", "i", "timers", "events"} <= set(used)  # the pattern really reads the scripts
    missing = {seg: files for seg, files in used.items() if seg not in SEGMENTS}
    assert missing == {}


def test_every_catalogued_key_is_used_and_built_only_by_keys() -> None:
    keys = Keys.for_namespace("t")
    built = {
        getattr(keys, name)
        if isinstance(getattr(type(keys), name, None), property)
        else getattr(keys, name)("x")
        for name in dir(keys)
        if not name.startswith("_") and name not in ("prefix", "for_namespace")
    }
    built_segments = {k.split(":")[1] for k in built}
    assert set(SEGMENTS) == built_segments | (set(_lua_segments()) & set(SEGMENTS))
    assert len(CATALOGUE) == len(SEGMENTS)
    # no Python module writes a key by hand
    by_hand = [
        str(p.relative_to(REPO))
        for p in (REPO / "router").rglob("*.py")
        if p.name != "keys.py"
        and re.search(r"""prefix\}:|["']:(?:q|a|i|o|qhist|qstats|node):""", p.read_text())
    ]
    assert by_hand == []


def test_keys_of_one_domain_share_one_cluster_slot() -> None:
    keys = Keys.for_namespace("acme")
    assert {k.split("}")[0] for k in (keys.built, keys.queue("q1"), keys.agent("a1"), keys.node("n"))} == {
        "{acme"
    }


def test_every_error_code_a_script_returns_is_in_the_table() -> None:
    names = {n for path in LUA for n in re.findall(r"\bE\.([A-Z_]+)", path.read_text())}
    assert {"NOT_READY", "NOT_HELD", "STALE_SESSION"} <= names
    assert names <= {e.name for e in ScriptError}
    # no script returns a bare negative number any more
    bare = [p.name for p in LUA if re.search(r"return -\d", p.read_text())]
    assert bare == []


def test_the_registered_scripts_carry_the_generated_headers() -> None:
    header = lua_header()
    assert "NOT_READY = -1" in header and "UNKNOWN_AGENT = -7" in header
    for name in SCRIPTS:
        source = load_script_source(name)
        assert source.index("local E = {") < source.index("local P = ARGV[1]")
        assert "local CHANNELS = {" in source


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (ScriptError.NOT_READY, NotReady),
        (ScriptError.NO_SUCH_OFFER, OfferGone),
        (ScriptError.NOT_YOUR_OFFER, OfferGone),
        (ScriptError.NOT_HELD, NotFound),
        (ScriptError.ALREADY_IN_WRAPUP, Conflict),
        (ScriptError.UNKNOWN_AGENT, NotFound),
    ],
)
def test_each_code_raises_its_typed_error(code: ScriptError, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        raise_for(code, offer="o7", interaction="i9", agent="alice")
    assert "{" not in str(caught.value)


def test_an_unknown_code_is_a_conflict_naming_it() -> None:
    with pytest.raises(Conflict, match="-99"):
        raise_for(-99)
