"""A process started with another checkpoint key than the one that signed the history.

The split topology (compose.yaml) gave every service a data volume of its own, so each made
its own key: the API replicas then verified the projector's checkpoints with theirs and
reported the history as altered. Now such a process signs nothing and exports nothing, says
so in `/health`, and `verify` names the key the history's checkpoint was signed by; back on
the right key, everything holds again.
"""

from __future__ import annotations

from typing import Any

from infrastructure.audit.signing import SigningKey
from tests.api.harness import one_backend
from tests.api.observations_support import (
    ObservedServer,
    attacker_row,
    observed_server,
    scratch_dir,
    send_tcp,
    syslog_line,
    wait_for,
)

SIGNING_EVERY_S = "1"


def _signing(obs: ObservedServer) -> dict[str, Any]:
    with obs.server.client() as api:
        component: dict[str, Any] = api.get("/health", obs.token).json()["components"][
            "signing_key"
        ]
        return component


def _checkpoint_keys(obs: ObservedServer) -> set[str]:
    with obs.server.client() as api:
        page = api.get("/audit/checkpoints", obs.token, params={"limit": 500}).json()
        return {c["key_fingerprint"] for c in page["data"]}


def _send(obs: ObservedServer, ip: str) -> dict[str, Any]:
    line = syslog_line("sk-decky", "ssh", "command", {"src_ip": ip, "command": "uname -a"})
    send_tcp(obs.syslog_port, [line])
    with obs.server.client() as api:
        return wait_for(lambda: attacker_row(api, obs.token, ip, 1), 30, f"attacker {ip}")


def test_a_process_with_another_key_signs_nothing_and_says_why() -> None:
    """Given a history signed by the data dir's key, when the server restarts on another key
    file, then /health fails the component, no checkpoint is signed, an export is 409 and
    verify names the history's key; back on the first key, all is well again."""
    with scratch_dir("signing-key") as scratch:
        other = scratch / "other.pem"
        SigningKey.load_or_create(other)
        env = {"DECNET_CHECKPOINT_EVERY_S": SIGNING_EVERY_S}
        with observed_server(one_backend(), scratch / "data", extra_env=env) as obs:
            # given the history's first checkpoint, signed by the data dir's key
            first = _send(obs, "10.93.0.1")
            own = _signing(obs)
            assert own["status"] == "ok", own
            key = own["detail"].split()[0]
            wait_for(lambda: _checkpoint_keys(obs) or None, 30, "a checkpoint")
            assert _checkpoint_keys(obs) == {key}

            # when the server restarts with another key file
            obs.server.stop()
            obs.server.extra_env["DECNET_SIGNING_KEY_FILE"] = str(other)
            obs.restart()
            foreign = SigningKey.load(other).fingerprint()

            # then it says so, signs nothing of new events and exports nothing
            signing = _signing(obs)
            assert signing["status"] == "failing", signing
            assert key in signing["detail"]
            assert foreign in signing["detail"]
            assert "DECNET_SIGNING_KEY_FILE" in signing["detail"]
            with obs.server.client() as api:
                health = api.get("/health", obs.token)
                assert health.status_code == 200  # degraded, not down
                assert health.json()["status"] == "degraded"
                second = _send(obs, "10.93.0.2")
                exported = api.get(f"/attackers/{second['uuid']}/evidence", obs.token)
                assert exported.status_code == 409, exported.text
                assert key in exported.json()["detail"]
                verified = api.get("/audit/verify", obs.token).json()
                assert verified["ok"] is False
                assert f"its event names key {key}" in verified["first_mismatch"]["detail"]
            # (its checkpointer polls each second and is due: it refuses, and says why)
            wait_for(
                lambda: "checkpoint_refused" in obs.server.log_tail(400) or None,
                30,
                "the checkpointer's refusal",
            )
            assert _checkpoint_keys(obs) == {key}

            # and given the right key again, it signs, verifies and exports
            obs.server.stop()
            del obs.server.extra_env["DECNET_SIGNING_KEY_FILE"]
            obs.restart()
            assert _signing(obs)["status"] == "ok"
            with obs.server.client() as api:
                wait_for(
                    lambda: api.get("/audit/checkpoints", obs.token).json()["total"] >= 2 or None,
                    30,
                    "a checkpoint of the events since",
                )
                verified = api.get("/audit/verify", obs.token).json()
                assert verified["ok"] is True, verified
                exported = api.get(f"/attackers/{first['uuid']}/evidence", obs.token)
                assert exported.status_code == 200, exported.text
            assert _checkpoint_keys(obs) == {key}
