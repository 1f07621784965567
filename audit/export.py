"""Exporting the log as a bundle that audit.verifier checks without Django or the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.models import Checkpoint
from audit.verify import event_rows
from patches.canonical import canonical, format_timestamp, parse_json, sha256_hash
from patches.log import chain_head
from patches.models import AgentKey, Proposal, Target, TargetVersion
from patches.signing import console_private_key, console_public_key, key_id_of, sign

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
            for seq, kind, actor, payload, created_at, prev_hash, event_hash in rows:
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
    console_key = console_public_key()
    agents = [
        {
            "agent": key.agent.name,
            "key_id": key.key_id,
            "public_key": key.public_key,
            "revoked_at": _timestamp(key.revoked_at),
        }
        for key in AgentKey.objects.select_related("agent").order_by("pk")
    ]
    console = {"key_id": key_id_of(console_key), "public_key": console_key.hex()}
    path.write_bytes(_line({"console": console, "agents": agents}))


def log_export(*, directory: Path) -> Bundle:
    """Write the bundle into directory (new or empty); everything up to the current head."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ExportError(f"{directory} is not an empty directory: choose a new one")
    directory.mkdir(parents=True, exist_ok=True)
    # Everything is bounded by the head read first: later events, proposals or keys are
    # either left out or harmless extras the verifier does not need.
    upto, head = chain_head()
    events, created = _write_events(directory / "events.jsonl", upto)
    proposals = _write_proposals(directory / "proposals.jsonl")
    targets = _write_genesis(directory, created)
    checkpoints = Checkpoint.objects.filter(seq__lte=upto).order_by("seq")
    (directory / "checkpoints.jsonl").write_bytes(
        b"".join(
            _line({"seq": c.seq, "head": c.head, "key_id": c.key_id, "signature": c.signature})
            for c in checkpoints
        )
    )
    _write_keys(directory / "keys.json")
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "events": events,
        "head": head,
        "proposals": proposals,
        "checkpoints": checkpoints.count(),
        "targets": targets,
        "files": {name: sha256_hash((directory / name).read_bytes()) for name in files},
    }
    # Signed by the console so the file hashes cannot be quietly rewritten along with a file.
    manifest["signature"] = sign(console_private_key(), manifest)
    (directory / "manifest.json").write_bytes(_line(manifest))
    return Bundle(directory=directory, events=events, head=head)
