"""``omniroute simulate``: which scenario to run. ``erlang`` (the default) measures one queue against
Erlang C/A (:mod:`router.tools.simulate`); ``blending`` runs a voice spike without and with a blending
rule and puts the service level of both channels side by side (:mod:`router.tools.blend_sim`)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from router.tools import blend_sim, simulate

SCENARIOS = ("erlang", "blending")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="erlang",
        help="erlang: one queue against Erlang C/A (default); blending: a voice spike without and with"
        " a [[blending]] rule",
    )
    simulate.add_arguments(parser)
    blend_sim.add_arguments(parser)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.scenario == "blending":
        return await blend_sim.run(args, out)
    return await simulate.run(args, out)
