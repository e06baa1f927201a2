"""What the logs model's trigram index costs to build and to maintain (ADR 0023).

    DECNET_BENCH_DATABASE=<copy of perf_bench_N> .venv/bin/python -m tests.bench.trigram_build

Works on a copy of the live logs table in a schema of its own (`trigram_bench`, dropped at the
end), on the database named by `DECNET_BENCH_DATABASE` on `DECNET_BENCH_PG_URL` (else
`DECNET_TEST_PG_URL`). Prints wall time and the backend's CPU-seconds (the server must run on
this host) of: the index built with `maintenance_work_mem` 64 MB / 256 MB / 1 GB; the same index
over `lower(raw_line)` alone (a cost comparison only: not the SPEC's search semantics); the
B-tree indexes in one connection after the trigram one, against a second connection beside it;
100,000 rows inserted into an indexed table with the default pending list, a 64 MB one, and
`fastupdate` off.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psycopg

SOURCE = "decnet_rm_logs.logs"
GIN = "CREATE INDEX {name} ON trigram_bench.logs USING gin ({column} gin_trgm_ops)"
BTREES = (
    "CREATE INDEX b1 ON trigram_bench.logs (ts DESC, id DESC)",
    "CREATE INDEX b2 ON trigram_bench.logs (decky, ts DESC, id DESC) INCLUDE (service, event_type)",
    "CREATE INDEX b3 ON trigram_bench.logs (service, ts DESC, id DESC) INCLUDE (decky, event_type)",
    "CREATE INDEX b4 ON trigram_bench.logs (event_type, ts DESC, id DESC) INCLUDE (decky, service)",
    "CREATE INDEX b5 ON trigram_bench.logs (attacker_ip, id)",
)
DROP = "DROP INDEX IF EXISTS trigram_bench.b1, trigram_bench.b2, trigram_bench.b3,"
DROP += " trigram_bench.b4, trigram_bench.b5, trigram_bench.g"


def url() -> str:
    base = os.environ.get("DECNET_BENCH_PG_URL") or os.environ["DECNET_TEST_PG_URL"]
    return f"{base.rsplit('/', 1)[0]}/{os.environ['DECNET_BENCH_DATABASE']}"


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, statements: list[str], setup: tuple[str, ...] = ()) -> None:
    with psycopg.connect(url(), autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        pid = int(row[0]) if row else 0
        for statement in setup:
            conn.execute(statement)
        wall, cpu = time.perf_counter(), backend_cpu(pid)
        for statement in statements:
            conn.execute(statement)
        wall, cpu = time.perf_counter() - wall, backend_cpu(pid) - cpu
    load = os.getloadavg()[0]
    print(f"  {label:72} {wall:7.1f} s wall {cpu:7.1f} CPU-s  load {load:.1f}", flush=True)


def main() -> None:
    memory = "SET maintenance_work_mem = '{}'"
    timed(
        "copy of the logs table",
        [
            "DROP SCHEMA IF EXISTS trigram_bench CASCADE",
            "CREATE SCHEMA trigram_bench",
            f"CREATE TABLE trigram_bench.logs AS SELECT * FROM {SOURCE}",
            "VACUUM ANALYZE trigram_bench.logs",
        ],
    )
    for size in ("64MB", "256MB", "1GB"):
        build = [GIN.format(name="g", column="search_text"), DROP]
        timed(
            f"trigram index over search_text, maintenance_work_mem {size}",
            build,
            (memory.format(size),),
        )
    # The raw line is stored only inside the row's JSON since the logs model's v11 (ADR 0030).
    narrow = [GIN.format(name="g", column="(lower(row_json::json->>'raw_line'))"), DROP]
    timed(
        "trigram index over lower(raw_line) only (not SPEC-exact)",
        narrow,
        (memory.format("256MB"),),
    )
    every = [*BTREES, GIN.format(name="g", column="search_text")]
    timed("B-trees then the trigram index, one connection", every, (memory.format("256MB"),))
    timed("(drop)", [DROP])
    start = time.perf_counter()
    beside = threading.Thread(
        target=timed,
        args=("  B-trees in a second connection", list(BTREES), (memory.format("256MB"),)),
    )
    beside.start()
    timed(
        "  trigram index in the first",
        [GIN.format(name="g", column="search_text")],
        (memory.format("256MB"),),
    )
    beside.join()
    print(
        f"  trigram index beside the B-trees: {time.perf_counter() - start:.1f} s wall", flush=True
    )
    timed("(drop)", [DROP])
    for label, options in (
        ("default pending list (4 MB)", "fastupdate = on"),
        ("64 MB pending list", "fastupdate = on, gin_pending_list_limit = 65536"),
        ("fastupdate off", "fastupdate = off"),
    ):
        timed(
            f"100,000 rows into an indexed table, {label}",
            [
                "DROP TABLE IF EXISTS trigram_bench.ins",
                "CREATE TABLE trigram_bench.ins (LIKE trigram_bench.logs)",
                "CREATE INDEX gi ON trigram_bench.ins USING gin (search_text gin_trgm_ops)"
                f" WITH ({options})",
                "INSERT INTO trigram_bench.ins SELECT * FROM trigram_bench.logs LIMIT 100000",
                "VACUUM trigram_bench.ins",
            ],
        )
    timed("(drop the copy)", ["DROP SCHEMA trigram_bench CASCADE"])


if __name__ == "__main__":
    main()
