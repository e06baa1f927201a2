"""System commands: who am I, what is this box, what runs on it, and privilege changes."""

from __future__ import annotations

import shlex
from datetime import datetime

from infrastructure.emulators.shell.state import Command, Outcome, ShellState, split_flags

_DAEMONS = (
    ("root", 1, "/sbin/init"),
    ("root", 412, "/lib/systemd/systemd-journald"),
    ("root", 447, "/lib/systemd/systemd-udevd"),
    ("systemd+", 601, "/lib/systemd/systemd-resolved"),
    ("root", 688, "/usr/sbin/cron -f"),
    ("syslog", 702, "/usr/sbin/rsyslogd -n -iNONE"),
    ("root", 731, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
    ("root", 745, "/sbin/agetty -o -p -- \\u --noclear tty1 linux"),
)
_SEARCH_PATH = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin")


def whoami(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`whoami`."""
    return Outcome(sh.user + "\n")


def id_(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`id`."""
    if sh.is_root:
        return Outcome("uid=0(root) gid=0(root) groups=0(root)\n")
    uid = sh.uid
    return Outcome(
        f"uid={uid}({sh.user}) gid={uid}({sh.user}) groups={uid}({sh.user}),100(users)\n"
    )


def uname(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`uname [-asnrvmo]`."""
    flags, _ = split_flags(args)
    machine = sh.machine
    if "a" in flags:
        return Outcome(machine.uname_all() + "\n")
    parts = {
        "s": machine.sysname,
        "n": machine.hostname,
        "r": machine.release,
        "v": machine.version,
        "m": machine.arch,
        "p": machine.arch,
        "o": "GNU/Linux" if machine.sysname == "Linux" else machine.sysname,
    }
    chosen = [parts[f] for f in "snrvmpo" if f in flags] or [machine.sysname]
    return Outcome(" ".join(chosen) + "\n")


def hostname(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`hostname` (changing it needs root, and is not kept)."""
    if args and not args[0].startswith("-") and not sh.is_root:
        return Outcome("hostname: you must be root to change the host name\n", 1)
    return Outcome(sh.machine.hostname + "\n")


def _uptime_line(sh: ShellState) -> str:
    now = sh.now()
    up = now - sh.machine.boot_time
    hours, rest = divmod(up.seconds, 3600)
    return (
        f" {now:%H:%M:%S} up {up.days} days, {hours:2d}:{rest // 60:02d},  1 user,  "
        "load average: 0.08, 0.03, 0.01"
    )


def uptime(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`uptime`."""
    return Outcome(_uptime_line(sh) + "\n")


def w(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`w`: the load line and this session."""
    header = "USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT"
    row = f"{sh.user:<8} pts/0    {sh.client_ip:<16} {sh.now():%H:%M}    0.00s  0.02s  0.00s w"
    return Outcome(f"{_uptime_line(sh)}\n{header}\n{row}\n")


def ps(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`ps` (this terminal) or `ps aux` / `ps -ef` (the whole box)."""
    everything = any(a.lstrip("-") in {"aux", "ef", "ax", "e", "A", "auxf", "elf"} for a in args)
    shell = sh.shell_name
    if not everything:
        return Outcome(
            f"    PID TTY          TIME CMD\n   2291 pts/0    00:00:00 {shell}\n"
            "   2304 pts/0    00:00:00 ps\n"
        )
    lines = ["USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"]
    procs = [*_DAEMONS, (sh.user, 2291, f"-{shell}"), (sh.user, 2304, "ps " + " ".join(args))]
    for user, pid, cmd in procs:
        tty = "pts/0" if pid > 2000 else "?"
        lines.append(f"{user:<10} {pid:>5}  0.0  0.1  16972  9120 {tty:<8} Ss   Apr15   0:01 {cmd}")
    return Outcome("\n".join(lines) + "\n")


def history(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`history` (`-c` clears it)."""
    if "-c" in args:
        sh.history.clear()
        return Outcome()
    return Outcome("".join(f"{i:5d}  {line}\n" for i, line in enumerate(sh.history, 1)))


def exit_(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`exit` / `logout`."""
    sh.exit_requested = True
    return Outcome("logout\n" if sh.shell_name == "bash" else "")


def date(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`date`."""
    now: datetime = sh.now()
    return Outcome(now.strftime("%a %b %e %H:%M:%S UTC %Y") + "\n")


def env(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`env` / `printenv`."""
    return Outcome("".join(f"{k}={v}\n" for k, v in sorted(sh.env.items())))


def export(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`export NAME=value ...`."""
    for arg in args:
        name, sep, value = arg.partition("=")
        if sep and name.isidentifier():
            sh.env[name] = value
    return Outcome()


def which(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`which names`: found where the fake tree has the binary."""
    found = []
    for name in args:
        hit = next((f"{d}/{name}" for d in _SEARCH_PATH if sh.fs.get(f"{d}/{name}")), None)
        if hit:
            found.append(hit + "\n")
    return Outcome("".join(found), 0 if len(found) == len(args) and args else 1)


def free(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`free [-m|-h]`."""
    unit = 1024 if "-m" in args else 1
    head = "               total        used        free      shared  buff/cache   available"
    if "-h" in args:
        return Outcome(
            f"{head}\nMem:           3.8Gi       1.0Gi       265Mi       1.0Mi"
            "       2.3Gi       2.7Gi\nSwap:             0B          0B          0B\n"
        )
    values = [v // unit for v in (3964584, 1005660, 271844, 1092, 2374912, 2841216)]
    mem = "".join(f"{v:>12}" for v in values)
    return Outcome(f"{head}\nMem:   {mem}\nSwap:  {0:>12}{0:>12}{0:>12}\n")


def nproc(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`nproc`."""
    return Outcome("1\n" if sh.machine.arch.startswith("arm") else "2\n")


def df(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`df [-h]`."""
    return Outcome(
        "Filesystem      Size  Used Avail Use% Mounted on\n"
        "/dev/root        39G  9.1G   30G  24% /\n"
        "tmpfs           1.9G     0  1.9G   0% /dev/shm\n"
        "/dev/xvda15     105M  6.1M   99M   6% /boot/efi\n"
    )


def sudo(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`sudo cmd`: root runs it, anyone else is refused as a real sudoers file would."""
    if not sh.is_root:
        return Outcome(
            f"{sh.user} is not in the sudoers file.  This incident will be reported.\n", 1
        )
    _, operands = split_flags(args)
    return sh.run(shlex.join(operands), stdin)


def su(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`su`: never succeeds without a terminal password prompt."""
    return Outcome("Password: \nsu: Authentication failure\n", 1)


def passwd(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`passwd`: refuses (attackers try it to lock owners out)."""
    return Outcome(
        "passwd: Authentication token manipulation error\npasswd: password unchanged\n", 10
    )


def shell(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`sh -c 'line'`, or a script piped in on stdin."""
    if "-c" in args and args.index("-c") + 1 < len(args):
        return sh.run(args[args.index("-c") + 1])
    return sh.run("; ".join(line for line in stdin.splitlines() if line.strip()))


def nohup(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`nohup cmd` (also `timeout N cmd`, `setsid cmd`)."""
    operands = args[1:] if args and args[0].isdigit() else args
    return sh.run(shlex.join(operands), stdin)


def silent(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """Commands whose real counterpart usually prints nothing on success."""
    return Outcome()


def crontab(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`crontab -l` shows none; installing one `succeeds`."""
    return Outcome(f"no crontab for {sh.user}\n", 1) if "-l" in args else Outcome()


def false(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`false`."""
    return Outcome("", 1)


def clear(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`clear`."""
    return Outcome("\x1b[H\x1b[2J")


COMMANDS: dict[str, Command] = {
    "whoami": whoami, "id": id_, "uname": uname, "hostname": hostname, "uptime": uptime,
    "w": w, "who": w, "ps": ps, "history": history, "exit": exit_, "logout": exit_,
    "date": date, "env": env, "printenv": env, "export": export, "which": which, "free": free,
    "nproc": nproc, "df": df, "sudo": sudo, "su": su, "passwd": passwd, "sh": shell,
    "bash": shell, "ash": shell, "nohup": nohup, "timeout": nohup, "setsid": nohup,
    "crontab": crontab, "false": false, "clear": clear,
}  # fmt: skip
_SILENT_NAMES = (
    "true chattr systemctl service tar gzip gunzip unzip python3 perl kill pkill killall sleep "
    "ulimit sync trap unset alias unalias source . set stty tput disown wait"
)
SILENT = tuple(_SILENT_NAMES.split())
COMMANDS.update(dict.fromkeys(SILENT, silent))
