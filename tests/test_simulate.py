"""The simulator: its reference model, and a short live run against the real server."""

from __future__ import annotations

import argparse
import io
import json
import math
from typing import Any

from router import erlang, staffing
from router.simulate import (
    Outcome,
    Summary,
    reference_band,
    reference_run,
)

# ---------------------------------------------------------------- the reference model


def test_summary_of_outcomes() -> None:
    outcomes = [
        Outcome(0.0, 0.0, False),
        Outcome(1.0, 10.0, True),
        Outcome(2.0, 30.0, True),
        Outcome(3.0, None, True),
    ]
    s = Summary.of(outcomes, 20.0)
    assert s.contacts == 4
    assert s.p_wait == 0.75
    assert s.service_level == 0.5  # the abandoned contact counts as missed
    assert s.asa == 40.0 / 3
    assert s.p_abandon == 0.25
    assert math.isnan(Summary.of([], 20.0).asa)


def test_reference_model_is_erlang_c_without_latency() -> None:
    outcomes = reference_run(agents=10, load=8.0, aht=180, patience=None, contacts=120_000, seed=3)
    s = Summary.of(outcomes[20_000:], 20)
    theory = erlang.erlang_c_metrics(10, 8.0, 180, 20)
    assert s.p_abandon == 0
    assert abs(s.p_wait - theory.p_wait) < 0.015
    assert abs(s.service_level - theory.service_level) < 0.015
    assert abs(s.asa - theory.asa) < 0.12 * theory.asa


def test_latency_in_the_model_raises_waits() -> None:
    common: dict[str, Any] = dict(agents=10, load=8.0, aht=180, patience=None, contacts=60_000, seed=5)
    plain = Summary.of(reference_run(**common), 20)
    slow = Summary.of(reference_run(**common, offer_latency=2.0, handoff=6.0), 20)
    # 6 s more per 180 s cycle: utilization 0.8 -> 0.827, so more contacts wait, and longer
    assert slow.p_wait > plain.p_wait + 0.02
    assert slow.asa > plain.asa * 1.1
    assert {o.wait for o in reference_run(**common, offer_latency=2.0) if not o.queued} == {2.0}


def test_noise_band_holds_the_theory() -> None:
    band = reference_band(
        agents=20,
        load=17.0,
        aht=180,
        patience=None,
        contacts=2000,
        warmup=200,
        sl_seconds=20,
        replications=100,
        seed=1,
    )
    theory = erlang.erlang_c_metrics(20, 17.0, 180, 20)
    assert band.contains("p_wait", theory.p_wait)
    assert band.contains("service_level", theory.service_level)
    assert band.contains("asa", theory.asa)
    # a few thousand contacts near 85 % load: the mean wait of one run is very uncertain
    assert band.high["asa"] - band.low["asa"] > 0.3 * theory.asa


def test_staffing_command_output() -> None:
    parser = argparse.ArgumentParser()
    staffing.add_arguments(parser)
    out = io.StringIO()
    assert staffing.run(parser.parse_args(["--arrivals-per-hour", "200", "--aht", "180"]), out) == 0
    text = out.getvalue()
    assert "10.00 Erlangs" in text
    assert "agents needed: 14" in text
    assert "<- needed" in text
    out = io.StringIO()
    args = parser.parse_args(["--arrivals-per-hour", "200", "--aht", "180", "--patience", "120", "--json"])
    assert staffing.run(args, out) == 0
    doc = json.loads(out.getvalue())
    assert doc["model"] == "erlang_a" and doc["agents_needed"] <= 14
    assert staffing.run(parser.parse_args(["--arrivals-per-hour", "1", "--aht", "1", "--target", "x"])) == 2
