"""``omniroute staffing``: how many agents a queue needs for a service-level target.

    omniroute staffing --arrivals-per-hour 200 --aht 180 --target 80/20
    omniroute staffing --arrivals-per-hour 2000 --aht 240 --target 90/15 --patience 90

Erlang C by default; Erlang A (exponential patience, abandonment) when ``--patience`` is given.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from router.service import erlang
from router.service.erlang import QueueMetrics, Target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arrivals-per-hour", type=float, required=True, help="contacts offered per hour")
    parser.add_argument("--aht", type=float, required=True, help="average handle time, seconds")
    parser.add_argument(
        "--target", default="80/20", help="service level: percent answered within seconds (80/20)"
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=None,
        help="mean customer patience in seconds: use Erlang A (abandonment) instead of Erlang C",
    )
    parser.add_argument("--max-occupancy", type=float, default=None, help="cap, e.g. 0.85")
    parser.add_argument("--max-asa", type=float, default=None, help="cap on the ASA, seconds")
    parser.add_argument(
        "--shrinkage",
        type=float,
        default=0.0,
        help="share of paid time agents are unavailable (breaks, training): 0.3 = 30%%",
    )
    parser.add_argument("--rows", type=int, default=4, help="table rows either side of the answer")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _fmt_seconds(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.1f}"


def format_table(rows: list[QueueMetrics], needed: int, patience: float | None) -> str:
    head = f"{'agents':>6}  {'occupancy':>9}  {'P(wait)':>8}  {'ASA s':>8}  {'SL':>7}"
    if patience is not None:
        head += f"  {'abandon':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        line = (
            f"{r.agents:>6}  {r.occupancy:>9.1%}  {r.p_wait:>8.1%}  {_fmt_seconds(r.asa):>8}  "
            f"{r.service_level:>7.1%}"
        )
        if patience is not None:
            line += f"  {r.p_abandon:>8.1%}"
        if r.agents == needed:
            line += "  <- needed"
        lines.append(line)
    return "\n".join(lines)


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        base = Target.parse(args.target)
        target = Target(base.service_level, base.seconds, args.max_occupancy, args.max_asa)
        if not 0 <= args.shrinkage < 1:
            raise ValueError("shrinkage must be in [0, 1)")
        load = erlang.offered_load(args.arrivals_per_hour, args.aht)
        needed = erlang.required_agents(load, args.aht, target, args.patience)
    except ValueError as exc:
        print(f"omniroute staffing: {exc}", file=sys.stderr)
        return 2
    low = max(1, needed - args.rows)
    rows = erlang.staffing_table(
        load, args.aht, target.seconds, range(low, needed + args.rows + 1), args.patience
    )
    scheduled = math.ceil(needed / (1.0 - args.shrinkage)) if needed else 0
    if args.json:
        doc = {
            "arrivals_per_hour": args.arrivals_per_hour,
            "aht_seconds": args.aht,
            "traffic_erlangs": load,
            "target": {"service_level": target.service_level, "seconds": target.seconds},
            "model": "erlang_a" if args.patience is not None else "erlang_c",
            "patience_seconds": args.patience,
            "agents_needed": needed,
            "agents_scheduled": scheduled,
            "table": [_jsonable(r) for r in rows],
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return 0
    model = f"Erlang A, mean patience {args.patience:g} s" if args.patience is not None else "Erlang C"
    out.write(
        f"{args.arrivals_per_hour:g} contacts/hour x {args.aht:g} s = {load:.2f} Erlangs ({model})\n"
        f"target: {target.service_level:.0%} answered within {target.seconds:g} s"
        + (f", occupancy <= {target.max_occupancy:.0%}" if target.max_occupancy else "")
        + (f", ASA <= {target.max_asa:g} s" if target.max_asa else "")
        + "\n\n"
    )
    out.write(format_table(rows, needed, args.patience) + "\n\n")
    out.write(f"agents needed: {needed}\n")
    if args.shrinkage:
        out.write(f"agents to schedule at {args.shrinkage:.0%} shrinkage: {scheduled}\n")
    return 0


def _jsonable(r: QueueMetrics) -> dict[str, object]:
    return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.as_dict().items()}
