"""The blending scenario of ``omniroute simulate``: a short voice spike against real servers, without
and with the rule. With it the group takes calls during the spike, and voice's service level is better."""

from __future__ import annotations

import pytest

from router.tools.blend_sim import BlendScenario, child_server, compare_runs, comparison, format_comparison
from tests.support.servers import Services

# 6 voice agents at 75 % before and after the spike, 135 % during it; 3 of the 6 chat agents can take
# calls. An hour of simulated time at x200: about 18 s of real time per run.
SHORT = BlendScenario(
    before_minutes=10, spike_minutes=30, after_minutes=20, speedup=200, seed=3, for_seconds=20
)


def test_the_same_contacts_in_both_runs_and_the_rule_only_in_one() -> None:
    assert SHORT.arrivals() == SHORT.arrivals()
    voice = [t for t, ch in SHORT.arrivals() if ch == "voice"]
    start, end = SHORT.spike_window
    during = sum(1 for t in voice if start <= t < end) / (end - start)
    outside = sum(1 for t in voice if not start <= t < end) / (SHORT.horizon - (end - start))
    assert during > 1.3 * outside  # the spike is there
    with_rule = SHORT.config(with_rule=True, namespace="x")
    assert "[[blending]]" in with_rule and "[[blending]]" not in SHORT.config(with_rule=False, namespace="x")
    assert 'groups = ["flex"]' in with_rule and "ewt_over_seconds = 0.3000" in with_rule


@pytest.mark.slow
async def test_a_voice_spike_is_served_better_with_the_rule(
    services: Services, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each run starts `omniroute serve` on the test database and Redis, in a routing domain of its own
    # (under the test's namespace, whose keys are removed once the test ends)
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    without, with_rule = await compare_runs(SHORT, child_server, namespace_prefix=namespace)
    assert without.failures == [] and with_rule.failures == []
    doc = comparison(SHORT, without, with_rule)
    a, b = doc["runs"]["without_rule"], doc["runs"]["with_rule"]
    print(format_comparison(SHORT, doc))
    # without the rule nobody but the voice agents answers calls; with it the group takes some
    assert a["voice_answered_by"]["flex"] == 0 and b["voice_answered_by"]["flex"] > 0
    assert [kind for kind, _ in without.switches] == []
    kinds = [kind for kind, _ in with_rule.switches]
    assert kinds[:1] == ["started"] and kinds[-1] == "ended"
    start, end = SHORT.spike_window
    assert start <= with_rule.switches[0][1] <= end  # the rule came into force during the spike
    # voice is served better with the rule, over the whole run and around the spike
    assert b["voice"]["spike_service_level"] > a["voice"]["spike_service_level"] + 0.05
    assert b["voice"]["service_level"] > a["voice"]["service_level"]
    assert b["voice"]["max_wait"] < a["voice"]["max_wait"]
    # every contact of both channels was answered in both runs
    for run in (a, b):
        assert run["voice"]["contacts"] == a["voice"]["contacts"] > 0
        assert run["chat"]["contacts"] == a["chat"]["contacts"] > 0
