"""The wait distribution behind the estimates (router/routing/wait_model.py) and how the staffing of a
queue becomes completion rates over the wait (steps, business hours)."""

from __future__ import annotations

import random

import pytest

from router.routing.estimates import WaitEstimator, _Staffing, _Tier
from router.routing.wait_model import Segment, gamma_ppf, gammainc, wait_distribution


@pytest.mark.parametrize("a", [0.3, 1.0, 2.5, 9.0, 60.0, 400.0])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_gamma_quantile_inverts_the_incomplete_gamma(a: float, p: float) -> None:
    assert gammainc(a, gamma_ppf(a, p)) == pytest.approx(p, abs=1e-8)


def test_exponential_and_erlang_special_cases() -> None:
    assert gamma_ppf(1.0, 0.9) == pytest.approx(2.302585, rel=1e-6)  # -ln(0.1)
    # Erlang: P(G_2 <= x) = 1 - e^-x (1 + x)
    assert gammainc(2.0, 3.0) == pytest.approx(1 - 4 * 2.718281828459045**-3, rel=1e-9)


def test_one_rate_is_the_queue_length_predictor_with_its_erlang_spread() -> None:
    # 5 ahead (itself included), 4 busy slots of 120 s: completions every 30 s on average
    wait = wait_distribution(5, [Segment(0.0, 4 / 120)])
    assert wait is not None
    assert wait.seconds == pytest.approx(150.0)
    rng = random.Random(4)
    runs = sorted(sum(rng.expovariate(4 / 120) for _ in range(5)) for _ in range(40_000))
    assert wait.low == pytest.approx(runs[4_000], rel=0.03)
    assert wait.high == pytest.approx(runs[36_000], rel=0.03)


def test_a_later_step_adds_agents_from_when_it_applies() -> None:
    # one slot now, three more after 60 s (one of them idle: it takes work at once)
    wait = wait_distribution(6, [Segment(0.0, 1 / 100), Segment(60.0, 4 / 100, jump=1)])
    assert wait is not None
    rng = random.Random(9)

    def once() -> float:
        t, done = 0.0, 0
        while True:
            dt = rng.expovariate(1 / 100)
            if t + dt >= 60:
                break
            t, done = t + dt, done + 1
            if done >= 6:
                return t
        t, done = 60.0, done + 1
        while done < 6:
            t, done = t + rng.expovariate(4 / 100), done + 1
        return t

    runs = [once() for _ in range(40_000)]
    assert wait.seconds == pytest.approx(sum(runs) / len(runs), rel=0.05)
    assert wait.low <= wait.seconds <= wait.high


def test_nobody_ever_serving_it_is_unknown() -> None:
    assert wait_distribution(3, [Segment(0.0, 0.0)]) is None


def staffing(*tiers: tuple[int, dict[str, int]], slots: list[int], handle: float = 100.0) -> _Staffing:
    return _Staffing(
        expires=0.0,
        handle_s=handle,
        tiers=tuple(_Tier(after, n, free) for (after, free), n in zip(tiers, slots, strict=True)),
        shares={},
    )


def test_segments_follow_the_steps_from_the_virtual_enqueue_time() -> None:
    st = staffing((0, {"x": 0}), (60_000, {"x": 0, "y": 1}), slots=[1, 2])
    # waited 20 s: the step applies in 40 s and adds y, idle
    segs = WaitEstimator.segments(st, 20_000, 0.0)
    assert segs == [Segment(0.0, 0.01), Segment(40.0, 0.02, 1)]
    # waited 90 s: the step is in force already
    assert WaitEstimator.segments(st, 90_000, 0.0) == [Segment(0.0, 0.02)]


def test_a_closed_queue_adds_the_time_to_opening() -> None:
    st = staffing((0, {"x": 0}), slots=[1])
    segs = WaitEstimator.segments(st, 0.0, 3600.0)
    assert segs == [Segment(0.0, 0.0), Segment(3600.0, 0.01, 0)]
    wait = wait_distribution(2, segs)
    assert wait is not None and wait.seconds == pytest.approx(3600 + 200)
    # idle agents at opening take the first work at once
    idle = WaitEstimator.segments(staffing((0, {"x": 1}), slots=[1]), 0.0, 3600.0)
    first = wait_distribution(1, idle)
    assert first is not None and first.seconds < 3600 + 100
