"""INI text that cannot be read is IniInvalid, never a configparser error (SPEC §2, §4)."""

from __future__ import annotations

import time

import pytest

from domain.fleet.errors import IniInvalidError
from domain.fleet.ini import MAX_INI_BYTES
from tests.unit.fleet.builders import plan, refused, where


@pytest.mark.parametrize("text", ["", "# only a comment\n", "[general]\nnet = 10.0.0.0/24\n"])
def test_no_decky_sections(text: str) -> None:
    """An INI without any decky section is refused as a whole."""
    error = refused(IniInvalidError, text)
    assert where(error) == (None, None)
    assert "no decky sections" in error.reason


def test_text_before_first_header() -> None:
    """Keys before any [section] name the line they are on."""
    error = refused(IniInvalidError, "services = ssh\n[web]\n")
    assert where(error) == (None, None)
    assert error.reason.startswith("line 1:")


def test_unparseable_line() -> None:
    """A line that is neither header, key nor comment is refused with its line number."""
    error = refused(IniInvalidError, "[web]\nservices = ssh\njust words\n")
    assert error.reason.startswith("line 3: cannot parse")


def test_duplicate_section() -> None:
    """The same section twice names that section."""
    error = refused(IniInvalidError, "[web]\n[db]\n[web]\n")
    assert where(error) == ("web", None)
    assert "duplicate section" in error.reason


def test_duplicate_key() -> None:
    """The same key twice in a section names section and key."""
    error = refused(IniInvalidError, "[web]\nservices = ssh\nservices = http\n")
    assert where(error) == ("web", "services")
    assert "duplicate key" in error.reason


def test_size_limit_is_512_kib_of_utf8() -> None:
    """512 KiB is accepted; one byte more (multi-byte characters count as bytes) is refused."""
    head = "[web]\nservices = ssh\n#"
    fits = head + "x" * (MAX_INI_BYTES - len(head) - 1) + "\n"
    assert len(plan(fits).deckies) == 1
    error = refused(IniInvalidError, head + "é" * ((MAX_INI_BYTES - len(head)) // 2) + "\n")
    assert where(error) == (None, None)
    assert "512 KiB" in error.reason


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x7f", "\ud800"])
def test_unstorable_characters(bad: str) -> None:
    """NUL, other control characters and lone surrogates are refused up front."""
    error = refused(IniInvalidError, f"[web]\nservices = ssh\n[web.ssh]\nbanner = a{bad}b\n")
    assert where(error) == (None, None)


def test_tabs_and_crlf_are_fine() -> None:
    """Tabs and Windows line endings are ordinary layout."""
    result = plan("[web]\r\nservices\t=\tssh, http\r\n")
    assert result.deckies[0].services == ("ssh", "http")


def test_default_section_is_not_special() -> None:
    """[DEFAULT] is just a badly named decky; its keys never leak into other sections."""
    error = refused(IniInvalidError, "[DEFAULT]\nservices = ssh\n[web]\n")
    assert where(error) == ("DEFAULT", None)


def test_no_interpolation_and_keys_keep_case() -> None:
    """`%(x)s` is kept verbatim and subsection keys keep the case they were written in."""
    result = plan("[web]\nservices = http\n[web.http]\nBody = 100%% %(x)s\n")
    assert result.deckies[0].service_config == {"http": {"Body": "100%% %(x)s"}}


def test_decky_keys_are_case_sensitive() -> None:
    """`Services` is not `services`: an unknown key is refused rather than silently ignored."""
    error = refused(IniInvalidError, "[web]\nServices = ssh\n")
    assert where(error) == ("web", "Services")
    assert "unknown key" in error.reason


def test_long_whitespace_line_is_refused_quickly() -> None:
    """A long line of spaces does not trigger configparser's quadratic backtracking."""
    started = time.perf_counter()
    refused(IniInvalidError, "[web]\nx" + " " * 40_000 + "y\n")
    assert time.perf_counter() - started < 1.0
