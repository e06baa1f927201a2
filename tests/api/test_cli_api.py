"""Black-box tests of the CLI as a new user meets it: `decnet login` and its saved session,
`--version`, `serve --help`, a missing INI, and Ctrl+C while SSE clients are connected."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import stat
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

from tests.api.conftest import activate_admin
from tests.api.harness import (
    API_PREFIX,
    BOOTSTRAP_ADMIN,
    DECNET_BIN,
    Account,
    DecnetServer,
    clean_env,
    run_decnet,
    scratch_dir,
)
from tests.api.observations_support import open_stream


def cli(
    server: DecnetServer, config_home: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A client command with its own config dir and no token or password in the environment."""
    env = clean_env(XDG_CONFIG_HOME=str(config_home))
    return run_decnet(*args, "--url", server.base_url, env=env, stdin=stdin)


def test_login_saves_a_private_session_the_other_commands_use(
    server: DecnetServer, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """`decnet login` writes $XDG_CONFIG_HOME/decnet/token (0600); `decnet deckies` then works
    with no DECNET_CLI_TOKEN; without a session it fails with a hint, not a prompt."""
    user = make_user("viewer")
    with scratch_dir("cli-home") as home:
        assert cli(server, home, "deckies").returncode == 1
        login = cli(server, home, "login", "--user", user.username, "--password", user.password)
        assert login.returncode == 0, login.stderr
        token_file = home / "decnet" / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        assert user.password not in token_file.read_text()
        listed = cli(server, home, "deckies", "--json")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.strip().startswith("[")
        # a command pointed at another server says whose session it holds, not just "none"
        elsewhere = "http://127.0.0.1:1"
        env = clean_env(XDG_CONFIG_HOME=str(home))
        missed = run_decnet("deckies", "--url", elsewhere, env=env)
        assert missed.returncode == 1
        assert f"the saved session is for {server.base_url}" in missed.stderr
        assert f"decnet login --url {elsewhere}" in missed.stderr


def test_an_expired_saved_session_asks_to_log_in_again(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """With 3-second tokens, a saved session used after expiry (no terminal) says to run
    `decnet login` instead of failing with a bare 401."""
    server = spawn_server(extra_env={"DECNET_JWT_TTL_S": "3"})
    activate_admin(server)
    with scratch_dir("cli-home") as home:
        login = cli(
            server, home, "login", "--user", BOOTSTRAP_ADMIN, "--password", server.admin_password
        )
        assert login.returncode == 0, login.stderr
        time.sleep(4)
        listed = cli(server, home, "deckies")
        assert listed.returncode == 1
        assert "run `decnet login`" in listed.stderr


def test_version_and_serve_help() -> None:
    """`--version` prints the package version; `serve --help` lists every DECNET_ variable with
    its default."""
    version = subprocess.run(
        [str(DECNET_BIN), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == "decnet 0.1.0"
    helped = subprocess.run(
        [str(DECNET_BIN), "serve", "--help"], capture_output=True, text=True, check=True
    )
    for line in (
        "DECNET_API_PORT",
        "8000",
        "DECNET_JWT_SECRET",
        "DECNET_DATA_DIR",
        ".decnet",
        "DECNET_CORS_ORIGINS  ",
    ):
        assert line in helped.stdout


def test_a_missing_ini_is_one_line(server: DecnetServer, admin_token: str) -> None:
    """`decnet deploy missing.ini` prints one line naming the file, exit 1, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env["DECNET_CLI_TOKEN"] = admin_token
    result = subprocess.run(
        [str(DECNET_BIN), "deploy", "/nonexistent/lab.ini", "--url", server.base_url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "decnet: cannot read /nonexistent/lab.ini: No such file or directory"
    ]


def test_ctrl_c_with_streams_open_shuts_down_cleanly(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """SIGINT while two SSE clients are connected: exit 0, no ASGI error or traceback logged."""
    server = spawn_server()
    token = activate_admin(server)
    url = f"{server.base_url}{API_PREFIX}/stream"
    with (
        open_stream(url, {"token": token}, read_timeout=20) as first,
        open_stream(url, {"token": token}, read_timeout=20) as second,
    ):
        for sse in (first, second):
            sse.until(lambda ev: any(e.data for e in ev), 5, "the stats frame")
        process = server.process
        assert process is not None
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    server.process = None
    log = server.log_path.read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert "ASGI" not in log, log[-3000:]
    server.start()  # the fixture stops it once more


def on_a_terminal(args: list[str], env: dict[str, str], answers: dict[str, str]) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its controlling terminal, answering prompts."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        args,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    output, pending = "", dict(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            for prompt in [p for p in pending if p in output]:
                os.write(master, (pending.pop(prompt) + "\n").encode())
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=10), output


def test_an_expired_session_prompts_for_the_password_on_a_terminal(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """On a terminal, a command with an expired saved session asks for the password, logs in
    again, saves the new session and goes on."""
    server = spawn_server(extra_env={"DECNET_JWT_TTL_S": "3"})
    activate_admin(server)
    with scratch_dir("cli-home") as home:
        login = cli(
            server, home, "login", "--user", BOOTSTRAP_ADMIN, "--password", server.admin_password
        )
        assert login.returncode == 0, login.stderr
        before = (home / "decnet" / "token").read_text()
        time.sleep(4)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
        env["XDG_CONFIG_HOME"] = str(home)
        code, output = on_a_terminal(
            [str(DECNET_BIN), "deckies", "--json", "--url", server.base_url],
            env,
            {f"session expired; password for {BOOTSTRAP_ADMIN}: ": server.admin_password},
        )
        assert code == 0, output
        assert "[" in output
        assert (home / "decnet" / "token").read_text() != before
