"""Erlang B, C and A against exact identities, published tables and a discrete-event simulation."""

from __future__ import annotations

import itertools
import math

import pytest

from router.service import erlang
from router.service.erlang import Target
from router.tools.simulate import Summary, reference_run


def _poisson_pmf(k: int, mean: float) -> float:
    return math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))


def _erlang_b_direct(agents: int, load: float) -> float:
    """Erlang B from its definition, summed in log space (fine for moderate sizes)."""
    terms = [k * math.log(load) - math.lgamma(k + 1) for k in range(agents + 1)]
    top = max(terms)
    return math.exp(terms[-1] - top) / sum(math.exp(x - top) for x in terms)


# ---------------------------------------------------------------- Erlang B and C


def test_offered_load_textbook() -> None:
    # 100 calls in 30 minutes = 200 an hour, 3 minutes each: 10 Erlangs
    assert erlang.offered_load(200, 180) == pytest.approx(10.0)


def test_erlang_b_small_cases_and_table() -> None:
    assert erlang.erlang_b(1, 2.0) == pytest.approx(2.0 / 3.0)
    assert erlang.erlang_b(2, 1.0) == pytest.approx(0.2)
    # the classic trunk table: 10 circuits offered 5 Erlangs block 1.84 %
    assert erlang.erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-5)
    for agents, load in [(5, 3.0), (30, 25.0), (120, 100.0)]:
        assert erlang.erlang_b(agents, load) == pytest.approx(_erlang_b_direct(agents, load), rel=1e-10)


def test_erlang_c_exact_small_cases() -> None:
    # M/M/1: P(wait) is the utilization; M/M/2 with A = 1: 1/3
    assert erlang.erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)
    assert erlang.asa_c(1, 0.5, 60.0) == pytest.approx(60.0)  # rho/(1-rho) * aht
    assert erlang.erlang_c(3, 3.0) == 1.0
    assert erlang.asa_c(3, 4.0, 60.0) == math.inf
    assert erlang.service_level_c(3, 4.0, 60.0, 20.0) == 0.0


@pytest.mark.parametrize(
    ("agents", "p_wait", "service_level", "asa"),
    [
        # 10 Erlangs, AHT 180 s, 80/20: the table printed in most Erlang C introductions
        (11, 0.6821, 0.3896, 122.8),
        (12, 0.4494, 0.6402, 40.4),
        (13, 0.2853, 0.7956, 17.1),
        (14, 0.1741, 0.8884, 7.8),
        (15, 0.1020, 0.9415, 3.7),
    ],
)
def test_erlang_c_textbook_table(agents: int, p_wait: float, service_level: float, asa: float) -> None:
    m = erlang.erlang_c_metrics(agents, 10.0, 180.0, 20.0)
    assert m.p_wait == pytest.approx(p_wait, abs=5e-5)
    assert m.service_level == pytest.approx(service_level, abs=5e-5)
    assert m.asa == pytest.approx(asa, abs=0.05)
    assert m.occupancy == pytest.approx(10.0 / agents)


def test_erlang_is_stable_for_thousands_of_agents() -> None:
    # A**N / N! overflows a float long before this; the recursion does not
    b = erlang.erlang_b(5000, 4900.0)
    c = erlang.erlang_c(5000, 4900.0)
    assert 0.0 < b < c < 1.0
    assert erlang.erlang_c(1000, 950.0) == pytest.approx(
        _erlang_b_direct(1000, 950.0) / (1 - 0.95 * (1 - _erlang_b_direct(1000, 950.0))), rel=1e-9
    )
    # Erlang C falls as agents are added
    values = [erlang.erlang_c(n, 400.0) for n in range(401, 460)]
    assert all(a > b for a, b in itertools.pairwise(values))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        erlang.erlang_b(0, 1.0)
    with pytest.raises(ValueError):
        erlang.erlang_c(3, -1.0)
    with pytest.raises(ValueError):
        erlang.offered_load(100, 0)
    with pytest.raises(ValueError):
        Target.parse("80")
    with pytest.raises(ValueError):
        Target.parse("120/20")


# ---------------------------------------------------------------- Erlang A


def test_erlang_a_equals_infinite_servers_when_patience_equals_handle_time() -> None:
    # with theta == mu every contact in the system leaves at rate mu, waiting or served: the
    # number in system is that of M/M/inf, Poisson(A)
    load, agents = 10.0, 12
    m = erlang.erlang_a_metrics(agents, load, 180.0, 180.0, 20.0)
    p_wait = 1.0 - sum(_poisson_pmf(k, load) for k in range(agents))
    mean_queue = sum((k - agents) * _poisson_pmf(k, load) for k in range(agents, 400))
    assert m.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert m.mean_queue == pytest.approx(mean_queue, rel=1e-9)
    assert m.p_abandon == pytest.approx(mean_queue / load, rel=1e-9)


