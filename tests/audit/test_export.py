"""export_log writes a bundle the stand-alone verifier accepts; one changed byte makes it fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.checkpoints import checkpoint_sign
from patches.models import Event
from patches.signing import console_public_key, key_id_of
from tests.audit.conftest import build_history, run_command
from tests.standalone import frameworks_loaded_by

ROOT = Path(__file__).resolve().parents[2]


def _verifier(bundle: Path, *keys: str) -> subprocess.CompletedProcess[str]:
    """The verifier as an auditor runs it: the console's key id given out of band."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    trusted = keys or (key_id_of(console_public_key()),)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.verifier",
            *(arg for key in trusted for arg in ("--console-key", key)),
            str(bundle),
        ],
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
    # The transparency log's part (audit.export_tlog; tests/audit/test_transparency_export.py).
    notes = [n for n in names if n.startswith("checkpoints/")]
    proofs = [n for n in names if n.startswith("proofs/")]
    assert len(notes) == 3 and len(proofs) == 4 and "tlog-keys.json" in names
    names = [n for n in names if n not in (*notes, *proofs, "tlog-keys.json")]
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
        3,  # two signed by the history, one by the export itself
    )
    keys = json.loads((bundle / "keys.json").read_text())
    assert {k["agent"] for k in keys["agents"]} == {"scripted", "spare"}
    assert [k["revoked_at"] is not None for k in keys["agents"]] == [False, True]


def test_the_stand_alone_verifier_accepts_an_exported_bundle(bundle: Path) -> None:
    result = _verifier(bundle)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"using console key {key_id_of(console_public_key())}\n")
    head = Event.objects.order_by("-seq").first()
    assert result.stdout.splitlines()[1].startswith(
        f"OK {head.seq} events, head {head.hash}; 5 proposals, 3 checkpoints"
    )
    assert result.stdout.strip().endswith(
        "replayed 3 targets, 7 versions, 3 labels, 4 label moves; 3 checkpoint notes, 4 tlog-proofs"
    )


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
    with pytest.raises(BundleInvalid, match="hash mismatch"):
        check_events(bundle, {key_id_of(console_public_key()): console_public_key()})


def test_export_refuses_a_non_empty_directory(db: None, tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an empty directory"):
        run_command("export_log", str(tmp_path))


def test_the_verifier_refuses_to_run_without_a_console_key_given_out_of_band(
    bundle: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    result = subprocess.run(
        [sys.executable, "-m", "audit.verifier", str(bundle)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--console-key" in result.stderr
    assert result.stdout == ""


def test_the_verifier_takes_the_console_key_as_a_pem_file(bundle: Path, tmp_path: Path) -> None:
    code, pem, _ = run_command("console_key")
    assert code == 0
    (tmp_path / "console.pem").write_text(pem)
    result = _verifier(bundle, str(tmp_path / "console.pem"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"using console key {key_id_of(console_public_key())}\n")


def _resign(bundle: Path, private_key: Any) -> None:
    """What an attacker does with a bundle: rewrite it, re-hash it, sign it with their key."""
    from patches.canonical import canonical, sha256_hash
    from patches.signing import raw_public_key, sign

    keys = json.loads((bundle / "keys.json").read_text())
    raw = raw_public_key(private_key.public_key())
    keys["console"] = {"key_id": key_id_of(raw), "public_key": raw.hex()}
    (bundle / "keys.json").write_bytes(canonical(keys) + b"\n")
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["signature"]
    manifest["files"] = {
        name: sha256_hash((bundle / name).read_bytes()) for name in manifest["files"]
    }
    manifest["signature"] = sign(private_key, manifest)
    (bundle / "manifest.json").write_bytes(canonical(manifest) + b"\n")


def test_a_bundle_re_signed_with_another_key_is_refused(bundle: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    attacker = Ed25519PrivateKey.generate()
    _resign(bundle, attacker)
    result = _verifier(bundle)
    assert result.returncode == 1
    assert "which is not a key you gave (--console-key)" in result.stderr
    # Trusting the attacker's key instead still fails: the checkpoints are the console's.
    from patches.signing import raw_public_key

    result = _verifier(bundle, key_id_of(raw_public_key(attacker.public_key())))
    assert result.returncode == 1
    assert "not a console key you gave" in result.stderr


def test_events_after_the_last_checkpoint_are_refused_as_not_vouched_for(bundle: Path) -> None:
    from audit.verifier import BundleInvalid, check_events, event_hash

    lines = (bundle / "events.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    forged = {
        "seq": last["seq"] + 1,
        "kind": "PatchApplied",
        "actor": "user:rita",
        "payload": {"forged": True},
        "created_at": last["created_at"],
        "prev_hash": last["hash"],
    }
    forged["hash"] = event_hash(**forged)
    with (bundle / "events.jsonl").open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    with pytest.raises(BundleInvalid, match=f"from seq {last['seq'] + 1} on are covered by no"):
        check_events(bundle, {key_id_of(console_public_key()): console_public_key()})
