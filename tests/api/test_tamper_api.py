"""Tamper evidence against a real server and its PostgreSQL: proofs hold, signatures hold, and
`verify` names the position and kind of every change made behind the product's back."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from domain.audit.checkpoint import Checkpoint
from domain.audit.verify import verify_consistency, verify_inclusion
from projections.merkle import CHECKPOINT_TOPIC
from tests.api.conftest import activate_admin
from tests.api.harness import (
    EXTERNAL_SKIP_REASON,
    PG_URL_ENV,
    ApiClient,
    Backend,
    DecnetServer,
    make_account,
    scratch_dir,
)

pytestmark = pytest.mark.external_pg
EVENTS = "decnet_events.decnet_events"


@dataclass
class Audited:
    """A server with some history, its database URL and an auditor's token."""

    server: DecnetServer
    db: str
    admin: str
    auditor: str


@pytest.fixture(scope="module")
def audited() -> Iterator[Audited]:
    """A server signing checkpoints every second, 40 admin acts in its log."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    env = {"DECNET_CHECKPOINT_EVERY_S": "1"}
    with (
        scratch_dir("tamper") as data_dir,
        Backend("external", admin_url).server(data_dir, extra_env=env) as server,
    ):
        admin = activate_admin(server)
        with server.client() as api:
            auditor = make_account(api, admin, "auditor", prefix="tamper-aud").token
            for limit in range(1, 41):
                assert api.set_limit(admin, limit).status_code == 200
            assert server.database_url is not None
            state = Audited(server, server.database_url, admin, auditor)
            _wait_signed(api, auditor, _head(state))
        yield state


def _head(state: Audited) -> int:
    """The tree size a checkpoint must reach to cover every event that is not a checkpoint.

    Checkpoint events are left out at the end: the signer never signs a tree whose only new
    leaves are its own checkpoints, so a checkpoint signed between the caller's last append and
    this count would otherwise leave a size no checkpoint will ever reach.
    """
    with psycopg.connect(state.db) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {EVENTS} WHERE notification_id <="
            f" (SELECT max(notification_id) FROM {EVENTS} WHERE topic <> %s)",
            (CHECKPOINT_TOPIC,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_signed(api: ApiClient, token: str, size: int, timeout: float = 30.0) -> dict[str, Any]:
    """The newest checkpoint once one covers at least `size` events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = api.get("/audit/checkpoints", token).json()
        if page["data"] and page["data"][0]["tree_size"] >= size:
            newest: dict[str, Any] = page["data"][0]
            return newest
        time.sleep(0.3)
    raise AssertionError(f"no checkpoint covers {size} events: {page}")


def _verify(api: ApiClient, token: str) -> dict[str, Any]:
    response = api.get("/audit/verify", token)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def _positions(state: Audited) -> list[int]:
    with psycopg.connect(state.db) as conn:
        rows = conn.execute(f"SELECT notification_id FROM {EVENTS} ORDER BY 1").fetchall()
    return [int(r[0]) for r in rows]


def _limit_positions(state: Audited) -> list[int]:
    with psycopg.connect(state.db) as conn:
        rows = conn.execute(
            f"SELECT notification_id FROM {EVENTS} WHERE topic LIKE %s ORDER BY 1",
            ("%DeploymentLimitSet",),
        ).fetchall()
    return [int(r[0]) for r in rows]


