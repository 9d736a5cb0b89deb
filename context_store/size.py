"""How big the record is: the database's size and the row counts of its main tables (``omniroute bench
--soak-minutes`` samples them to judge that the record grows with the work, linearly)."""

from __future__ import annotations

from context_store.db import Conn, q


async def record_size(conn: Conn) -> tuple[int, dict[str, int]]:
    """(database bytes, rows per table)."""
    row = await conn.fetchrow(q("record_size"))
    assert row is not None
    counts = {k: int(v) for k, v in dict(row).items() if k != "db_bytes"}
    return int(row["db_bytes"]), counts
