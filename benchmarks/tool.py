"""Run ``staffing``, ``simulate``, ``bench`` or ``bench-reports`` without the installed ``omniroute``
entry point.

    python benchmarks/tool.py bench --json benchmarks/results/bench.json
    python benchmarks/tool.py simulate --agents 25 --utilization 0.88 --contacts 3000

It builds the same argument parsers as ``omniroute staffing|simulate|bench|bench-reports``.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.tools import bench
from router.tools import report_bench
from router.tools import simulate
from router.tools import staffing


def main() -> int:
    parser = argparse.ArgumentParser(prog="tool.py")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in (
        ("staffing", staffing),
        ("simulate", simulate),
        ("bench", bench),
        ("bench-reports", report_bench),
    ):
        p = sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    args = parser.parse_args()
    result = args.run(args)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