def test_checkpoints_are_signed_by_the_published_key(audited: Audited) -> None:
    """Given signed checkpoints, when checked with the public key, then every signature holds."""
    with audited.server.client() as api:
        key = api.get("/audit/public-key", audited.auditor).json()
        checkpoints = api.get("/audit/checkpoints?limit=1000", audited.auditor).json()
    public = load_pem_public_key(key["pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    assert base64.b64decode(key["raw_base64"]) == public.public_bytes_raw()
    assert checkpoints["total"] >= 1
    sizes = [cp["tree_size"] for cp in checkpoints["data"]]
    assert sizes == sorted(sizes, reverse=True)
    for cp in checkpoints["data"]:
        message = Checkpoint(cp["tree_size"], cp["root_hash"], cp["timestamp"]).message()
        public.verify(base64.b64decode(cp["signature"]), message)
        assert cp["key_fingerprint"] == key["fingerprint"]


def test_every_inclusion_and_consistency_proof_verifies(audited: Audited) -> None:
    """Given the log, when each event is proven in recent checkpoints, then RFC 9162 agrees."""
    with audited.server.client() as api:
        cps = api.get("/audit/checkpoints?limit=1000", audited.auditor).json()["data"]
        positions = _positions(audited)
        for cp in cps[:3]:
            size, root = cp["tree_size"], bytes.fromhex(cp["root_hash"])
            for index, position in enumerate(positions[:size]):
                proof = api.get(
                    f"/audit/proof?position={position}&tree_size={size}", audited.auditor
                ).json()
                assert proof["leaf_index"] == index
                assert proof["root_hash"] == cp["root_hash"]
                path = [bytes.fromhex(h) for h in proof["audit_path"]]
                leaf = bytes.fromhex(proof["leaf_hash"])
                assert verify_inclusion(leaf, index, size, path, root), (position, size)
        for older in cps:
            for newer in cps[:3]:
                if older["tree_size"] > newer["tree_size"]:
                    continue
                q = f"/audit/consistency?from={older['tree_size']}&to={newer['tree_size']}"
                proof = api.get(q, audited.auditor).json()
                assert proof["from_root"] == older["root_hash"]
                assert proof["to_root"] == newer["root_hash"]
                hashes = [bytes.fromhex(h) for h in proof["proof"]]
                assert verify_consistency(
                    older["tree_size"],
                    newer["tree_size"],
                    bytes.fromhex(older["root_hash"]),
                    bytes.fromhex(newer["root_hash"]),
                    hashes,
                )


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("/audit/proof", 422),
        ("/audit/proof?position=abc", 422),
        ("/audit/proof?position=0", 422),
        ("/audit/proof?position=-3", 422),
        ("/audit/proof?position=99999999", 404),
        ("/audit/proof?position=1&tree_size=0", 422),
        ("/audit/proof?position=1&tree_size=99999999", 422),
        ("/audit/proof?position=1&tree_size=1e3", 422),
        ("/audit/proof?position=99999999999999999999999", 422),
        ("/audit/consistency?from=5&to=2", 422),
        ("/audit/consistency?from=1&to=99999999", 422),
        ("/audit/consistency?from=x&to=2", 422),
        ("/audit/consistency?from=-1&to=2", 422),
        ("/audit/checkpoints?limit=0", 422),
    ],
)
def test_bad_proof_requests_are_4xx(audited: Audited, query: str, status: int) -> None:
    """Given nonsense or out-of-range parameters, when asked, then a clear 4xx, never a 500."""
    with audited.server.client() as api:
        response = api.get(query, audited.auditor)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_consistency_edges_hold(audited: Audited) -> None:
    """From the empty tree, between equal sizes, and by default up to the tree now."""
    with audited.server.client() as api:
        empty = api.get("/audit/consistency?from=0&to=0", audited.auditor).json()
        whole = api.get("/audit/consistency", audited.auditor).json()
        same = api.get("/audit/consistency?from=5&to=5", audited.auditor).json()
    empty_root = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert (empty["from_root"], empty["to_root"], empty["proof"]) == (empty_root.hex(),) * 2 + ([],)
    assert whole["from"] == 0
    assert whole["to"] >= 40
    assert whole["proof"] == []
    assert same["proof"] == []
    assert same["from_root"] == same["to_root"]
    assert verify_consistency(
        5, 5, bytes.fromhex(same["from_root"]), bytes.fromhex(same["to_root"]), []
    )


def test_an_untouched_log_verifies(audited: Audited) -> None:
    """Given an untouched store, when verified, then ok, every checkpoint checked."""
    with audited.server.client() as api:
        report = _verify(api, audited.auditor)
        checkpoints = api.get("/audit/checkpoints", audited.auditor).json()
    assert report["ok"] is True, report
    assert report["first_mismatch"] is None
    assert report["checkpoints_checked"] == checkpoints["total"]
    assert report["verified_up_to"] >= 40
    assert report["head"] == _positions(audited)[-1]


def test_cli_audit_verify_exits_zero_then_nonzero(audited: Audited) -> None:
    """Given the CLI, when the log holds it exits 0; when a row changed it exits 1 naming it."""
    args = ("audit", "verify", "--url", audited.server.base_url, "--token", audited.auditor)
    done = audited.server.run_cli(*args)
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout
    target = _positions(audited)[10]
    sql = f"UPDATE {EVENTS} SET state = state || ' '::bytea WHERE notification_id = %s"
    with _tampered(audited, (sql, (target,))):
        done = audited.server.run_cli(*args)
    assert done.returncode == 1
    assert f"position {target} (altered)" in done.stderr


Statement = tuple[str, tuple[Any, ...]]


class _tampered:
    """Run SQL on the server's database behind its back, and put the rows back afterwards."""

    def __init__(self, state: Audited, *statements: Statement) -> None:
        self.state, self.statements = state, statements

    def __enter__(self) -> None:
        with psycopg.connect(self.state.db) as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS tamper_backup AS TABLE {EVENTS} WITH NO DATA")
            conn.execute("TRUNCATE tamper_backup")
            conn.execute(f"INSERT INTO tamper_backup SELECT * FROM {EVENTS}")
            for sql, params in self.statements:
                conn.execute(sql, params)

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.state.db) as conn:
            # Rows the product appended meanwhile (rebuilds, checkpoints) stay.
            conn.execute(
                f"DELETE FROM {EVENTS} WHERE notification_id <="
                " (SELECT max(notification_id) FROM tamper_backup)"
            )
            conn.execute(f"INSERT INTO {EVENTS} SELECT * FROM tamper_backup")


