"""RFC 5424 syslog lines <-> interaction records (SPEC §5); this is the ingest hot path.

Parsing choices, all deliberate:
- strict where meaning depends on it: PRI 0..191, VERSION 1, header fields printable US-ASCII,
  a real TIMESTAMP with an offset (a `-` timestamp is an error: records need a time);
- lenient where nothing is lost: RFC length limits of header fields and SD names are not enforced,
  an unescaped `]` inside a quoted SD value is accepted, duplicate SD-IDs are accepted, fractional
  seconds beyond microseconds are truncated;
- SD params of every element become `fields`; when a name repeats, the first occurrence wins, so
  the leading `[relay@55555 ...]` element cannot be overridden by a later one;
- a NUL character anywhere is rejected (`nul_byte`): the read models keep text in PostgreSQL,
  which cannot store it;
- the attacker IP is the first candidate key (in priority order) whose value is a valid IP, from
  the SD params first, then from `key=value` tokens in MSG; it is stored in canonical form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from operator import itemgetter

from domain.observations.addresses import canonical_ip
from domain.observations.records import InteractionRecord

__all__ = ["IP_KEYS", "SyslogParseError", "format_line", "parse_line"]

IP_KEYS: tuple[str, ...] = ("src_ip", "src", "client_ip", "remote_ip", "remote_addr", "ip")

_NIL = "-"
_BOM = "\ufeff"
_DEFAULT_PRI = 134  # facility local0, severity informational
_DEFAULT_SD_ID = "relay@55555"  # the SD-ID DECNET's containers emit

# PRINTUSASCII (%d33-126) is the RFC alphabet of every header field.
_HEADER = re.compile(r"<([0-9]{1,3})>1 ([!-~]+) ([!-~]+) ([!-~]+) ([!-~]+) ([!-~]+) ")
_PRI = re.compile(r"<([0-9]{1,3})>")
_VERSION = re.compile(r"[^ ]*")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
# SD-NAME: PRINTUSASCII except '=', SP, ']' and '"'.
_NAME = r"[!#-<>-\\^-~]+"
_VALUE = r'"((?:[^"\\]|\\.)*)"'
_SD_ELEMENT = re.compile(rf"\[{_NAME}((?: {_NAME}={_VALUE})*)\]", re.DOTALL)
_SD_PARAM = re.compile(rf"({_NAME})={_VALUE}", re.DOTALL)
_SD_NAME = re.compile(_NAME)
# Only these three escapes exist; a backslash before anything else is a literal backslash.
_SD_UNESCAPE = re.compile(r'\\([\\"\]])')
_MSG_IP = re.compile(r"(?<![^\s,;])(" + "|".join(IP_KEYS) + r')=(?:"([^"\s]*)"|([^\s,;"]+))')
_escaped_char = itemgetter(1)
_LINE_BREAKS = re.compile(r"[\r\n\x00]")


class SyslogParseError(ValueError):
    """A line that is not a usable RFC 5424 message; `reason` is a short machine-friendly code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def parse_line(line: str | bytes) -> InteractionRecord:
    """Parse one RFC 5424 message into an interaction record, or raise SyslogParseError."""
    text = _decode(line).rstrip("\r\n")
    if not text:
        raise SyslogParseError("empty", "the line is empty")
    if "\x00" in text:
        raise SyslogParseError("nul_byte", "the line contains a NUL character")
    header = _HEADER.match(text)
    if header is None:
        raise _diagnose_header(text)
    pri, timestamp, hostname, app_name, _procid, msgid = header.groups()
    if int(pri) > 191:
        raise SyslogParseError("bad_pri", f"PRI {pri} is above 191")
    fields, msg_start = _parse_structured_data(text, header.end())
    msg = text[msg_start:]
    if msg.startswith(_BOM):
        msg = msg[1:]
    return InteractionRecord(
        timestamp=_parse_timestamp(timestamp),
        decky=_nil_to_empty(hostname),
        service=_nil_to_empty(app_name),
        event_type=_nil_to_empty(msgid),
        attacker_ip=attacker_ip_of(fields, msg),
        msg=msg,
        fields=fields,
        raw_line=text,
    )


