"""Exporting the log as a bundle that audit.verifier checks without Django or the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.checkpoints import CheckpointError, checkpoint_sign
from audit.export_tlog import write_transparency
from audit.log_head import log_head_read
from audit.models import Checkpoint
from audit.verify import event_rows, known_accounts
from patches.canonical import canonical, format_timestamp, parse_json, sha256_hash
from patches.log import chain_head
from patches.models import AgentKey, Event, Proposal, Target, TargetVersion
from patches.signing import console_private_key, console_verifier_keys, sign

BUNDLE_FORMAT = "patch-console-log/1"


class ExportError(Exception):
    """The bundle cannot be written where asked."""


@dataclass(frozen=True)
class Bundle:
    directory: Path
    events: int
    head: str


def _line(value: Any) -> bytes:
    # Canonical JSON per line: one byte changed anywhere changes a value or breaks the parse.
    return canonical(value) + b"\n"


def _timestamp(moment: Any) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _write_events(path: Path, upto: int) -> tuple[int, set[str]]:
    count, created = 0, set()
    with path.open("wb") as handle:
        for rows in event_rows(upto=upto):
            for seq, kind, actor, payload, created_at, prev_hash, event_hash, _mac in rows:
                value = parse_json(payload)
                if kind == "TargetCreated":
                    created.add(value["target"])
                handle.write(
                    _line(
                        {
                            "seq": seq,
                            "kind": kind,
                            "actor": actor,
                            "payload": value,
                            "created_at": created_at,
                            "prev_hash": prev_hash,
                            "hash": event_hash,
                        }
                    )
                )
                count += 1
    return count, created


def _write_proposals(path: Path) -> int:
    proposals = Proposal.objects.select_related("target").prefetch_related("signatures__key")
    with path.open("wb") as handle:
        for proposal in proposals.order_by("pk"):
            signatures = [
                {
                    "key_id": s.key.key_id,
                    "algorithm": s.algorithm,
                    "value": s.value,
                    "verified_at": _timestamp(s.verified_at),
                }
                for s in proposal.signatures.all()
            ]
            handle.write(
                _line(
                    {
                        "id": proposal.pk,
                        "target": proposal.target.name,
                        "patch_hash": proposal.patch_hash,
                        "envelope": proposal.envelope,
                        "signatures": signatures,
                    }
                )
            )
    return proposals.count()


def _write_genesis(directory: Path, names: set[str]) -> dict[str, Any]:
    (directory / "genesis").mkdir()
    targets: dict[str, Any] = {}
    for target in Target.objects.filter(name__in=names).order_by("name"):
        genesis = TargetVersion.objects.get(target=target, version=1)
        relative = f"genesis/{target.name}"
        (directory / relative).write_bytes(genesis.content.encode("utf-8"))
        targets[target.name] = {
            "patch_type": target.patch_type,
            "schema": target.schema,
            "genesis": relative,
        }
    return targets


def _write_keys(path: Path) -> None:
    """Agent keys, console keys (current first, then retired ones) and reviewer accounts."""
    agents = [
        {
            "agent": key.agent.name,
            "key_id": key.key_id,
            "public_key": key.public_key,
            "revoked_at": _timestamp(key.revoked_at),
        }
        for key in AgentKey.objects.select_related("agent").order_by("pk")
    ]
    console_keys = [
        {"key_id": key_id, "public_key": raw.hex()}
        for key_id, raw in console_verifier_keys().items()
    ]
    accounts = [
        {"username": name, "joined_at": account.joined_at, "admin": account.admin}
        for name, account in sorted(known_accounts().items())
    ]
    path.write_bytes(
        _line(
            {
                "console": console_keys[0],
                "console_retired": console_keys[1:],
                "agents": agents,
                "accounts": accounts,
            }
        )
    )


def log_export(*, directory: Path) -> Bundle:
    """Write the bundle into directory (new or empty); everything up to the current head.

    Signs a checkpoint of the head first, so every event in the bundle but that checkpoint's
    own CheckpointSigned event is covered by a signature the verifier checks; the signer
    refuses (and raises the log alarm) when the chain holds events the console did not write.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ExportError(f"{directory} is not an empty directory: choose a new one")
    if chain_head()[0]:
        try:
            checkpoint_sign(actor="system:export")
        except CheckpointError as exc:
            raise ExportError(f"the log cannot be exported: {exc}") from exc
    directory.mkdir(parents=True, exist_ok=True)
    # Every checkpoint, and the events up to the latest one's CheckpointSigned event: events
    # appended since are left out (no signature covers them yet), as are later proposals or
    # keys, which the verifier does not need.
    checkpoints = list(Checkpoint.objects.order_by("seq"))
    recorded = log_head_read()
    upto, head = chain_head()
    if checkpoints and checkpoints[-1].seq < upto:
        upto = checkpoints[-1].seq + 1
        head = Event.objects.values_list("hash", flat=True).get(seq=upto)
    events, created = _write_events(directory / "events.jsonl", upto)
    proposals = _write_proposals(directory / "proposals.jsonl")
    targets = _write_genesis(directory, created)
    (directory / "checkpoints.jsonl").write_bytes(
        b"".join(
            _line({"seq": c.seq, "head": c.head, "key_id": c.key_id, "signature": c.signature})
            for c in checkpoints
        )
    )
    if recorded is not None:
        (directory / "head.json").write_bytes(_line(recorded))
    _write_keys(directory / "keys.json")
    write_transparency(directory)
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "events": events,
        "head": head,
        "proposals": proposals,
        "checkpoints": len(checkpoints),
        "targets": targets,
        "files": {name: sha256_hash((directory / name).read_bytes()) for name in files},
    }
    # Signed by the console so the file hashes cannot be quietly rewritten along with a file.
    manifest["signature"] = sign(console_private_key(), manifest)
    (directory / "manifest.json").write_bytes(_line(manifest))
    return Bundle(directory=directory, events=events, head=head)