def test_verify_names_an_altered_event(audited: Audited) -> None:
    """Given one event's stored state changed, when verified, then that position, `altered`."""
    target = _limit_positions(audited)[20]
    sql = (
        f"UPDATE {EVENTS} SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        " '\"deployment_limit\":', '\"deployment_limit\":1'), 'UTF8') WHERE notification_id = %s"
    )
    with audited.server.client() as api, _tampered(audited, (sql, (target,))):
        report = _verify(api, audited.auditor)
    assert report["ok"] is False
    assert report["first_mismatch"]["position"] == target, report
    assert report["first_mismatch"]["kind"] == "altered"
    assert report["verified_up_to"] < target


def test_verify_names_a_deleted_event(audited: Audited) -> None:
    """Given one event's row deleted, when verified, then that position, `missing`."""
    target = _positions(audited)[15]
    sql = f"DELETE FROM {EVENTS} WHERE notification_id = %s"
    with audited.server.client() as api, _tampered(audited, (sql, (target,))):
        report = _verify(api, audited.auditor)
    assert report["first_mismatch"]["position"] == target, report
    assert report["first_mismatch"]["kind"] == "missing"


def test_verify_names_two_swapped_events(audited: Audited) -> None:
    """Given two events' positions swapped, when verified, then the first of them, `reordered`."""
    positions = _positions(audited)
    first, second = positions[12], positions[25]
    move = f"UPDATE {EVENTS} SET notification_id = %s WHERE notification_id = %s"
    swap = ((move, (-first, first)), (move, (first, second)), (move, (second, -first)))
    with audited.server.client() as api, _tampered(audited, *swap):
        report = _verify(api, audited.auditor)
    assert report["first_mismatch"]["position"] == first, report
    assert report["first_mismatch"]["kind"] == "reordered"
    assert f"recorded at position {second}" in report["first_mismatch"]["detail"]


def test_verify_names_an_inserted_event(audited: Audited) -> None:
    """Given a row inserted into a gap of the sequence, when verified, then there, `inserted`."""
    with psycopg.connect(audited.db) as conn:
        row = conn.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'notification_id'))", (EVENTS,)
        ).fetchone()
    assert row is not None
    gap = int(row[0])  # a rolled-back append leaves such a gap
    with audited.server.client() as api:
        assert api.set_limit(audited.admin, 7).status_code == 200
        _wait_signed(api, audited.auditor, _head(audited))
        sql = (
            f"INSERT INTO {EVENTS} (notification_id, originator_id, originator_version, topic,"
            " state) SELECT %s, gen_random_uuid(), 1, topic, state FROM"
            f" {EVENTS} WHERE notification_id = %s"
        )
        with _tampered(audited, (sql, (gap, _positions(audited)[5]))):
            report = _verify(api, audited.auditor)
    assert report["first_mismatch"]["position"] == gap, report
    assert report["first_mismatch"]["kind"] == "inserted"


def _completed_rebuilds(api: ApiClient, admin: str) -> int:
    page = api.get(
        "/events", admin, params={"type": "read_models.rebuild_completed", "limit": 1000}
    ).json()
    return sum(1 for e in page["data"] if e["data"].get("name") == "merkle")


def _rebuild_tree(api: ApiClient, admin: str) -> None:
    """Rebuild the tree model from the store and wait until the new one went live."""
    deadline = time.monotonic() + 60
    done = _completed_rebuilds(api, admin)
    while (accepted := api.post("/projections/merkle/rebuild", admin)).status_code == 409:
        assert time.monotonic() < deadline, accepted.text  # the last rebuild is being recorded
        time.sleep(0.3)
        done = _completed_rebuilds(api, admin)
    assert accepted.status_code == 202, accepted.text
    while _completed_rebuilds(api, admin) <= done:
        assert time.monotonic() < deadline, "the tree model was not rebuilt"
        time.sleep(0.3)


def test_checkpoints_survive_a_rebuild_that_then_cannot_hide_a_change(audited: Audited) -> None:
    """Given the tree model rebuilt, then the same checkpoints and ok; given a row changed and
    the model rebuilt from it, then the signed checkpoints still catch it and bound where."""
    with audited.server.client() as api:
        before = api.get("/audit/checkpoints?limit=1000", audited.auditor).json()
        _rebuild_tree(api, audited.admin)
        after = api.get("/audit/checkpoints?limit=1000", audited.auditor).json()
        assert after["data"][-before["total"] :] == before["data"], (before, after)  # kept
        first = _verify(api, audited.auditor)
        assert first["ok"] is True, first
        target = _limit_positions(audited)[10]
        sql = f"UPDATE {EVENTS} SET state = state || ' '::bytea WHERE notification_id = %s"
        with _tampered(audited, (sql, (target,))):
            _rebuild_tree(api, audited.admin)
            report = _verify(api, audited.auditor)
        _rebuild_tree(api, audited.admin)
        restored = _verify(api, audited.auditor)
        assert restored["ok"] is True, restored
    mismatch = report["first_mismatch"]
    assert report["ok"] is False, report
    assert mismatch["kind"] == "altered", report
    assert mismatch["position"] <= target, (target, report)
    assert "does not have the root signed" in mismatch["detail"], report
    assert report["verified_up_to"] < target, (target, report)