def format_line(
    record: InteractionRecord,
    *,
    pri: int = _DEFAULT_PRI,
    procid: str = "",
    sd_id: str = _DEFAULT_SD_ID,
) -> str:
    """Render a record as one RFC 5424 line (no trailing newline) that parse_line reads back.

    Raises ValueError for what the format cannot carry: a naive timestamp, a header value that
    is not printable US-ASCII or is `-`, a field name that is not an SD-NAME, or CR, LF or NUL
    anywhere (one record is always exactly one line, so every framing can carry it).
    """
    if not 0 <= pri <= 191:
        raise ValueError(f"PRI must be 0..191, got {pri}")
    header = " ".join(
        (
            f"<{pri}>1",
            _format_timestamp(record.timestamp),
            _header_value("decky", record.decky),
            _header_value("service", record.service),
            _header_value("procid", procid),
            _header_value("event_type", record.event_type),
            _format_structured_data(sd_id, record.fields),
        )
    )
    msg = record.msg
    _reject_line_breaks("msg", msg)
    if not msg:
        return header
    # RFC 5424 wants a BOM before UTF-8 text; plain ASCII goes as MSG-ANY, which reads nicer.
    bom = _BOM if not msg.isascii() or msg.startswith(_BOM) else ""
    return f"{header} {bom}{msg}"


def _decode(line: str | bytes) -> str:
    if isinstance(line, str):
        return line
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SyslogParseError("not_utf8", f"invalid UTF-8 at byte {exc.start}") from None


def _diagnose_header(text: str) -> SyslogParseError:
    """Explain why the fast header match failed (only runs on bad lines)."""
    pri = _PRI.match(text)
    if pri is None:
        return SyslogParseError("bad_pri", "the line does not start with <PRI>")
    version = _VERSION.match(text, pri.end())
    if version is None or version.group() != "1":
        return SyslogParseError("bad_version", "only syslog protocol version 1 is supported")
    return SyslogParseError(
        "bad_header",
        "expected TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA as printable ASCII",
    )


def _parse_timestamp(value: str) -> datetime:
    if value == _NIL:
        raise SyslogParseError("bad_timestamp", "the timestamp is NILVALUE; a time is required")
    if _TIMESTAMP.fullmatch(value) is None:
        raise SyslogParseError("bad_timestamp", f"not an RFC 5424 timestamp: {value!r}")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise SyslogParseError("bad_timestamp", f"{value!r}: {exc}") from None


def _parse_structured_data(text: str, pos: int) -> tuple[dict[str, str], int]:
    """Read STRUCTURED-DATA at `pos`; return the params and where MSG starts."""
    fields: dict[str, str] = {}
    if text.startswith(_NIL, pos):
        pos += 1
    else:
        element = _SD_ELEMENT.match(text, pos)
        if element is None:
            raise SyslogParseError("bad_structured_data", f"malformed SD element at column {pos}")
        while element is not None:
            for name, value in _SD_PARAM.findall(element.group(1)):
                fields.setdefault(name, _unescape(value))
            pos = element.end()
            element = _SD_ELEMENT.match(text, pos) if text.startswith("[", pos) else None
    if pos == len(text):
        return fields, pos
    if text[pos] != " ":
        raise SyslogParseError("bad_structured_data", f"unexpected text at column {pos}")
    return fields, pos + 1


def _unescape(value: str) -> str:
    # A callable replacement is several times faster than a template on this hot path.
    return _SD_UNESCAPE.sub(_escaped_char, value) if "\\" in value else value


def _nil_to_empty(value: str) -> str:
    return "" if value == _NIL else value


def attacker_ip_of(fields: dict[str, str], msg: str) -> str | None:
    """SPEC §5's attacker IP: the first IP-bearing field, then `key=value` tokens in MSG."""
    for key in IP_KEYS:
        value = fields.get(key)
        if value is not None and (ip := canonical_ip(value)) is not None:
            return ip
    if "=" not in msg:
        return None
    found: dict[str, str] = {}
    for key, quoted, bare in _MSG_IP.findall(msg):
        found.setdefault(key, quoted or bare)
    for key in IP_KEYS:
        if key in found and (ip := canonical_ip(found[key])) is not None:
            return ip
    return None


def _format_timestamp(timestamp: datetime) -> str:
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("the record timestamp must be timezone-aware")
    utc = timestamp.astimezone(UTC)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")[:-6] + "Z"


def _header_value(name: str, value: str) -> str:
    if not value:
        return _NIL
    if value == _NIL or not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError(f"{name} {value!r} is not a printable US-ASCII token other than '-'")
    return value


def _format_structured_data(sd_id: str, fields: dict[str, str]) -> str:
    if not fields:
        return _NIL
    params = []
    for name in (sd_id, *fields):
        if _SD_NAME.fullmatch(name) is None:
            raise ValueError(f"{name!r} is not a valid SD-NAME")
    for key, value in fields.items():
        _reject_line_breaks(f"field {key!r}", value)
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
        params.append(f' {key}="{escaped}"')
    return f"[{sd_id}{''.join(params)}]"


def _reject_line_breaks(name: str, value: str) -> None:
    if _LINE_BREAKS.search(value) is not None:
        raise ValueError(f"{name} contains CR, LF or NUL, which one syslog line cannot carry")
