"""Queueing formulas for contact-center planning: Erlang B, Erlang C and Erlang A.

The server's staffing plan (``GET /v1/reports/forecast``) and the offline tools (``omniroute staffing``,
``omniroute simulate``) share them, so they live with the services.

Everything here is a pure function of floats and ints. Notation:

* ``load`` (``A``) is the offered traffic in Erlangs: arrival rate x average handle time;
* ``agents`` (``N``) is the number of agents (servers);
* ``aht`` is the average handle time and ``patience`` the mean patience, both in seconds;
* ``t`` is the service-level threshold in seconds (the ``20`` of "80/20").

Erlang B is computed with the usual recursion ``B(n) = A B(n-1) / (n + A B(n-1))``, which never
forms ``A**N`` or ``N!`` and so stays accurate for thousands of agents. Erlang C is derived from
it; Erlang A (the M/M/N+M queue, exponential patience) is computed from its birth-death
stationary distribution, anchored on Erlang B, with the waiting part summed until it is
negligible.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

_EPS = 1e-15


def offered_load(arrivals_per_hour: float, aht: float) -> float:
    """Traffic in Erlangs: ``arrivals_per_hour * aht / 3600``."""
    if arrivals_per_hour < 0 or aht <= 0:
        raise ValueError("arrivals must be >= 0 and aht > 0")
    return arrivals_per_hour * aht / 3600.0


def _check(agents: int, load: float) -> None:
    if agents < 1:
        raise ValueError("agents must be >= 1")
    if load < 0 or not math.isfinite(load):
        raise ValueError("load must be a finite number >= 0")


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of the M/M/N/N loss system (Erlang B)."""
    _check(agents, load)
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that an arrival waits in the M/M/N queue (Erlang C).

    It is 1 when ``load >= agents``: the queue grows without bound.
    """
    _check(agents, load)
    if load >= agents:
        return 1.0
    b = erlang_b(agents, load)
    rho = load / agents
    return b / (1.0 - rho * (1.0 - b))


def asa_c(agents: int, load: float, aht: float) -> float:
    """Average speed of answer (mean wait of all arrivals, zero waits included), Erlang C."""
    if load >= agents:
        return math.inf
    return erlang_c(agents, load) * aht / (agents - load)


def service_level_c(agents: int, load: float, aht: float, t: float) -> float:
    """P(wait <= t) in the M/M/N queue: ``1 - C exp(-(N - A) t / aht)``."""
    if load >= agents:
        return 0.0
    return 1.0 - erlang_c(agents, load) * math.exp(-(agents - load) * t / aht)


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state figures of one staffing level.

    ``asa`` is the mean wait of answered contacts (zero waits included); with infinite patience
    every contact is answered, so it is the classic Erlang C ASA. ``service_level`` is the share
    of all arrivals answered within ``sl_seconds`` (abandoned contacts count as missed).
    ``occupancy`` is the share of agent time spent handling contacts.
    """

    agents: int
    load: float
    aht: float
    sl_seconds: float
    p_wait: float
    asa: float
    service_level: float
    occupancy: float
    p_abandon: float = 0.0
    patience: float | None = None
    mean_queue: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def erlang_c_metrics(agents: int, load: float, aht: float, sl_seconds: float) -> QueueMetrics:
    """All Erlang C figures for one staffing level."""
    _check(agents, load)
    if aht <= 0:
        raise ValueError("aht must be > 0")
    p_wait = erlang_c(agents, load)
    stable = load < agents
    asa = asa_c(agents, load, aht)
    return QueueMetrics(
        agents=agents,
        load=load,
        aht=aht,
        sl_seconds=sl_seconds,
        p_wait=p_wait,
        asa=asa,
        service_level=service_level_c(agents, load, aht, sl_seconds),
        occupancy=min(1.0, load / agents),
        mean_queue=(asa * load / aht) if stable else math.inf,
    )


# ---------------------------------------------------------------- Erlang A (M/M/N+M)


