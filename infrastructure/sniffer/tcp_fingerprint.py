"""Passive TCP SYN fingerprints: what a client's stack reveals in its opening SYN."""

from __future__ import annotations

from dataclasses import dataclass

from domain.attackers.osguess import hop_distance, initial_ttl, syn_signature
from infrastructure.sniffer.os_signatures import guess_os
from infrastructure.sniffer.packets import TcpSegment

EOL, NOP, MSS, WSCALE, SACK_OK, TIMESTAMP = 0, 1, 2, 3, 4, 8
# p0f's option letters, comma-joined in wire order: `M,S,T,N,W` is a modern Linux SYN.
_LETTERS = {EOL: "E", NOP: "N", MSS: "M", WSCALE: "W", SACK_OK: "S", TIMESTAMP: "T"}
# Left out when there is no value; `options` stays even when empty (no options is a trait).
_OPTIONAL = frozenset({"mss", "wscale", "initial_ttl", "hop_distance"})


@dataclass(frozen=True, slots=True)
class TcpOption:
    """One TCP option as it appeared on the wire."""

    kind: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class SynFingerprint:
    """The stack-specific parts of a SYN; two SYNs from one stack give equal values."""

    ttl: int
    initial_ttl: int | None
    window: int
    mss: int | None
    wscale: int | None
    options: str
    sack: bool
    timestamps: bool
    df: bool

    @property
    def key(self) -> tuple[object, ...]:
        """What identifies the stack: everything but the observed TTL (routes change it)."""
        return (self.initial_ttl, self.window, self.mss, self.wscale, self.options, self.df)


def parse_options(raw: bytes) -> list[TcpOption]:
    """Decode TCP options in order; stops at EOL (the rest is padding) or a malformed length."""
    options: list[TcpOption] = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind in (EOL, NOP):
            options.append(TcpOption(kind))
            if kind == EOL:
                break
            i += 1
            continue
        length = raw[i + 1] if i + 1 < len(raw) else 0
        if length < 2 or i + length > len(raw):
            options.append(TcpOption(kind))  # keep the kind: a broken option is a trait too
            break
        options.append(TcpOption(kind, raw[i + 2 : i + length]))
        i += length
    return options


def option_order(options: list[TcpOption]) -> str:
    """`M,S,T,N,W`-style order; an unknown kind shows as `?<kind>`."""
    return ",".join(_LETTERS.get(o.kind, f"?{o.kind}") for o in options)


def fingerprint_syn(segment: TcpSegment) -> SynFingerprint:
    """The fingerprint of an opening SYN."""
    options = parse_options(segment.options)
    mss = _first_value(options, MSS, 2)
    wscale = _first_value(options, WSCALE, 1)
    kinds = {o.kind for o in options}
    return SynFingerprint(
        ttl=segment.ttl,
        initial_ttl=initial_ttl(segment.ttl),
        window=segment.window,
        mss=mss,
        wscale=wscale,
        options=option_order(options),
        sack=SACK_OK in kinds,
        timestamps=TIMESTAMP in kinds,
        df=segment.df,
    )


def syn_fields(segment: TcpSegment, fp: SynFingerprint) -> dict[str, str]:
    """The `tcp_syn_fingerprint` record fields; mss/wscale are left out when not sent."""
    hops = hop_distance(fp.ttl)
    fields = {
        "src_ip": segment.src,
        "src_port": str(segment.sport),
        "dst_ip": segment.dst,
        "dst_port": str(segment.dport),
        "ttl": str(fp.ttl),
        "initial_ttl": "" if fp.initial_ttl is None else str(fp.initial_ttl),
        "hop_distance": "" if hops is None else str(hops),
        "window": str(fp.window),
        "mss": "" if fp.mss is None else str(fp.mss),
        "wscale": "" if fp.wscale is None else str(fp.wscale),
        "options": fp.options,
        "sack": _flag(fp.sack),
        "timestamps": _flag(fp.timestamps),
        "df": _flag(fp.df),
        "os_guess": guess_os(fp.initial_ttl, fp.window, fp.options),
    }
    fields = {key: value for key, value in fields.items() if value or key not in _OPTIONAL}
    # The domain's own signature format, so this field equals `behavior.tcp_fingerprint`.
    fields["signature"] = syn_signature(fields) or ""
    return fields


def _first_value(options: list[TcpOption], kind: int, size: int) -> int | None:
    for option in options:
        if option.kind == kind and len(option.data) == size:
            return int.from_bytes(option.data, "big")
    return None


def _flag(value: bool) -> str:
    return "1" if value else "0"
