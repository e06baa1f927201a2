"""Wrong arguments to `decnet`'s client commands give one clear line and a non-zero exit, and
a name typed on the command line stays one path segment of the request it makes."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from interfaces.cli.main import main


@pytest.mark.parametrize(
    "url", ["notaurl", "http://[::1", "http://a b", "ftp://x", "http://", "http://h:99999"]
)
@pytest.mark.parametrize(
    "command",
    [
        ["deckies"],
        ["events"],
        ["dead-letters"],
        ["login", "--user", "u", "--password", "p"],
        ["projections", "status"],
    ],
)
def test_an_unusable_server_url_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: list[str],
    url: str,
) -> None:
    """`--url` that no HTTP client can use is refused by the parser, naming the URL."""
    # `projections` runs locally when no server answers: never on the working directory's data.
    monkeypatch.setenv("DECNET_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--url", url, "--token", "t"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--url" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_audit_verify_timeout_must_be_positive(
    capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    """`decnet audit verify --timeout` takes a positive number of seconds."""
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "verify", "--timeout", timeout, "--token", "t"])
    assert exit_.value.code == 2
    assert "--timeout" in capsys.readouterr().err


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 404 and remembers the raw request target."""

    paths: list[str] = []  # noqa: RUF012 - one list shared by the test and the handler

    def _answer(self) -> None:
        self.paths.append(self.path)
        body = b'{"detail": "not here"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    """A local HTTP server that records request targets; its base URL."""
    Recorder.paths = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["mutate", "Bad Name!"], "/api/v1/deckies/Bad%20Name%21/mutate"),
        (["teardown", "?x=1"], "/api/v1/deckies/%3Fx%3D1"),
        (["teardown", "../../etc"], "/api/v1/deckies/..%2F..%2Fetc"),
    ],
)
def test_a_typed_name_is_one_path_segment(
    capsys: pytest.CaptureFixture[str], recorder: str, command: list[str], target: str
) -> None:
    """Spaces, `?`, `/` in a name are escaped: the server refuses the name, not another route."""
    assert main([*command, "--url", recorder, "--token", "t"]) == 1
    assert Recorder.paths[-1] == target
    err = capsys.readouterr().err
    assert "not here (404)" in err
    assert "Traceback" not in err


def test_a_typed_view_label_is_one_path_segment(recorder: str, tmp_path: Path) -> None:
    """`decnet views drop 'BAD LABEL'` asks for that label (in a process of its own: `views`
    configures the server's logging, which must not outlive the test in this one)."""
    command = ["views", "drop", "BAD LABEL", "--url", recorder, "--token", "t"]
    done = subprocess.run(
        [Path(sys.executable).with_name("decnet"), *command],
        env={"PATH": "/usr/bin:/bin", "DECNET_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert Recorder.paths[-1] == "/api/v1/views/BAD%20LABEL"
    assert "not here (404)" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("named_by", ["--url", "DECNET_CLI_URL"])
@pytest.mark.parametrize("command", [["projections", "status"], ["views"]])
def test_a_named_server_that_does_not_answer_is_not_replaced_by_local_data(
    tmp_path: Path, command: list[str], named_by: str
) -> None:
    """`projections`/`views` work on the data directory only when no server was named: pointed
    at one that does not answer, they say so and exit 1, opening nothing locally."""
    unreachable = "http://127.0.0.1:9"  # discard: nothing listens
    env = {"PATH": "/usr/bin:/bin", "DECNET_DATA_DIR": str(tmp_path / "data")}
    if named_by == "--url":
        command = [*command, "--url", unreachable]
    else:
        env["DECNET_CLI_URL"] = unreachable
    done = _decnet(command, env)
    assert done.returncode == 1, done.stderr
    assert f"no server answers at {unreachable}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists(), "a local database was opened"


@pytest.mark.parametrize(
    "command", [["projections", "status"], ["projections", "rebuild"], ["views"]]
)
def test_without_a_server_or_its_data_nothing_is_made_to_answer(
    tmp_path: Path, command: list[str]
) -> None:
    """With no server answering and no embedded database in the data directory (a command run
    away from the server's data), `projections`/`views` say so and exit 1 instead of making a
    new, empty database and reporting on it."""
    port = _unused_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DECNET_DATA_DIR": str(tmp_path / "data"),
        "DECNET_API_PORT": str(port),
    }
    done = _decnet(command, env)
    assert done.returncode == 1, done.stderr
    assert f"no server answers at http://127.0.0.1:{port}" in done.stderr
    assert f"{tmp_path / 'data'} holds no database" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "pg").exists(), "a local database was made"


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _decnet(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed `decnet` with only `env`, to its end."""
    return subprocess.run(
        [Path(sys.executable).with_name("decnet"), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
