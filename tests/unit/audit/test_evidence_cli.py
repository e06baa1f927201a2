"""`decnet evidence verify` offline, and the by-hand script VERIFY.md ships, on real bundles."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from infrastructure.audit.bundle_format import EVENTS, VERIFY
from tests.unit.audit.bundle_fixtures import write_bundle
from tests.unit.audit.test_bundle import rewrite

REPO = Path(__file__).resolve().parents[3]


def _decnet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a process with no DECNET_* settings at all, outside the repo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-m", "interfaces.cli.main", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_verify_passes_offline_without_any_settings(tmp_path: Path) -> None:
    """A fresh bundle: exit 0 and OK, with no DECNET_JWT_SECRET, server or database."""
    path, key, _ = write_bundle(tmp_path)
    (tmp_path / "trusted.pem").write_bytes(key.public_key().pem())
    done = _decnet("evidence", "verify", str(path), "--public-key", "trusted.pem", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "OK"
    assert "4 events, 6 records, 1 artifact" in done.stdout


def test_verify_fails_and_names_what_was_altered(tmp_path: Path) -> None:
    """A flipped byte in events.jsonl: exit 1, the member and position printed."""
    path, _, _ = write_bundle(tmp_path)
    with zipfile.ZipFile(path) as zf:
        events = zf.read(EVENTS)
    changed = rewrite(path, {EVENTS: events.replace(b'"n":"3"', b'"n":"4"', 1)})
    done = _decnet("evidence", "verify", str(changed), "--json", cwd=tmp_path)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert {(f["member"], f["kind"]) for f in report["failures"]} == {
        (changed.name, "archive"),
        (EVENTS, "manifest"),
        (EVENTS, "record_proof"),
    }


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """A missing bundle or an unusable pinned key is a usage error, not a verdict."""
    assert _decnet("evidence", "verify", "nope.zip", cwd=tmp_path).returncode == 2
    (tmp_path / "bad.pem").write_text("x")
    path, _, _ = write_bundle(tmp_path)
    done = _decnet("evidence", "verify", str(path), "--public-key", "bad.pem", cwd=tmp_path)
    assert done.returncode == 2


def test_the_verify_md_script_checks_every_event(tmp_path: Path) -> None:
    """The Python in VERIFY.md, run as an outsider would, says OK for each event of the bundle."""
    path, _, _ = write_bundle(tmp_path)
    with zipfile.ZipFile(path) as zf:
        guide = zf.read(VERIFY).decode()
        events = zf.read(EVENTS)
    script = tmp_path / "check.py"
    script.write_text(re.findall(r"```python\n(.*?)```", guide, re.DOTALL)[0])
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines()] == ["OK"] * 4
    lone = events.splitlines()[-1].replace(b'"decky":"decky-01"', b'"decky":"decky-09"')
    tampered = rewrite(path, {EVENTS: b"\n".join([*events.splitlines()[:-1], lone]) + b"\n"})
    done = subprocess.run(
        [sys.executable, str(script), str(tampered)], capture_output=True, text=True
    )
    assert done.stdout.splitlines()[-1].endswith("MISMATCH")
