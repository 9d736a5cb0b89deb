"""The wait estimates measured by the simulator: the router's estimate at arrival against the wait that
followed, beside the queue-length predictor (n+1)/(c mu) on the same contacts and the old method."""

from __future__ import annotations

from typing import Any

import pytest

from router.tools.simulate import (
    Scenario,
    ServerHandle,
    _Contact,
    estimate_accuracy,
    format_estimates,
    simulate,
)
from tests.support.configs import Config

_FAST_TIMERS = Config(routing={"timer_interval_seconds": 0.02})


def test_accuracy_counts_only_contacts_that_waited_and_were_answered() -> None:
    def contact(position: int | None, estimate: float | None, predictor: float, old: float) -> _Contact:
        c = _Contact(0, 0.0, position=position, estimate=estimate, predictor=predictor, old_estimate=old)
        c.estimate_range = None if estimate is None else (estimate / 2, estimate * 2)
        return c

    contacts = [
        contact(1, 10.0, 12.0, 5.0),  # waited 10: router exact, predictor 2 off, old 5 off
        contact(2, 20.0, 16.0, 10.0),  # waited 24: router 4 off, predictor 8 off, old 14 off
        contact(0, 0.0, 0.0, 0.0),  # answered at once: not counted
        contact(3, 30.0, 30.0, 15.0),  # abandoned: not counted
        contact(1, None, 10.0, 5.0),  # told "unknown": counted apart
    ]
    acc = estimate_accuracy(contacts, [10.0, 24.0, 0.0, None, 7.0])
    assert acc.contacts == 2 and acc.unknown == 1
    assert acc.rmse_router == pytest.approx((16 / 2) ** 0.5)
    assert acc.rmse_predictor == pytest.approx(((4 + 64) / 2) ** 0.5)
    assert acc.rmse_old == pytest.approx(((25 + 196) / 2) ** 0.5)
    assert (acc.bias_router, acc.bias_predictor, acc.bias_old) == pytest.approx((-2.0, -3.0, -9.5))
    assert acc.range_coverage == 1.0
    assert "RMSE router" in "\n".join(format_estimates(acc))


@pytest.mark.slow
async def test_router_estimate_is_near_the_queue_length_predictor_in_mmc(make_server: Any) -> None:
    test_server = await make_server(_FAST_TIMERS)
    server = ServerHandle(test_server.url, test_server.admin_token)
    # 6 agents at 85 %: M/M/6, about 30 s of real time
    sc = Scenario(agents=6, aht=180, load=5.1, contacts=500, warmup=100, speedup=200, seed=7)
    cmp = await simulate(server, sc, replications=20, progress=False)
    acc = cmp.live.estimates
    assert acc is not None and cmp.live.failures == []
    print("\n".join(format_estimates(acc)))
    assert acc.contacts > 150 and acc.unknown == 0
    # the minimum-error estimator given the true rates is the bar: the router, which must measure
    # the handle time as it goes, stays within sampling noise of it (1.15x is the target; 1.3x here
    # for a short run on a busy machine)
    assert acc.rmse_router <= 1.3 * acc.rmse_predictor
    # the told range holds the wait about 80 % of the time
    assert 0.6 <= acc.range_coverage <= 0.95


@pytest.mark.slow
async def test_with_wrapup_and_breaks_the_router_is_far_better_than_the_old_method(make_server: Any) -> None:
    test_server = await make_server(_FAST_TIMERS)
    server = ServerHandle(test_server.url, test_server.admin_token)
    # talk 60 s, wrap-up 90 s (the case: told 6.1 s, waited 15.1 s), each agent away about a
    # fifth of the time: the old method left the wrap-up out of the handle time and counted the away
    # agents as staffed
    sc = Scenario(
        agents=8,
        aht=60,
        load=2.0,
        contacts=400,
        warmup=80,
        speedup=150,
        seed=3,
        wrapup=90,
        away_every=1200,
        away_for=300,
    )
    cmp = await simulate(server, sc, replications=20, progress=False)
    acc = cmp.live.estimates
    assert acc is not None and cmp.live.failures == []
    print("\n".join(format_estimates(acc)))
    assert acc.contacts > 100
    # the router is as good as the minimum-error estimator given the true rates
    assert acc.rmse_router <= 1.3 * acc.rmse_predictor
    # the old method leaves the wrap-up out: it tells too short a wait, by a large share of the wait
    # (about two thirds in runs of this size), whatever the luck of the breaks; the router errs as the
    # predictor does. (Its RMSE was about half the old method's in quiet runs, but on a slow machine the
    # handoffs, multiplied by the time compression, lengthen the simulated handle times unevenly and
    # every estimator's RMSE grows: 1.1x and 0.6x were seen, with the router still at the predictor's.)
    assert acc.bias_old <= -0.3 * acc.mean_wait
    assert abs(acc.bias_router - acc.bias_predictor) < abs(acc.bias_old - acc.bias_predictor) / 2