def _queue_weights(agents: int, load: float, aht: float, patience: float) -> list[float]:
    """``q[k] = pi(N + k) / pi(N)`` for k = 0, 1, ... until the tail is negligible.

    With arrival rate ``lam``, service rate ``mu`` and abandonment rate ``theta`` per waiting
    contact, ``pi(N+k) = pi(N+k-1) * lam / (N mu + k theta)``.
    """
    mu = 1.0 / aht
    lam = load * mu
    theta = 1.0 / patience
    weights = [1.0]
    total = 1.0
    k = 0
    term = 1.0
    while True:
        k += 1
        rate_out = agents * mu + k * theta
        term *= lam / rate_out
        weights.append(term)
        total += term
        # past the mode the terms shrink at least geometrically (ratio lam/rate_out < 1)
        if rate_out > lam and term < _EPS * total:
            break
        if k > 10_000_000:  # pragma: no cover - only reachable with absurd inputs
            raise ValueError("Erlang A series does not converge for these inputs")
    return weights


def erlang_a_metrics(
    agents: int, load: float, aht: float, patience: float, sl_seconds: float
) -> QueueMetrics:
    """Erlang A figures: M/M/N queue whose waiting contacts abandon at rate ``1/patience``.

    Derivation: the number in system is a birth-death process with birth rate ``lam`` and death
    rate ``min(n, N) mu + max(n - N, 0) theta``. By PASTA an arrival sees the stationary
    distribution. If it finds ``k`` contacts waiting ahead it is answered after ``k + 1``
    successive departures from the head of the line, the i-th (counting back from itself) at rate
    ``N mu + i theta``, unless its own exponential patience runs out first. Because holding
    times in a Markov chain do not depend on which transition ends them, the contact is answered
    with probability ``prod (N mu + i theta) / (N mu + (i + 1) theta)`` and, given that, waits a
    sum of independent exponentials of rates ``N mu + (i + 1) theta``, i = 0..k.
    """
    _check(agents, load)
    if aht <= 0:
        raise ValueError("aht must be > 0")
    if patience == math.inf:
        return erlang_c_metrics(agents, load, aht, sl_seconds)
    if patience <= 0:
        raise ValueError("patience must be > 0")
    mu = 1.0 / aht
    lam = load * mu
    theta = 1.0 / patience
    if lam == 0:
        return QueueMetrics(agents, load, aht, sl_seconds, 0.0, 0.0, 1.0, 0.0, 0.0, patience, 0.0)

    b = erlang_b(agents, load)
    q = _queue_weights(agents, load, aht, patience)
    s = sum(q)  # sum over k >= 0 of pi(N + k) / pi(N)
    # sum_{j <= N} pi(j) = pi(N) / B, so pi(N) = 1 / (1/B + s - 1)
    pi_n = b / (1.0 + b * (s - 1.0))
    # arrival finds N + k in system -> k waiting ahead; probability pi_n * q[k]
    p_wait = pi_n * s
    mean_queue = pi_n * sum(k * w for k, w in enumerate(q))
    p_abandon = theta * mean_queue / lam

    # answered probability and the mean wait of answered contacts, per number ahead
    base = agents * mu
    answered = 1.0 - p_wait  # those who find a free agent: answered at once
    wait_answered = 0.0
    p_answer_k = 1.0
    mean_k = 0.0
    rates: list[float] = []
    masses: list[float] = []
    for k, w in enumerate(q):
        rate = base + (k + 1) * theta
        p_answer_k *= (base + k * theta) / rate
        mean_k += 1.0 / rate
        mass = pi_n * w * p_answer_k
        answered += mass
        wait_answered += mass * mean_k
        rates.append(rate)
        masses.append(mass)
    asa = wait_answered / answered if answered > 0 else math.inf
    within = (1.0 - p_wait) + _hypoexp_mass_within(rates, masses, sl_seconds)
    occupancy = lam * (1.0 - p_abandon) * aht / agents
    return QueueMetrics(
        agents=agents,
        load=load,
        aht=aht,
        sl_seconds=sl_seconds,
        p_wait=p_wait,
        asa=asa,
        service_level=min(1.0, within),
        occupancy=min(1.0, occupancy),
        p_abandon=p_abandon,
        patience=patience,
        mean_queue=mean_queue,
    )


