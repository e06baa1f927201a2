"""Contents of the text files an attacker reads first, rendered for one machine's distro."""

from __future__ import annotations

from datetime import datetime, timedelta

from infrastructure.emulators.shell.machine import Machine

_OS_RELEASE = {
    "ubuntu": (
        'PRETTY_NAME="{pretty}"\nNAME="Ubuntu"\nVERSION_ID="{ver}"\nVERSION="{pretty_ver}"\n'
        'ID=ubuntu\nID_LIKE=debian\nHOME_URL="https://www.ubuntu.com/"\n'
        'SUPPORT_URL="https://help.ubuntu.com/"\n'
    ),
    "debian": (
        'PRETTY_NAME="{pretty}"\nNAME="Debian GNU/Linux"\nVERSION_ID="{ver}"\n'
        'ID=debian\nHOME_URL="https://www.debian.org/"\n'
    ),
    "centos": (
        'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\n'
        'VERSION_ID="7"\nPRETTY_NAME="{pretty}"\nHOME_URL="https://www.centos.org/"\n'
    ),
    "rocky": (
        'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
        'VERSION_ID="9.3"\nPRETTY_NAME="{pretty}"\nHOME_URL="https://rockylinux.org/"\n'
    ),
    "alpine": (
        'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="{pretty}"\n'
        'HOME_URL="https://alpinelinux.org/"\n'
    ),
    "freebsd": (
        'NAME=FreeBSD\nVERSION="14.0-RELEASE"\nVERSION_ID="14.0"\nID=freebsd\n'
        'PRETTY_NAME="{pretty}"\nHOME_URL="https://FreeBSD.org/"\n'
    ),
    "busybox": 'NAME="Buildroot"\nVERSION=2023.02.8\nID=buildroot\nPRETTY_NAME="{pretty}"\n',
}

_SYSTEM_ACCOUNTS = {
    "debian": (
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        "bin:x:2:2:bin:/bin:/usr/sbin/nologin",
        "sys:x:3:3:sys:/dev:/usr/sbin/nologin",
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
        "systemd-network:x:100:102:systemd Network Management,,,:/run/systemd:/usr/sbin/nologin",
        "messagebus:x:103:106::/nonexistent:/usr/sbin/nologin",
        "sshd:x:105:65534::/run/sshd:/usr/sbin/nologin",
    ),
    "redhat": (
        "bin:x:1:1:bin:/bin:/sbin/nologin",
        "daemon:x:2:2:daemon:/sbin:/sbin/nologin",
        "adm:x:3:4:adm:/var/adm:/sbin/nologin",
        "nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin",
        "sshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin",
    ),
    "alpine": (
        "bin:x:1:1:bin:/bin:/sbin/nologin",
        "daemon:x:2:2:daemon:/sbin:/sbin/nologin",
        "sshd:x:22:22:sshd:/dev/null:/sbin/nologin",
        "nobody:x:65534:65534:nobody:/:/sbin/nologin",
    ),
}


def pretty_version(machine: Machine) -> str:
    """`VERSION_ID` of the distro, e.g. 22.04."""
    return machine.distro.slug.split("-", 1)[-1]


def os_release(machine: Machine) -> str:
    """/etc/os-release."""
    pretty = machine.distro.display_name
    template = _OS_RELEASE.get(machine.family, _OS_RELEASE["ubuntu"])
    ver = pretty_version(machine)
    return template.format(pretty=pretty, ver=ver, pretty_ver=pretty.replace("Ubuntu ", ""))


def login_shell(machine: Machine) -> str:
    """The default login shell of the distro."""
    return (
        "/bin/ash"
        if machine.family == "alpine"
        else "/bin/sh"
        if machine.family in {"busybox", "freebsd"}
        else "/bin/bash"
    )


def passwd(machine: Machine) -> str:
    """/etc/passwd with the system accounts of the distro family and the login accounts."""
    shell = login_shell(machine)
    family = {"ubuntu": "debian", "centos": "redhat", "rocky": "redhat"}.get(
        machine.family, machine.family
    )
    lines = [f"root:x:0:0:root:/root:{shell}", *_SYSTEM_ACCOUNTS.get(family, ())]
    for uid, name in enumerate(machine.accounts, start=1000):
        lines.append(f"{name}:x:{uid}:{uid}:{name},,,:/home/{name}:{shell}")
    return "\n".join(lines) + "\n"


def group(machine: Machine) -> str:
    """/etc/group."""
    lines = ["root:x:0:", "adm:x:4:syslog", "sudo:x:27:", "users:x:100:"]
    lines += [f"{name}:x:{gid}:" for gid, name in enumerate(machine.accounts, start=1000)]
    return "\n".join(lines) + "\n"


def shadow(machine: Machine) -> str:
    """/etc/shadow with locked system accounts (only root may read it)."""
    names = ["root", *machine.accounts]
    return "".join(
        f"{name}:$y$j9T$Jx1bT7r0k9oQ4Qp2/tnK3.$4FvC1YbqX8Zs:19812:0:99999:7:::\n" for name in names
    )


