"""export_log writes a bundle the stand-alone verifier accepts; one changed byte makes it fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.checkpoints import checkpoint_sign
from patches.models import Event
from tests.audit.conftest import build_history, run_command
from tests.standalone import frameworks_loaded_by

ROOT = Path(__file__).resolve().parents[2]


def _verifier(bundle: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    return subprocess.run(
        [sys.executable, "-m", "audit.verifier", str(bundle)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def bundle(db: None, tmp_path: Path) -> Path:
    build_history(checkpoint=checkpoint_sign)
    checkpoint_sign()
    code, out, err = run_command("export_log", str(tmp_path / "bundle"))
    assert code == 0, err
    printed = json.loads(out)
    head = Event.objects.order_by("-seq").first()
    assert printed == {"dir": str(tmp_path / "bundle"), "events": head.seq, "head": head.hash}
    return tmp_path / "bundle"


def _flip(path: Path, needle: bytes, replacement: bytes) -> None:
    data = path.read_bytes()
    index = data.index(needle)
    assert len(needle) == len(replacement)
    path.write_bytes(data[:index] + replacement + data[index + len(needle) :])


def test_the_bundle_has_every_part(bundle: Path) -> None:
    names = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    assert names == [
        "checkpoints.jsonl",
        "events.jsonl",
        "genesis/routing",
        "genesis/settings",
        "genesis/system_prompt",
        "keys.json",
        "manifest.json",
        "proposals.jsonl",
    ]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert (manifest["events"], manifest["proposals"], manifest["checkpoints"]) == (
        Event.objects.count(),
        5,
        2,
    )
    keys = json.loads((bundle / "keys.json").read_text())
    assert {k["agent"] for k in keys["agents"]} == {"scripted", "spare"}
    assert [k["revoked_at"] is not None for k in keys["agents"]] == [False, True]


def test_the_stand_alone_verifier_accepts_an_exported_bundle(bundle: Path) -> None:
    result = _verifier(bundle)
    assert result.returncode == 0, result.stderr
    head = Event.objects.order_by("-seq").first()
    assert result.stdout.startswith(
        f"OK {head.seq} events, head {head.hash}; 5 proposals, 2 checkpoints"
    )
    assert result.stdout.strip().endswith("replayed 3 targets, 7 versions")


def test_the_verifier_does_not_need_django() -> None:
    assert frameworks_loaded_by("audit.verifier") == []


@pytest.mark.parametrize(
    ("name", "needle", "replacement"),
    [
        ("events.jsonl", b'"actor":"user:rita"', b'"actor":"user:rito"'),
        ("events.jsonl", b'"seq":3}', b'"seq":4}'),
        ("proposals.jsonl", b'"reasoning', b'"Reasoning'),
        ("genesis/routing", b"general", b"genera1"),
        ("genesis/settings", b"hello", b"hellp"),
        ("genesis/system_prompt", b"politely", b"politelY"),
        ("checkpoints.jsonl", b'"seq":', b'"sEq":'),
        ("keys.json", b'"revoked_at":"20', b'"revoked_at":"21'),
        ("manifest.json", b'"events":', b'"Events":'),
    ],
)
def test_one_changed_byte_in_any_file_fails(
    bundle: Path, name: str, needle: bytes, replacement: bytes
) -> None:
    _flip(bundle / name, needle, replacement)
    result = _verifier(bundle)
    assert result.returncode == 1
    assert result.stderr.startswith("FAIL: ")


def test_semantic_checks_hold_even_with_a_rewritten_manifest(bundle: Path) -> None:
    # Without the manifest, a changed event is still caught by the chain itself.
    from audit.verifier import BundleInvalid, check_events

    _flip(bundle / "events.jsonl", b'"actor":"user:rita"', b'"actor":"user:rito"')
    keys = json.loads((bundle / "keys.json").read_text())
    with pytest.raises(BundleInvalid, match="hash mismatch"):
        check_events(bundle, bytes.fromhex(keys["console"]["public_key"]))


def test_export_refuses_a_non_empty_directory(db: None, tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an empty directory"):
        run_command("export_log", str(tmp_path))