def _hypoexp_mass_within(rates: list[float], masses: list[float], t: float) -> float:
    """``sum_k masses[k] * P(E_0 + ... + E_k <= t)`` with ``E_i ~ Exp(rates[i])`` independent.

    Computed by uniformization of the pure-death chain "k exponential stages left", which adds
    only non-negative terms (the partial-fraction form alternates in sign and cancels badly).
    """
    if t <= 0 or not rates:
        return 0.0
    big = max(rates)
    lt = big * t
    # the chain starts in stage k with weight masses[k]; stage 0 finishes into "done"
    v = list(masses)
    stay = [1.0 - r / big for r in rates]
    move = [r / big for r in rates]
    done = 0.0
    result = 0.0
    remaining = 1.0  # Poisson(lt) mass not yet accounted for
    log_lt = math.log(lt)
    m = 0
    while True:
        log_w = -lt + m * log_lt - math.lgamma(m + 1)
        w = math.exp(log_w)
        result += w * done
        remaining -= w
        if (m > lt and remaining < 1e-13) or remaining <= 0:
            break
        # one uniformized jump
        done += v[0] * move[0]
        nv = [v[i] * stay[i] + v[i + 1] * move[i + 1] for i in range(len(v) - 1)]
        nv.append(v[-1] * stay[-1])
        v = nv
        m += 1
        if m > lt + 40.0 * math.sqrt(lt) + 100:
            break
    total = sum(masses)
    # the Poisson tail beyond m: those paths are at least as far along as after m jumps
    return min(total, result + max(remaining, 0.0) * done)


def metrics(
    agents: int, load: float, aht: float, sl_seconds: float, patience: float | None = None
) -> QueueMetrics:
    """Erlang C figures, or Erlang A when a finite mean ``patience`` is given."""
    if patience is None or patience == math.inf:
        return erlang_c_metrics(agents, load, aht, sl_seconds)
    return erlang_a_metrics(agents, load, aht, patience, sl_seconds)


# ---------------------------------------------------------------- staffing


@dataclass(frozen=True)
class Target:
    """A staffing goal: ``service_level`` of contacts answered within ``seconds``."""

    service_level: float
    seconds: float
    max_occupancy: float | None = None
    max_asa: float | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse ``"80/20"`` (80 % within 20 s)."""
        try:
            pct, secs = text.split("/")
            level, seconds = float(pct) / 100.0, float(secs)
        except ValueError as exc:
            raise ValueError(f"target must look like 80/20, got {text!r}") from exc
        if not 0 < level < 1 or seconds < 0:
            raise ValueError("target percentage must be in (0, 100) and seconds >= 0")
        return cls(level, seconds)

    def met_by(self, m: QueueMetrics) -> bool:
        if m.service_level < self.service_level:
            return False
        if self.max_occupancy is not None and m.occupancy > self.max_occupancy:
            return False
        return self.max_asa is None or m.asa <= self.max_asa


def required_agents(load: float, aht: float, target: Target, patience: float | None = None) -> int:
    """The smallest number of agents that meets ``target``.

    Service level grows with the number of agents, so this starts at the traffic (the least
    stable Erlang C staffing) and steps up; the occupancy cap alone gives a lower bound too.
    """
    if load <= 0:
        return 0
    if patience is None or patience == math.inf:
        start = math.floor(load) + 1  # Erlang C needs N > A
    else:
        # at most N/A of the traffic can be answered, so the service level is at most N/A
        start = max(1, math.ceil(load * target.service_level - 1e-9))
    if target.max_occupancy is not None:
        if not 0 < target.max_occupancy <= 1:
            raise ValueError("max occupancy must be in (0, 1]")
        start = max(start, math.ceil(load / target.max_occupancy - 1e-9))
    n = start
    while not target.met_by(metrics(n, load, aht, target.seconds, patience)):
        n += 1
        if n > start + 100_000:  # pragma: no cover - unreachable for finite targets below 1
            raise ValueError("target cannot be met")
    return n


def staffing_table(
    load: float,
    aht: float,
    sl_seconds: float,
    agents: range,
    patience: float | None = None,
) -> list[QueueMetrics]:
    """Figures for each staffing level in ``agents`` (levels below 1 are skipped)."""
    return [metrics(n, load, aht, sl_seconds, patience) for n in agents if n >= 1]
