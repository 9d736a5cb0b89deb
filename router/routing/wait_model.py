"""The distribution of a waiting customer's wait, from the service completions that must come first.

A customer with ``work`` units of work ahead of it (itself included: its place among the work the same
agents serve, see ``router/routing/stats.py``) is answered at the ``work``-th service completion of
those agents. While ``s`` slots are busy, each finishing after an exponential handle time of mean
``h``, completions come as a Poisson process of rate ``s / h``; the rate changes over the wait (a
widening step adds agents, the queue opens later), so the count of completions by time ``t`` is
Poisson with mean ``Λ(t) = ∫ rate``, and

    P(W > t) = P(N(t) < work) = P(G > Λ(t)),   G ~ Gamma(work, 1),

that is ``W = Λ⁻¹(G)``. With one rate ``r`` from the start this is the Erlang distribution of the
queue-length predictor, mean ``work / r`` (Ibrahim & Whitt 2009). The answer is the mean of ``W``
(the minimum-error point estimate) with its 10th and 90th percentiles. A widening step that adds idle
agents adds their free slots as completions available at once when it applies.

Only ``math``: the regularized incomplete gamma function and its inverse are computed here (series and
continued fraction, then Newton's method) so the router needs no numeric library at run time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LOW_Q, HIGH_Q = 0.10, 0.90
_EPS = 1e-12


@dataclass(frozen=True)
class Segment:
    """From ``start`` seconds from now, completions at ``rate`` per second (until the next segment);
    ``jump`` completions are available at once when it starts (idle slots a widening step adds)."""

    start: float
    rate: float
    jump: float = 0.0


@dataclass(frozen=True)
class Wait:
    seconds: float
    low: float
    high: float


def gammainc(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x) (a > 0)."""
    if x <= 0:
        return 0.0
    if math.isinf(x):
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return min(1.0, total * math.exp(log_front))
    # continued fraction (modified Lentz) for Q(a, x)
    b = x + 1 - a
    c = 1.0 / 1e-300
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def gamma_ppf(a: float, p: float) -> float:
    """The ``p`` quantile of Gamma(a, 1): Newton's method from the Wilson-Hilferty start, kept inside
    a bracket by bisection."""
    if p <= 0:
        return 0.0
    z = math.sqrt(2) * _erfinv(2 * p - 1)
    x = a * (1 - 1 / (9 * a) + z / (3 * math.sqrt(a))) ** 3 if a >= 1 else (p * math.gamma(a + 1)) ** (1 / a)
    lo, hi = 0.0, max(1.0, 2 * a + 50)
    while gammainc(a, hi) < p:
        hi *= 2
    x = min(max(x, _EPS), hi)
    for _ in range(60):
        f = gammainc(a, x) - p
        if abs(f) < 1e-10:
            break
        if f < 0:
            lo = x
        else:
            hi = x
        pdf = math.exp((a - 1) * math.log(x) - x - math.lgamma(a))
        step = f / pdf if pdf > 0 else math.inf
        nxt = x - step
        x = nxt if lo < nxt < hi else (lo + hi) / 2
        if hi - lo < 1e-10 * max(1.0, x):
            break
    return x


def _erfinv(y: float) -> float:
    """The inverse error function (Giles' single-precision approximation, refined by Newton steps)."""
    y = min(max(y, -1 + 1e-15), 1 - 1e-15)
    w = -math.log((1 - y) * (1 + y))
    if w < 5:
        w -= 2.5
        p = 2.81022636e-08
        for c in (
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3
        p = -0.000200214257
        for c in (
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ):
            p = c + p * w
    x = p * y
    for _ in range(2):
        x -= (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


def _pieces(segments: Sequence[Segment]) -> list[tuple[float, float, float]] | None:
    """Λ⁻¹ as pieces ``(g_from, t_from, slope)``: for ``g`` from ``g_from`` to the next piece's,
    ``Λ⁻¹(g) = t_from + (g - g_from) * slope``. None when Λ stays bounded (nobody serves in the end)."""
    segs = sorted(segments, key=lambda s: s.start)
    pieces: list[tuple[float, float, float]] = []
    g = 0.0
    for i, seg in enumerate(segs):
        end = segs[i + 1].start if i + 1 < len(segs) else math.inf
        if seg.jump > 0:
            pieces.append((g, seg.start, 0.0))
            g += seg.jump
        if seg.rate > 0:
            pieces.append((g, seg.start, 1.0 / seg.rate))
            if math.isinf(end):
                return pieces
            g += seg.rate * (end - seg.start)
    return None


def wait_distribution(work: float, segments: Sequence[Segment]) -> Wait | None:
    """The mean, 10th and 90th percentile of the wait for the ``work``-th completion (``work`` > 0),
    or None when the completions stop for good (nobody who could serve it is staffed)."""
    pieces = _pieces(segments)
    if pieces is None:
        return None
    k = max(work, 1e-6)

    def inverse(g: float) -> float:
        t = pieces[0][1]
        for g_from, t_from, slope in pieces:
            if g_from > g:
                break
            t = t_from + (g - g_from) * slope
        return t

    mean = 0.0
    for j, (g_from, t_from, slope) in enumerate(pieces):
        g_to = pieces[j + 1][0] if j + 1 < len(pieces) else math.inf
        if g_to <= g_from:
            continue
        mass = gammainc(k, g_to) - gammainc(k, g_from)
        # E[G; g_from < G < g_to] = k * (P(k+1, g_to) - P(k+1, g_from))
        partial = k * (gammainc(k + 1, g_to) - gammainc(k + 1, g_from))
        mean += t_from * mass + slope * (partial - g_from * mass)
    low, high = inverse(gamma_ppf(k, LOW_Q)), inverse(gamma_ppf(k, HIGH_Q))
    return Wait(mean, min(low, mean), max(high, mean))
