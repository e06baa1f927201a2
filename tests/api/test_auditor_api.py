"""Auditors against a real server: the audit trail says who did what from where; the history
pages, filters and follows every stored event with secrets redacted and evidence kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.harness import fresh_source_ip, one_backend, unique_name
from tests.api.observations_support import (
    ObservedServer,
    SseReader,
    get_json,
    observed_server,
    scratch_dir,
    send_tcp,
    syslog_line,
    wait_for,
)

PASSWORD = "auditor-pass-1"


@pytest.fixture(scope="module")
def audited() -> Iterator[tuple[ObservedServer, str, str]]:
    """A server where an admin did things, plus an auditor's and a viewer's token."""
    with scratch_dir("auditor") as data_dir, observed_server(one_backend(), data_dir) as obs:
        with obs.server.client(fresh_source_ip()) as api:
            auditor = _user(api, obs.token, unique_name("aud"), "auditor")
            viewer = _user(api, obs.token, unique_name("vie"), "viewer")
        yield obs, auditor, viewer


def _user(api: Any, admin: str, name: str, role: str) -> str:
    api.create_user(admin, name, "first-pass-1", role)
    first = api.token(name, "first-pass-1")
    assert api.change_password(first, "first-pass-1", PASSWORD).status_code == 200
    token: str = api.token(name, PASSWORD)
    return token


def _act(api: Any, token: str, method: str, path: str, request_id: str, body: Any = None) -> None:
    response = api.request(method, path, token, json=body, headers={"X-Request-ID": request_id})
    assert response.status_code < 300, response.text


def test_the_audit_trail_names_actor_place_request_action_and_target(
    audited: tuple[ObservedServer, str, str],
) -> None:
    """Each administrative act appears once, newest first, with who, where and which request."""
    obs, auditor, _ = audited
    ip = fresh_source_ip()
    with obs.server.client(ip) as admin_api:
        _act(admin_api, obs.token, "PUT", "/config/deployment-limit", "req-limit-1",
             {"deployment_limit": 12})  # fmt: skip
        _act(admin_api, obs.token, "POST", "/deckies/deploy", "req-deploy-1",
             {"ini_content": "[aud-web]\nservices = http\nip = 127.78.0.1\n"})  # fmt: skip
        _act(admin_api, obs.token, "DELETE", "/deckies/aud-web", "req-down-1")
    with obs.server.client() as api:
        # The commands wait for the settings and fleet models only; the audit model follows the
        # store on its own and may not have applied them yet.
        acts = {"req-limit-1", "req-deploy-1", "req-down-1"}

        def all_acts() -> dict[str, Any] | None:
            page: dict[str, Any] = get_json(api, auditor, "/audit", limit=200)
            return page if acts <= {row["request_id"] for row in page["data"]} else None

        trail = wait_for(all_acts, 10, "the three acts in the audit trail")
        by_request = {row["request_id"]: row for row in trail["data"]}
        limit = by_request["req-limit-1"]
        assert (limit["action"], limit["detail"], limit["outcome"]) == (
            "deployment_limit_set",
            "12",
            "success",
        )
        assert limit["actor"]["username"] == "admin"
        assert limit["client_ip"] == ip
        assert by_request["req-deploy-1"]["action"] == "fleet_deployed"
        assert by_request["req-deploy-1"]["target"] == "aud-web"
        assert by_request["req-down-1"]["action"] == "decky_torn_down"
        stamps = [row["at"] for row in trail["data"]]
        assert stamps == sorted(stamps, reverse=True)
        only = get_json(api, auditor, "/audit", action="user_created", actor="admin")
        assert only["total"] >= 2
        assert {row["action"] for row in only["data"]} == {"user_created"}


def test_history_pages_cover_every_event_once_in_position_order(
    audited: tuple[ObservedServer, str, str],
) -> None:
    """Following `next_after` from 0 visits every position once, up to the head.

    The pages come from the history model, the head from the store: an event appended during
    the walk (a login, a scheduled mutation) is in the head before the model has indexed it, so
    the walk goes on until it has reached the head its first page saw (CI caught a walk ending
    at 21 with the head at 22).
    """
    obs, auditor, _ = audited
    with obs.server.client() as api:
        positions: list[int] = []
        after = 0
        head = None
        deadline = time.monotonic() + 10
        while True:
            page = get_json(api, auditor, "/events", after=after, limit=3)
            head = page["head"] if head is None else head
            positions.extend(event["position"] for event in page["data"])
            after = max(after, page["next_after"])
            if not page["data"] and (after >= head or time.monotonic() > deadline):
                break
            if not page["data"]:
                time.sleep(0.05)
        assert positions == sorted(set(positions))
        assert positions[-1] == head or after >= head
        deployed = get_json(api, auditor, "/events", type="fleet.decky_deployed")["data"]
        assert deployed
        assert {e["type"] for e in deployed} == {"fleet.decky_deployed"}
        first = deployed[0]["aggregate_id"]
        same = get_json(api, auditor, "/events", aggregate_id=first, limit=1000)["data"]
        assert {e["aggregate_id"] for e in same} == {first}
        assert api.get("/events", auditor, params={"type": "nope.nope"}).status_code == 422
        assert api.get("/events", auditor, params={"limit": 0}).status_code == 422


def test_secrets_never_appear_but_attacker_evidence_does(
    audited: tuple[ObservedServer, str, str],
) -> None:
    """No password hash or token id in the history; captured credentials with `expand=true`."""
    obs, auditor, _ = audited
    send_tcp(
        obs.syslog_port,
        [syslog_line("aud-x", "ssh", "auth", {"src_ip": "10.44.0.1", "password": "hunter2-x"})],
    )
    with obs.server.client() as api:
        wait_for(
            lambda: (
                get_json(api, auditor, "/events", type="observations.batch_observed")["data"]
                or None
            ),
            20,
            "a batch in the history",
        )
        everything = api.get("/events", auditor, params={"limit": 1000}).text
        assert "$argon2" not in everything
        assert "hunter2-x" not in everything  # a batch shows its digest, not its records
        expanded = api.get(
            "/events",
            auditor,
            params={"type": "observations.batch_observed", "expand": "true", "limit": 1000},
        ).text
        assert "hunter2-x" in expanded
        assert "$argon2" not in expanded


def test_roles_viewers_cannot_audit_and_auditors_cannot_command(
    audited: tuple[ObservedServer, str, str],
) -> None:
    """403 both ways: history is the auditor's, commands the admin's."""
    obs, auditor, viewer = audited
    with obs.server.client() as api:
        for path in ("/events", "/audit", "/views"):
            assert api.get(path, viewer).status_code == 403, path
            assert api.get(path, auditor).status_code == 200, path
        limit = api.put("/config/deployment-limit", auditor, json={"deployment_limit": 3})
        assert limit.status_code == 403
        assert api.post("/projections/logs/rebuild", auditor).status_code == 403


def test_the_history_stream_follows_new_events_live(
    audited: tuple[ObservedServer, str, str],
) -> None:
    """From the head, the next administrative act arrives with its position as the frame id."""
    obs, auditor, _ = audited
    with obs.server.client() as api:
        head = get_json(api, auditor, "/events", limit=1)["head"]
        url = f"{obs.server.base_url}/api/v1/events/stream"
        with (
            httpx.Client(timeout=httpx.Timeout(10.0, read=15.0)) as client,
            client.stream("GET", url, params={"after": head, "token": auditor}) as response,
        ):
            assert response.status_code == 200
            reader = SseReader(response)
            _act(api, obs.token, "PUT", "/config/deployment-limit", "req-live-1",
                 {"deployment_limit": 9})  # fmt: skip
            while True:
                frame = reader.next()
                assert frame is not None, "stream ended"
                if frame.data:
                    event = json.loads(frame.data)
                    if event["type"] == "settings.deployment_limit_set":
                        break
            assert int(frame.id or 0) == event["position"] > head
            assert event["request_id"] == "req-live-1"
