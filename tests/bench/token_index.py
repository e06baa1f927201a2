"""The token index against the trigram index it replaced, on the same rows (ADR 0025).

    DECNET_BENCH_DATABASE=<copy of perf_bench_N> .venv/bin/python -m tests.bench.token_index

Needs the logs model at version 6 (rows with `tokens`; a bench `rebuild` stage on the copy makes
it). Works on a copy of the live logs table in a schema of its own (`token_bench`, dropped at the
end). Prints wall time and the backend's CPU-seconds (the server must run on this host) of: each
index built (GIN over `tokens`, the dictionary and its trigram index, the trigram index over
`search_text`); their sizes and the number of distinct tokens; the exact count of each search of
the read benchmark both ways (the tokens as a page's total uses them, `search_text LIKE` over
the trigram index); 100,000 rows inserted into an indexed table each way (the live path).
"""

from __future__ import annotations

import os

import psycopg

from application.reads.ports import LogFilter
from domain.observations.search import fields_text, parse_search
from projections.logs_schema import LogTables
from projections.logs_search import counted, escape_like
from tests.bench.trigram_build import timed, url

SOURCE = "decnet_rm_logs"
TRIGRAM = "CREATE INDEX tri ON token_bench.logs USING gin (search_text gin_trgm_ops)"
TOKENS = "CREATE INDEX tok ON token_bench.logs USING gin (tokens)"
DICTIONARY = (
    "CREATE TABLE token_bench.log_tokens AS SELECT token, count(*) AS count"
    " FROM token_bench.logs, unnest(tokens) AS token GROUP BY token",
    "ALTER TABLE token_bench.log_tokens ADD PRIMARY KEY (token)",
    "CREATE INDEX dtri ON token_bench.log_tokens USING gin (token gin_trgm_ops)",
)
SEARCHES = ("bot.sh", "root", "login", "username:root", "failed password", "12:30", "pw1", "0")
MEMORY = "SET maintenance_work_mem = '256MB'"


def sizes() -> None:
    with psycopg.connect(url(), autocommit=True) as conn:
        for name in ("token_bench.logs", "tok", "tri", "token_bench.log_tokens", "dtri"):
            qualified = name if "." in name else f"token_bench.{name}"
            row = conn.execute(
                "SELECT pg_size_pretty(pg_relation_size(%s::regclass))", (qualified,)
            ).fetchone()
            print(f"  size of {qualified:48} {row[0] if row else '?'}", flush=True)
        row = conn.execute("SELECT count(*) FROM token_bench.log_tokens").fetchone()
        print(f"  distinct tokens: {row[0] if row else '?':,}", flush=True)


def counts() -> None:
    for search in SEARCHES:
        query = parse_search(search)
        by_tokens_sql, params = counted(LogFilter(query), LogTables("token_bench"))
        likes, like_params = [], []
        for key, value in query.fields:
            pair = fields_text({key: value})[1:-1]
            likes.append("search_text LIKE %s AND fields_text LIKE %s")
            like_params += [f"%{escape_like(pair.lower())}%", f"%{escape_like(pair)}%"]
        for word in query.words:
            likes.append("search_text LIKE %s")
            like_params.append(f"%{escape_like(word)}%")
        with psycopg.connect(url(), autocommit=True) as conn:
            cur = psycopg.ClientCursor(conn)
            by_tokens = cur.mogrify(by_tokens_sql, params)
            by_text = cur.mogrify(
                "SELECT count(*) FROM token_bench.logs WHERE " + " AND ".join(likes), like_params
            )
        timed(f"count {search!r} by tokens", [by_tokens])
        timed(f"count {search!r} by search_text LIKE (trigram)", [by_text])


def inserts() -> None:
    for label, index in (
        ("tokens", "USING gin (tokens)"),
        ("trigram", "USING gin (search_text gin_trgm_ops)"),
    ):
        timed(
            f"100,000 rows into an indexed table, {label}",
            [
                "DROP TABLE IF EXISTS token_bench.ins",
                "CREATE TABLE token_bench.ins (LIKE token_bench.logs)",
                f"CREATE INDEX gi ON token_bench.ins {index}",
                "INSERT INTO token_bench.ins SELECT * FROM token_bench.logs LIMIT 100000",
                "VACUUM token_bench.ins",
            ],
        )


def main() -> None:
    timed(
        "copy of the logs table",
        [
            "DROP SCHEMA IF EXISTS token_bench CASCADE",
            "CREATE SCHEMA token_bench",
            f"CREATE TABLE token_bench.logs AS SELECT * FROM {SOURCE}.logs",
            "VACUUM ANALYZE token_bench.logs",
        ],
    )
    timed("GIN index over tokens", [TOKENS], (MEMORY,))
    timed("dictionary of tokens, its primary key and trigram index", list(DICTIONARY), (MEMORY,))
    timed("trigram index over search_text (what v5 built)", [TRIGRAM], (MEMORY,))
    timed("(analyze)", ["VACUUM ANALYZE token_bench.logs", "ANALYZE token_bench.log_tokens"])
    sizes()
    counts()
    inserts()
    if not os.environ.get("DECNET_BENCH_KEEP"):
        timed("(drop the copy)", ["DROP SCHEMA token_bench CASCADE"])


if __name__ == "__main__":
    main()
