"""`/deckies`: the fleet inventory (viewers) and deploy/mutate/interval/teardown (admins)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter

from application.fleet.commands import Deployment
from application.fleet.reconciler import Settlement
from application.fleet.visibility import deckies_for
from application.reads.rows import Decky
from domain.fleet.durations import MAX_MINUTES, checked_minutes, parse_duration
from domain.shared.errors import InvalidError
from interfaces.http.auth import command_meta, principal_of, requires_command, services_of
from interfaces.http.commands import in_thread, settle
from interfaces.http.openapi import ANSWERS, DURATION_PATTERN, ErrorResponse, documented
from interfaces.http.params import whole
from interfaces.http.schemas import MessageResponse
from interfaces.http.views import ViewParam, readers_for
from interfaces.services import Services

NAME = re.compile(r"[a-z0-9-]{1,64}")
DeckyName = Annotated[
    str, Parameter(description="The decky's name", schema_extra={"pattern": "^[a-z0-9-]{1,64}$"})
]


class DeployRequest(msgspec.Struct, forbid_unknown_fields=True):
    ini_content: str


class IntervalRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A duration `"<n><unit>"` (`^[1-9]\\d*[mdMyY]$`), whole minutes as DECNET sends, or null."""

    mutate_interval: Annotated[
        str | int | float | None,  # a float only as a whole number (`whole`)
        documented(
            one_of=None,
            any_of=[
                Schema(type=OpenAPIType.STRING, pattern=DURATION_PATTERN),
                Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_MINUTES),
                Schema(type=OpenAPIType.NULL),
            ],
        ),
    ]


class DeployResponse(msgspec.Struct):
    """`deckies`: the new ones; `unchanged`: already in the fleet as defined (kept);
    `ignored`: `[section] key` settings no emulator reads (kept in `service_config`)."""

    message: str
    deckies: list[str]
    unchanged: list[str]
    ignored: list[str]


class MutateResponse(msgspec.Struct):
    message: str
    services: list[str]


def _count(n: int) -> str:
    return f"{n} {'decky' if n == 1 else 'deckies'}"


def deploy_message(deployment: Deployment, running: bool) -> str:
    """`Deployed 2 deckies` (`; still starting`), with the kept ones counted when there are any."""
    message = f"Deployed {_count(len(deployment.names))}"
    if deployment.unchanged:
        message += f", {_count(len(deployment.unchanged))} already deployed and unchanged"
    return message if running else f"{message}; still starting"


def interval_minutes(value: str | int | float | None) -> int | None:
    """Minutes from a duration string or a whole number of minutes; None clears."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_duration(value)
    return checked_minutes(whole("mutate_interval", value))


def checked_name(name: str) -> str:
    """A decky name from the path, or 422."""
    if NAME.fullmatch(name) is None:
        raise InvalidError(f"decky name {name[:80]!r} does not match ^[a-z0-9-]{{1,64}}$")
    return name


async def _await_runtime(services: Services, position: int, names: Sequence[str]) -> Settlement:
    """Wait (bounded) for the runtime's outcome, then until `/deckies` shows it."""
    wait_s = services.core.settings.deploy_wait_s
    settled = await services.fleet.settler.settle(position, names, wait_s)
    await settle(services, max(position, settled.position), ["fleet"])
    return settled


class FleetController(Controller):
    """The fleet; every write is a command whose runtime outcome the response waits for."""

    path = "/deckies"
    tags = ["fleet"]

    @get("/")
    async def list_deckies(
        self, request: Request[Any, Any, Any], view: ViewParam = None
    ) -> list[Decky]:
        """Every decky with its services, listening ports, runtime status and mutation times.

        Secret settings in `service_config` (passwords, `users`, keys named like a secret) are
        shown to admins only; others see `"[redacted]"` in their place.
        """
        deckies = await (await readers_for(request, view)).fleet.deckies()
        return deckies_for(deckies, admin=principal_of(request).is_admin)

    @post(
        "/deploy",
        guards=[requires_command],
        status_code=200,
        responses={
            200: ResponseSpec(
                DeployResponse, description="Deployed and running", generate_examples=False
            ),
            202: ResponseSpec(
                DeployResponse, description="Deployed; still starting", generate_examples=False
            ),
            500: ResponseSpec(
                ErrorResponse,
                description="The runtime failed the deckies",
                generate_examples=False,
            ),
        },
        opt={ANSWERS: (409,)},
    )
    async def deploy(
        self, request: Request[Any, Any, Any], data: DeployRequest
    ) -> Response[DeployResponse | ErrorResponse]:
        """Add an INI's new deckies (≤ 512 KiB): 200 running, 202 still starting, 500 failed.

        Deckies already in the fleet as the INI defines them are kept and listed in
        `unchanged`; a name or IP the INI defines differently is 409. Failed deckies stay in
        the fleet with `status: failed` and the runtime's reason.
        """
        services = services_of(request)
        fleet = services.fleet
        deployment = await in_thread(fleet.commands.deploy, command_meta(request), data.ini_content)
        settled = await _await_runtime(services, deployment.position, deployment.names)
        failed = [
            f"{n}: {r.detail}" for n, r in settled.reports.items() if r and r.status == "failed"
        ]
        if failed:
            return Response(
                ErrorResponse(f"Deployment failed: {'; '.join(failed)}"), status_code=500
            )
        running = all(r is not None and r.status == "running" for r in settled.reports.values())
        answer = DeployResponse(
            message=deploy_message(deployment, running),
            deckies=list(deployment.names),
            unchanged=list(deployment.unchanged),
            ignored=list(deployment.ignored),
        )
        return Response(answer, status_code=200 if running else 202)

    @post("/{name:str}/mutate", guards=[requires_command], status_code=200)
    async def mutate(self, request: Request[Any, Any, Any], name: DeckyName) -> MutateResponse:
        """Redraw the decky's services now; the response waits for the runtime to switch."""
        services = services_of(request)
        fleet = services.fleet
        result = await in_thread(fleet.commands.mutate, command_meta(request), checked_name(name))
        await _await_runtime(services, result.position, [name])
        return MutateResponse(f"Successfully mutated {name}", list(result.services))

    @put("/{name:str}/mutate-interval", guards=[requires_command])
    async def set_interval(
        self, request: Request[Any, Any, Any], name: DeckyName, data: IntervalRequest
    ) -> MessageResponse:
        """Set the decky's own interval (`^[1-9]\\d*[mdMyY]$`); `null` follows the global one."""
        services = services_of(request)
        checked_name(name)
        minutes = interval_minutes(data.mutate_interval)
        position = await in_thread(
            services.fleet.commands.set_interval, command_meta(request), name, minutes
        )
        await settle(services, position, ["fleet"])
        return MessageResponse("Mutation interval updated")

    @delete("/{name:str}", guards=[requires_command], status_code=204)
    async def tear_down(self, request: Request[Any, Any, Any], name: DeckyName) -> None:
        """Remove the decky from the fleet and stop it."""
        services = services_of(request)
        fleet = services.fleet
        position = await in_thread(
            fleet.commands.tear_down, command_meta(request), checked_name(name)
        )
        await _await_runtime(services, position, [])