def test_erlang_a_tends_to_erlang_c_with_endless_patience() -> None:
    c = erlang.erlang_c_metrics(12, 10.0, 180.0, 20.0)
    a = erlang.erlang_a_metrics(12, 10.0, 180.0, 1e9, 20.0)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-5)
    assert a.asa == pytest.approx(c.asa, rel=1e-5)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-5)
    assert a.p_abandon < 1e-6
    assert erlang.metrics(12, 10.0, 180.0, 20.0, math.inf) == c


def test_erlang_a_is_stable_when_overloaded() -> None:
    # more traffic than agents: Erlang C has no steady state, Erlang A does
    m = erlang.erlang_a_metrics(100, 110.0, 180.0, 60.0, 20.0)
    assert 0.0 < m.p_abandon < 1.0
    assert m.p_abandon >= 1.0 - 100.0 / 110.0  # answered throughput is at most N mu
    assert m.occupancy <= 1.0
    assert m.asa < 60.0


def test_service_level_uniformization_matches_closed_forms() -> None:
    one = erlang._hypoexp_mass_within([0.5], [1.0], 3.0)
    assert one == pytest.approx(1 - math.exp(-1.5), abs=1e-10)
    a, b, t = 0.5, 0.8, 2.0
    two = 1 - (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)
    assert erlang._hypoexp_mass_within([a, b], [0.0, 1.0], t) == pytest.approx(two, abs=1e-10)
    assert erlang._hypoexp_mass_within([a, b], [0.25, 0.75], t) == pytest.approx(
        0.25 * (1 - math.exp(-a * t)) + 0.75 * two, abs=1e-10
    )


@pytest.mark.parametrize(
    ("agents", "load", "patience"),
    [(12, 10.0, 120.0), (25, 24.0, 60.0), (20, 17.0, None), (100, 120.0, 200.0)],
)
def test_erlang_a_matches_discrete_event_simulation(agents: int, load: float, patience: float | None) -> None:
    aht, t = 180.0, 20.0
    theory = erlang.metrics(agents, load, aht, t, patience)
    outcomes = reference_run(
        agents=agents, load=load, aht=aht, patience=patience, contacts=330_000, seed=agents
    )
    sim = Summary.of(outcomes[30_000:], t)
    # 300,000 arrivals, strongly correlated near full load: over many seeds one run's P(wait)
    # strays by about 0.008 (one standard deviation) and its mean wait by about 5 %
    assert sim.p_wait == pytest.approx(theory.p_wait, abs=0.025)
    assert sim.p_abandon == pytest.approx(theory.p_abandon, abs=0.008)
    assert sim.service_level == pytest.approx(theory.service_level, abs=0.025)
    assert sim.asa == pytest.approx(theory.asa, rel=0.15)


# ---------------------------------------------------------------- staffing


def test_staffing_textbook_80_20() -> None:
    load = erlang.offered_load(200, 180)
    assert erlang.required_agents(load, 180, Target.parse("80/20")) == 14
    assert erlang.required_agents(load, 180, Target.parse("90/20")) == 15
    capped = Target(0.8, 20, max_occupancy=0.7)
    assert erlang.required_agents(load, 180, capped) == 15  # 10/14 = 0.714 > 0.7
    assert erlang.required_agents(load, 180, Target(0.8, 20, max_asa=5.0)) == 15
    assert erlang.required_agents(0.0, 180, Target.parse("80/20")) == 0


def test_staffing_is_minimal_for_large_centers() -> None:
    target = Target.parse("80/20")
    for load in (50.0, 480.0, 1500.0):
        n = erlang.required_agents(load, 240, target)
        assert erlang.service_level_c(n, load, 240, 20) >= 0.8
        assert erlang.service_level_c(n - 1, load, 240, 20) < 0.8
    # abandonment shortens the queue: Erlang A never asks for more agents than Erlang C
    assert erlang.required_agents(480.0, 180, target, patience=120) <= erlang.required_agents(
        480.0, 180, target
    )


def test_staffing_table_rows() -> None:
    rows = erlang.staffing_table(10.0, 180, 20, range(9, 16))
    assert [r.agents for r in rows] == list(range(9, 16))
    assert rows[0].service_level == 0.0 and rows[0].asa == math.inf
    assert all(a.service_level < b.service_level for a, b in itertools.pairwise(rows[1:]))
    assert rows[-1].as_dict()["agents"] == 15
