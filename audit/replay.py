"""Replaying the log: rebuild every target from genesis and the applied patches, and compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patches.canonical import JSONInputError, hash_of, parse_json
from patches.formats import PatchError, content_hash
from patches.models import Event, Proposal, ProposalStatus, Target, TargetVersion
from patches.targets import target_patch_apply


class ReplayMismatch(Exception):
    """The first place where the rebuilt content disagrees with the log or the stored versions."""

    def __init__(self, target: str, version: int, problem: str) -> None:
        super().__init__(f"FAIL replay at target {target} version {version}: {problem}")
        self.target = target
        self.version = version
        self.problem = problem


@dataclass(frozen=True)
class ReplayResult:
    targets: int
    versions: int  # every version rebuilt, genesis included


def logged_patch(proposal: Proposal) -> str:
    """The patch text from the signed envelope, after checking it is the logged patch_hash."""
    try:
        envelope = parse_json(proposal.envelope)
        signed = envelope["proposal"]
        patch = signed["patch"]
    except (JSONInputError, KeyError, TypeError) as exc:
        raise ValueError(f"stored envelope of proposal {proposal.pk} is unreadable: {exc}") from exc
    if hash_of(signed) != proposal.patch_hash:
        raise ValueError(
            f"stored envelope of proposal {proposal.pk} does not hash to its patch_hash"
        )
    if not isinstance(patch, str):
        raise ValueError(f"proposal {proposal.pk} has a patch that is not a string")
    return patch


def _payloads(kind: str) -> list[dict[str, Any]]:
    return [
        parse_json(text)
        for text in Event.objects.filter(kind=kind)
        .order_by("seq")
        .values_list("payload", flat=True)
    ]


class _TargetReplay:
    def __init__(self, target: Target, created: dict[str, Any]) -> None:
        self.target = target
        self.stored = {v.version: v for v in TargetVersion.objects.filter(target=target)}
        genesis = self.stored.get(1)
        if genesis is None:
            raise ReplayMismatch(target.name, 1, "no genesis version is stored")
        if content_hash(genesis.content) != created["content_hash"]:
            raise ReplayMismatch(
                target.name, 1, "genesis content does not match the TargetCreated content_hash"
            )
        self.content = genesis.content
        self.version = 1
        self._compare(genesis.content, created["content_hash"])

    def _compare(self, content: str, logged_hash: str) -> None:
        name, version = self.target.name, self.version
        row = self.stored.get(version)
        if row is None:
            raise ReplayMismatch(name, version, "the log applied this version but it is not stored")
        if content_hash(content) != logged_hash:
            raise ReplayMismatch(
                name,
                version,
                f"rebuilt content hash {content_hash(content)} differs from the log's {logged_hash}",
            )
        if row.content_hash != logged_hash or row.content != content:
            raise ReplayMismatch(
                name, version, "the stored version differs from the rebuilt content"
            )

    def apply(self, applied: dict[str, Any]) -> None:
        name, version = self.target.name, self.version + 1
        if applied.get("version") != version:
            raise ReplayMismatch(
                name, version, f"the log applies version {applied.get('version')} next"
            )
        proposal = Proposal.objects.filter(patch_hash=applied["patch_hash"]).first()
        if proposal is None:
            raise ReplayMismatch(
                name, version, f"no proposal has patch_hash {applied['patch_hash']}"
            )
        if proposal.status == ProposalStatus.SUPERSEDED:
            # A revision replaced it: it can never have applied (docs/revisions.md).
            raise ReplayMismatch(
                name, version, f"proposal {proposal.pk} is superseded but the log applies it"
            )
        try:
            result = target_patch_apply(
                target=self.target, base=self.content, patch=logged_patch(proposal)
            )
        except (PatchError, ValueError) as exc:
            raise ReplayMismatch(name, version, f"the patch does not apply: {exc}") from exc
        self.version = version
        self._compare(result.content, applied["content_hash"])
        self._check_inverse(previous=self.content, content=result.content)
        self.content = result.content

    def _check_inverse(self, *, previous: str, content: str) -> None:
        # Invariant 5: every version is reversible to the previous bytes exactly.
        name, version = self.target.name, self.version
        inverse = self.stored[version].inverse_patch
        try:
            undone = target_patch_apply(target=self.target, base=content, patch=inverse).content
        except (PatchError, ValueError) as exc:
            raise ReplayMismatch(
                name, version, f"the stored inverse patch does not apply: {exc}"
            ) from exc
        if undone != previous:
            raise ReplayMismatch(
                name, version, f"the stored inverse patch does not restore version {version - 1}"
            )

    def finish(self) -> int:
        extra = sorted(v for v in self.stored if v > self.version)
        if extra:
            raise ReplayMismatch(
                self.target.name,
                extra[0],
                "this version is stored but no PatchApplied event logs it",
            )
        if self.target.version != self.version:
            raise ReplayMismatch(
                self.target.name,
                self.target.version,
                f"the target says it is at version {self.target.version}, the log at {self.version}",
            )
        return self.version


def targets_replay() -> ReplayResult:
    """Rebuild every target; raise ReplayMismatch at the first (target, version) that differs."""
    created = {p["target"]: p for p in _payloads("TargetCreated")}
    targets = {t.name: t for t in Target.objects.all()}
    for name in sorted(set(targets) - set(created)):
        raise ReplayMismatch(name, 1, "no TargetCreated event in the log")
    replays: dict[str, _TargetReplay] = {}
    for name in sorted(created):
        if name not in targets:
            raise ReplayMismatch(name, 1, "the log created this target but it is not stored")
        replays[name] = _TargetReplay(targets[name], created[name])
    for applied in _payloads("PatchApplied"):
        replay = replays.get(applied.get("target", ""))
        if replay is None:
            raise ReplayMismatch(
                str(applied.get("target")),
                int(applied.get("version") or 0),
                "patch applied to a target the log never created",
            )
        replay.apply(applied)
    versions = sum(replays[name].finish() for name in sorted(replays))
    return ReplayResult(targets=len(replays), versions=versions)