def cpuinfo(machine: Machine) -> str:
    """/proc/cpuinfo: two cores of a common cloud CPU (one ARM core for devices)."""
    if machine.arch.startswith("arm"):
        return (
            "processor\t: 0\nmodel name\t: ARMv7 Processor rev 5 (v7l)\nBogoMIPS\t: 48.00\n"
            "Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt\n"
            "Hardware\t: Generic DT based system\n"
        )
    core = (
        "processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
        "model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\nstepping\t: 7\n"
        "cpu MHz\t\t: 2499.998\ncache size\t: 36608 KB\ncpu cores\t: 2\n"
        "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat "
        "pse36 clflush mmx fxsr sse sse2 ss ht syscall nx lm constant_tsc rep_good nopl "
        "xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq ssse3 fma cx16 pcid sse4_1 "
        "sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor avx2 avx512f\n"
        "bogomips\t: 4999.99\n\n"
    )
    return core.format(n=0) + core.format(n=1)


def meminfo() -> str:
    """/proc/meminfo of a 4 GiB virtual machine."""
    return (
        "MemTotal:        3964584 kB\nMemFree:          271844 kB\n"
        "MemAvailable:    2841216 kB\nBuffers:          113240 kB\n"
        "Cached:          2261672 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n"
    )


def motd(machine: Machine) -> str:
    """What a login prints before the first prompt."""
    if machine.family == "ubuntu":
        return (
            f"Welcome to {machine.distro.display_name} (GNU/Linux {machine.release} "
            f"{machine.arch})\n\n * Documentation:  https://help.ubuntu.com\n"
            " * Management:     https://landscape.canonical.com\n"
            " * Support:        https://ubuntu.com/pro\n\n"
        )
    if machine.family == "debian":
        return (
            f"{machine.uname_all()}\n\nThe programs included with the Debian GNU/Linux "
            "system are free software;\nthe exact distribution terms for each program are "
            "described in the\nindividual files in /usr/share/doc/*/copyright.\n\n"
        )
    if machine.family == "alpine":
        return (
            "Welcome to Alpine!\n\nThe Alpine Wiki contains a large amount of how-to "
            "guides and general\ninformation about administrating Alpine systems.\n"
            "See <https://wiki.alpinelinux.org/>.\n\n"
        )
    return ""


def login_banner(machine: Machine, now: datetime) -> str:
    """The motd plus a "Last login" line, as a fresh login prints them."""
    # The previous login came from the admins' side of the network, a day earlier.
    when = (now - timedelta(days=1, hours=3)).strftime("%a %b %e %H:%M:%S %Y")
    octets = machine.ip.split(".")
    admin = f"Last login: {when} from {'.'.join([*octets[:3], '23'])}\n" if len(octets) == 4 else ""
    return motd(machine) + admin


def issue(machine: Machine) -> str:
    """/etc/issue (also the telnet pre-login banner)."""
    if machine.family in {"ubuntu", "debian"}:
        return f"{machine.distro.display_name} \\n \\l\n\n"
    if machine.family in {"centos", "rocky"}:
        return "\\S\nKernel \\r on an \\m\n\n"
    return f"{machine.distro.display_name}\n\n"


def issue_net(machine: Machine) -> str:
    """/etc/issue.net, which telnetd prints before the login prompt (no escapes expanded)."""
    if machine.family == "debian":
        return f"Debian GNU/Linux {machine.distro.slug.split('-', 1)[-1]}\n"
    if machine.family in {"centos", "rocky"}:
        return "\\S\nKernel \\r on an \\m\n"
    return f"{machine.distro.display_name}\n"


_RELEASE_FILES = {
    "debian": ("/etc/debian_version", "12.5\n"),
    "ubuntu": ("/etc/debian_version", "bookworm/sid\n"),
    "centos": ("/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n"),
    "rocky": ("/etc/redhat-release", "Rocky Linux release 9.3 (Blue Onyx)\n"),
    "alpine": ("/etc/alpine-release", "3.19.1\n"),
}


def system_files(machine: Machine) -> dict[str, str]:
    """Every rendered text file by absolute path."""
    name = machine.hostname
    release = _RELEASE_FILES.get(machine.family)
    return {
        **dict([release] if release else []),
        "/etc/os-release": os_release(machine),
        "/etc/passwd": passwd(machine),
        "/etc/group": group(machine),
        "/etc/shadow": shadow(machine),
        "/etc/hostname": f"{name}\n",
        "/etc/hosts": f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n{machine.ip}\t{name}\n",
        "/etc/resolv.conf": "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
        "/etc/issue": issue(machine),
        "/etc/issue.net": issue_net(machine),
        "/etc/crontab": "SHELL=/bin/sh\n17 *\t* * *\troot\tcd / && run-parts --report "
        "/etc/cron.hourly\n",
        "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\n"
        "X11Forwarding yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
        "/proc/cpuinfo": cpuinfo(machine),
        "/proc/meminfo": meminfo(),
        "/proc/version": f"{machine.sysname} version {machine.release} (buildd@lcy02-amd64) "
        f"{machine.version}\n",
    }
