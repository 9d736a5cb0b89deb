"""Every query runs inside the context store: router code calls its functions and reads its records,
and neither imports the query table nor writes SQL nor calls the driver's query methods itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROUTER = Path(__file__).resolve().parents[2] / "router"

# The bench tool's PostgreSQL baseline (router/tools/baselines.py) times durable inserts into a scratch
# table of its own, to compare the server's raw commit rate with omniroute's; it measures the server, not
# the store, on purpose.
EXEMPT = {ROUTER / "tools" / "baselines.py"}

SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE|SHOW)\s", re.IGNORECASE)
SQL_SHAPE = re.compile(r"\b(FROM|INTO|SET|TABLE|VALUES|WHERE)\b|\$\d|^\s*SHOW\s")
DRIVER_CALLS = {"fetch", "fetchrow", "fetchval", "executemany", "copy_records_to_table"}


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module == "context_store.db":
            bad = {a.name for a in node.names} & {"q", "QUERIES"}
            if bad:
                found.append(f"{where} imports {sorted(bad)} from context_store.db")
        elif isinstance(node, ast.Attribute) and node.attr in DRIVER_CALLS:
            found.append(f"{where} calls .{node.attr}()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.match(node.value) and SQL_SHAPE.search(node.value):
                found.append(f"{where} holds SQL: {node.value[:60]!r}")
    return found


def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from context_store.db import q\n"
        "async def f(pool):\n"
        "    await pool.fetchval('SELECT 1 FROM customers WHERE id = $1', 1)\n"
        "    await pool.fetch(q('customers_all'))\n"
        "    return 'Select the queue you want'\n",
        encoding="utf-8",
    )
    found = _findings(sample)
    assert len(found) == 4, found
    assert "imports ['q'] from context_store.db" in found[0]


def test_router_runs_no_sql_of_its_own() -> None:
    files = sorted(p for p in ROUTER.rglob("*.py") if p not in EXEMPT)
    assert len(files) > 30
    found = [f"{p.parent.name}/{f}" for p in files for f in _findings(p)]
    assert found == [], "\n".join(found)
