"""Which PostgreSQL build a decky runs, and where in the source each error it can raise lives.

A real server names the C file, line and function of every error it sends (the `F`, `L` and `R`
fields of an ErrorResponse). The lines change with each release, so they identify the build:
nmap's SMBProgNeg probe triggers "unsupported frontend protocol" and reads the version off its
line number. Each build below is one release as a distro ships it.

Provenance of the numbers:
- 15.20 (Debian 12, `15.20-0+deb12u1`): every line was read off the errors the packaged server
  sends, provoked one by one with raw protocol messages.
- 14.5 (Ubuntu 22.04, `14.5-0ubuntu0.22.04.1`): the protocol line (2138) is nmap's own table,
  which is built from the release sources; the other postmaster.c lines keep their 15.20
  distance from it (ProcessStartupPacket did not change shape between 14 and 15), and the
  lines of the other files are 15.20's. Those were not checked against a 14.x binary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Where each error is raised: site -> (source file, function). The line is per build.
SITES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "unencrypted_after_ssl": ("postmaster.c", "ProcessStartupPacket"),
        "unsupported_protocol": ("postmaster.c", "ProcessStartupPacket"),
        "bad_replication": ("postmaster.c", "ProcessStartupPacket"),
        "bad_layout": ("postmaster.c", "ProcessStartupPacket"),
        "no_user": ("postmaster.c", "ProcessStartupPacket"),
        "auth_failed": ("auth.c", "auth_failed"),
        "password_type": ("auth.c", "recv_password_packet"),
        "password_size": ("auth.c", "recv_password_packet"),
        "sasl_type": ("auth-sasl.c", "CheckSASLAuth"),
        "sasl_mechanism": ("auth-scram.c", "scram_init"),
        "scram_empty": ("auth-scram.c", "scram_exchange"),
        "scram_length": ("auth-scram.c", "scram_exchange"),
        "scram_nonce_mismatch": ("auth-scram.c", "scram_exchange"),
        "scram_attr": ("auth-scram.c", "read_attr_value"),
        "scram_attr_eq": ("auth-scram.c", "read_attr_value"),
        "scram_any_attr": ("auth-scram.c", "read_any_attr"),
        "scram_any_attr_char": ("auth-scram.c", "read_any_attr"),
        "scram_any_attr_eq": ("auth-scram.c", "read_any_attr"),
        "scram_comma_n": ("auth-scram.c", "read_client_first_message"),
        "scram_comma_y": ("auth-scram.c", "read_client_first_message"),
        "scram_cbind_data": ("auth-scram.c", "read_client_first_message"),
        "scram_cbind_flag": ("auth-scram.c", "read_client_first_message"),
        "scram_authzid": ("auth-scram.c", "read_client_first_message"),
        "scram_unexpected_attr": ("auth-scram.c", "read_client_first_message"),
        "scram_extension": ("auth-scram.c", "read_client_first_message"),
        "scram_nonce_printable": ("auth-scram.c", "read_client_first_message"),
        "scram_final_cbind": ("auth-scram.c", "read_client_final_message"),
        "scram_final_proof": ("auth-scram.c", "read_client_final_message"),
        "scram_final_garbage": ("auth-scram.c", "read_client_final_message"),
        "msg_bytes": ("pqformat.c", "pq_getmsgbytes"),
        "msg_copy": ("pqformat.c", "pq_copymsgbytes"),
        "msg_string": ("pqformat.c", "pq_getmsgrawstring"),
        "msg_end": ("pqformat.c", "pq_getmsgend"),
    }
)

_LINES_15_20 = {
    "unencrypted_after_ssl": 2134,
    "unsupported_protocol": 2220,
    "bad_replication": 2284,
    "bad_layout": 2332,
    "no_user": 2349,
    "auth_failed": 334,
    "password_type": 718,
    "password_size": 739,
    "sasl_type": 95,
    "sasl_mechanism": 256,
    "scram_empty": 366,
    "scram_length": 371,
    "scram_nonce_mismatch": 404,
    "scram_attr": 712,
    "scram_attr_eq": 720,
    "scram_any_attr": 825,
    "scram_any_attr_char": 838,
    "scram_any_attr_eq": 848,
    "scram_comma_n": 963,
    "scram_comma_y": 993,
    "scram_cbind_data": 1007,
    "scram_cbind_flag": 1025,
    "scram_authzid": 1036,
    "scram_unexpected_attr": 1040,
    "scram_extension": 1057,
    "scram_nonce_printable": 1071,
    "scram_final_cbind": 1335,
    "scram_final_proof": 1353,
    "scram_final_garbage": 1361,
    "msg_bytes": 515,
    "msg_copy": 533,
    "msg_string": 624,
    "msg_end": 640,
}
_POSTMASTER_SHIFT_14_5 = 2138 - 2220


@dataclass(frozen=True, slots=True)
class PostgresBuild:
    """One packaged release: its version string and the source line of each error site."""

    version: str
    lines: Mapping[str, int]

    def location(self, site: str) -> tuple[str, int, str]:
        """(file, line, function) of an error site in this build."""
        file, routine = SITES[site]
        return file, self.lines[site], routine


def _shifted_postmaster(lines: Mapping[str, int], shift: int) -> dict[str, int]:
    return {
        site: line + shift if SITES[site][0] == "postmaster.c" else line
        for site, line in lines.items()
    }


PG_15_20 = PostgresBuild("15.20 (Debian 15.20-0+deb12u1)", MappingProxyType(_LINES_15_20))
PG_14_5 = PostgresBuild(
    "14.5 (Ubuntu 14.5-0ubuntu0.22.04.1)",  # the catalogue's postgres banner
    MappingProxyType(_shifted_postmaster(_LINES_15_20, _POSTMASTER_SHIFT_14_5)),
)
# Distros whose own archive ships PostgreSQL get that release; the rest run PGDG's 15.
DISTRO_BUILDS: Mapping[str, PostgresBuild] = MappingProxyType(
    {"ubuntu-22.04": PG_14_5, "debian-12": PG_15_20}
)
DEFAULT_BUILD = PG_15_20


def build_for(distro: str) -> PostgresBuild:
    """The PostgreSQL build a decky of `distro` runs."""
    return DISTRO_BUILDS.get(distro, DEFAULT_BUILD)
