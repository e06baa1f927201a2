"""The console's shipped files: vendored code as recorded, nothing inline, nothing remote."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from interfaces.http.console.assets import load_assets

STATIC = Path(__file__).resolve().parents[3] / "interfaces" / "http" / "console" / "static"
VENDOR = STATIC / "assets" / "vendor"
OWN_SCRIPTS = sorted(p for p in (STATIC / "assets").rglob("*.js") if VENDOR not in p.parents)
UNSAFE_JS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setAttribute\(\s*[\"']style|cssText|[\"']on[a-z]+[\"']\s*:"
)
COMMENTS = re.compile(r"/\*.*?\*/|^\s*//.*?$", re.DOTALL | re.MULTILINE)
IMPORT = re.compile(r"^import .*? from \"(\.{1,2}/[^\"]+)\";$", re.MULTILINE)


def test_vendored_files_match_the_manifest() -> None:
    """Every vendored file has the sha256 recorded with its package version; nothing extra."""
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    recorded: dict[str, str] = {}
    for package in manifest.values():
        recorded.update(package["files"])
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - {"MANIFEST.json"} == set(recorded)
    header = (VENDOR / "uplot" / "uPlot.iife.min.js").read_text()[:80]
    assert f"(v{manifest['uplot']['version']})" in header


def test_the_page_has_no_inline_script_style_or_handler() -> None:
    """index.html only references files (the CSP forbids inline code and styles)."""
    html = (STATIC / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_every_file_the_page_names_is_shipped() -> None:
    """Each /assets/... the page links, preloads or runs is among the served files."""
    html = (STATIC / "index.html").read_text()
    served = load_assets()
    for path in re.findall(r"(?:href|src)=\"/(assets/[^\"]+)\"", html):
        assert path in served, path


@pytest.mark.parametrize("script", OWN_SCRIPTS, ids=lambda p: p.name)
def test_scripts_build_no_markup_and_import_what_exists(script: Path) -> None:
    """Attacker data only ever becomes text: no HTML sinks, no eval; every import resolves."""
    source = script.read_text()
    code = COMMENTS.sub("", source)
    assert not UNSAFE_JS.search(code), UNSAFE_JS.search(code)
    for target in IMPORT.findall(source):
        assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"


def test_nothing_is_fetched_from_elsewhere() -> None:
    """No URL to another origin in our own HTML, CSS or JS (the console works air-gapped)."""
    for path in [STATIC / "index.html", *OWN_SCRIPTS, *(STATIC / "assets").glob("*.css")]:
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path


def test_assets_are_served_with_their_media_types() -> None:
    """Scripts as JavaScript (module scripts require it), styles as CSS, the page as HTML."""
    served = load_assets()
    assert served["index.html"].media_type.startswith("text/html")
    assert served["assets/js/main.js"].media_type.startswith("text/javascript")
    assert served["assets/app.css"].media_type.startswith("text/css")
    assert served["assets/vendor/uplot/LICENSE"].media_type.startswith("text/plain")
    assert len({a.etag for a in served.values()}) == len(served)


NO_NODE = shutil.which("node") is None


@pytest.mark.skipif(NO_NODE, reason="node is not installed: the parse check is skipped")
def test_scripts_parse_as_modules() -> None:
    """Every script of ours is a valid ES module (one syntax error stops the whole console)."""
    for script in OWN_SCRIPTS:
        if script.name == "theme.js":
            continue  # the classic script run before first paint
        checked = subprocess.run(
            ["node", "--input-type=module", "--check"],
            input=script.read_bytes(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        assert checked.returncode == 0, f"{script.name}: {checked.stderr.decode()[-400:]}"
