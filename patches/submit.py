"""Submitting a signed proposal: every door check in contract order, then one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from patches.canonical import (
    CanonicalizationError,
    JSONInputError,
    canonical,
    parse_json,
    sha256_hash,
)
from patches.formats import ContentTooLarge, PatchError
from patches.log import event_append
from patches.models import (
    OPEN_STATUSES,
    Agent,
    AgentKey,
    PatchType,
    Proposal,
    ProposalStatus,
    Signature,
    Target,
    TargetVersion,
    TestDefinition,
)
from patches.signing import ALGORITHM, SignatureError, verify_bytes
from patches.targets import target_patch_check
from patches.testgate.schedule import UnknownTestError, gate_queue, resolve_tests

ENVELOPE_KEYS = frozenset({"proposal", "signature"})
PROPOSAL_KEYS = frozenset(
    {"patch_type", "target", "base_version", "patch", "reasoning", "test_requirements", "nonce"}
)
# Signed like every other field when present: a revision names the proposal it replaces.
OPTIONAL_PROPOSAL_KEYS = frozenset({"revises"})
SIGNATURE_KEYS = frozenset({"key_id", "algorithm", "value"})
_PATCH_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_NONCE = re.compile(r"[0-9a-f]{32,128}")
_KEY_ID = re.compile(r"[0-9a-f]{64}")
_BLANK = " \t\r\n"  # the same "blank" as the OpenAPI pattern [^ \t\r\n]
# Retry-After for 429: a gate run usually finishes well within this; agents poll anyway.
RETRY_AFTER_S = 30


class SubmitRefused(Exception):
    """A submission refused at the door; `problem` names the API problem type (see docs/api.md)."""

    def __init__(self, problem: str, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class Envelope:
    proposal: dict[str, Any]
    signed: bytes  # canonical(proposal): what the signature covers and patch_hash hashes
    key_id: str
    algorithm: str
    signature: str


def _malformed(detail: str) -> SubmitRefused:
    return SubmitRefused("malformed-envelope", detail)


def _exact_keys(
    value: Any, keys: frozenset[str], where: str, optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(f"{where} must be a JSON object")
    missing, unknown = sorted(keys - value.keys()), sorted(value.keys() - keys - optional)
    if missing:
        raise _malformed(f"{where} is missing {', '.join(missing)}")
    if unknown:
        raise _malformed(f"{where} has unknown keys {', '.join(unknown)}")
    return value


def _check_proposal_fields(proposal: dict[str, Any]) -> None:
    for name in ("patch_type", "target", "patch", "reasoning", "nonce"):
        if not isinstance(proposal[name], str):
            raise _malformed(f"proposal.{name} must be a string")
        if "\x00" in proposal[name]:
            # PostgreSQL text holds no NUL: refused here, not as a database error later.
            raise _malformed(f"proposal.{name} contains a NUL character (U+0000)")
    if proposal["patch_type"] not in PatchType.values:
        raise _malformed(
            f"proposal.patch_type {proposal['patch_type']!r} is not one of {', '.join(PatchType.values)}"
        )
    base_version = proposal["base_version"]
    if isinstance(base_version, float) and base_version.is_integer():
        # JSON has one number type: 3.0 is the integer 3 (RFC 8785 writes both as "3").
        base_version = proposal["base_version"] = int(base_version)
    if isinstance(base_version, bool) or not isinstance(base_version, int) or base_version < 1:
        raise _malformed("proposal.base_version must be an integer >= 1")
    if not _NONCE.fullmatch(proposal["nonce"]):
        raise _malformed(
            "proposal.nonce must be 32 to 128 lowercase hex digits (>= 16 random bytes)"
        )
    reasoning = proposal["reasoning"]
    if not reasoning.strip(_BLANK):
        raise _malformed("proposal.reasoning must not be empty: say why this change helps")
    if len(reasoning) > settings.API_MAX_REASONING_CHARS:
        raise _malformed(
            f"proposal.reasoning has {len(reasoning)} characters; the limit is "
            f"{settings.API_MAX_REASONING_CHARS}"
        )
    tests = proposal["test_requirements"]
    if not isinstance(tests, list) or not all(isinstance(name, str) for name in tests):
        raise _malformed("proposal.test_requirements must be a list of test names")
    if any("\x00" in name for name in tests):
        raise _malformed("proposal.test_requirements names a test with a NUL character (U+0000)")
    if len(tests) > settings.API_MAX_TEST_REQUIREMENTS:
        raise _malformed(
            f"proposal.test_requirements names {len(tests)} tests; the limit is "
            f"{settings.API_MAX_TEST_REQUIREMENTS}"
        )
    if not proposal["target"]:
        raise _malformed("proposal.target must not be empty")
    if "revises" in proposal and not (
        isinstance(proposal["revises"], str) and _PATCH_HASH.fullmatch(proposal["revises"])
    ):
        raise _malformed(
            "proposal.revises must be the patch_hash (sha256: and 64 lowercase hex digits) of "
            "the open proposal this revision replaces"
        )


def envelope_parse(body: bytes | str) -> Envelope:
    """The envelope's parts, or SubmitRefused("malformed-envelope") saying what is wrong."""
    try:
        value = parse_json(body, max_depth=settings.API_MAX_JSON_DEPTH)
    except JSONInputError as exc:
        raise _malformed(f"body is not a strict JSON envelope: {exc}") from exc
    envelope = _exact_keys(value, ENVELOPE_KEYS, "envelope")
    proposal = _exact_keys(
        envelope["proposal"], PROPOSAL_KEYS, "proposal", optional=OPTIONAL_PROPOSAL_KEYS
    )
    signature = _exact_keys(envelope["signature"], SIGNATURE_KEYS, "signature")
    _check_proposal_fields(proposal)
    for name in SIGNATURE_KEYS:
        if not isinstance(signature[name], str):
            raise _malformed(f"signature.{name} must be a string")
    if signature["algorithm"] != ALGORITHM:
        raise _malformed(f"signature.algorithm must be {ALGORITHM!r}")
    if not _KEY_ID.fullmatch(signature["key_id"]):
        raise _malformed("signature.key_id must be 64 lowercase hex digits")
    try:
        signed = canonical(proposal)
    except CanonicalizationError as exc:
        raise _malformed(f"proposal cannot be canonicalized (RFC 8785): {exc}") from exc
    return Envelope(
        proposal=proposal,
        signed=signed,
        key_id=signature["key_id"],
        algorithm=signature["algorithm"],
        signature=signature["value"],
    )


def _check_signing_key(*, agent: Agent, envelope: Envelope) -> AgentKey:
    try:
        key = AgentKey.objects.get(key_id=envelope.key_id)
    except AgentKey.DoesNotExist:
        raise SubmitRefused("unknown-key", f"key {envelope.key_id} is not registered") from None
    if key.agent_id != agent.pk:
        raise SubmitRefused(
            "key-not-yours", f"key {envelope.key_id} is not a key of agent {agent.name}"
        )
    if key.revoked_at is not None:
        raise SubmitRefused(
            "revoked-key", f"key {envelope.key_id} was revoked; sign with a live key"
        )
    try:
        verify_bytes(bytes.fromhex(key.public_key), envelope.signed, envelope.signature)
    except SignatureError as exc:
        raise SubmitRefused("bad-signature", str(exc)) from exc
    return key


def _check_not_replayed(*, nonce: str, patch_hash: str) -> None:
    used = Proposal.objects.filter(Q(nonce=nonce) | Q(patch_hash=patch_hash))
    nonces = set(used.values_list("nonce", flat=True)[:2])
    if nonce in nonces:
        raise SubmitRefused("replayed-nonce", f"nonce {nonce} was already used; sign a fresh nonce")
    if nonces:
        raise SubmitRefused("replayed-patch", f"proposal {patch_hash} was already submitted")


def _check_base(*, target: Target, base_version: int) -> None:
    if base_version != target.version:
        word = "is stale" if base_version < target.version else "does not exist"
        raise SubmitRefused(
            "stale-base",
            f"base_version {base_version} {word}: target {target.name} is at version {target.version}",
        )


def _check_revises(*, agent: Agent, target: Target, revises: str | None) -> Proposal | None:
    """The open proposal of this agent on this target that a revision replaces (None for a
    first proposal); 404, 422 or 409 as the contract says otherwise."""
    if revises is None:
        return None
    revised = (
        Proposal.objects.select_related("target").filter(patch_hash=revises, agent=agent).first()
    )
    if revised is None:
        raise SubmitRefused(
            "revises-not-found", f"revises names {revises}, which is no proposal of yours"
        )
    if revised.target_id != target.pk:
        raise SubmitRefused(
            "revises-other-target",
            f"revises names proposal {revised.pk} on target {revised.target.name}; a revision "
            f"stays on its target ({target.name} here)",
        )
    _check_revisable(revised)
    return revised


def _check_revisable(revised: Proposal) -> None:
    if revised.status not in OPEN_STATUSES:
        raise SubmitRefused(
            "revises-not-open",
            f"proposal {revised.pk} is {revised.status}; only an open proposal ("
            f"{', '.join(OPEN_STATUSES)}) can be revised",
        )


def _check_open_limit(*, agent: Agent) -> None:
    if agent.is_console:
        # Reverts are proposed by people through the console's agent; one busy day of reverts
        # must not lock every reviewer out. Each person can have one open revert per version.
        return
    limit = settings.API_MAX_PENDING_PER_AGENT
    # Sliced, so the count stays cheap however many proposals are open.
    pending = Proposal.objects.filter(agent=agent, status__in=OPEN_STATUSES)[:limit].count()
    if pending >= limit:
        raise SubmitRefused(
            "too-many-pending",
            f"agent {agent.name} has {limit} or more open proposals (the limit); wait for "
            "decisions or withdraw some",
            retry_after=RETRY_AFTER_S,
        )


def _check_patch(*, target: Target, base: TargetVersion, patch: str) -> None:
    try:
        target_patch_check(target=target, base=base.content, patch=patch)
    except ContentTooLarge as exc:
        limit = settings.MAX_TARGET_CONTENT_BYTES
        raise SubmitRefused(
            "patch-does-not-apply",
            f"{exc}; a target's content may have at most {limit} bytes (MAX_TARGET_CONTENT_BYTES)",
        ) from exc
    except PatchError as exc:
        raise SubmitRefused("patch-does-not-apply", str(exc)) from exc


def proposal_submit(*, agent: Agent, body: bytes | str) -> Proposal:
    """Check a signed envelope in contract order, then store it, its signature, its queued gate
    run and its PatchProposed event in one transaction.

    The one exception to contract order: the open-proposal limit (429) is checked before the
    patch (422), so an agent at its limit costs one count, not a patch check.

    Raises SubmitRefused on any refusal, having stored nothing. The queued gate run is the
    outbox: whoever runs the gates publishes it after commit (audit.gates), and the sweep
    re-finds it if that publish is lost.
    """
    envelope = envelope_parse(body)
    fields = envelope.proposal
    patch_hash = sha256_hash(envelope.signed)
    try:
        # The target with its current version, in one read.
        base = TargetVersion.objects.select_related("target").get(
            target__name=fields["target"], version=F("target__version")
        )
    except TargetVersion.DoesNotExist:
        raise SubmitRefused("unknown-target", f"no target named {fields['target']!r}") from None
    target = base.target
    if fields["patch_type"] != target.patch_type:
        raise SubmitRefused(
            "patch-type-mismatch",
            f"patch_type {fields['patch_type']} does not match target {target.name}, "
            f"which is {target.patch_type}",
        )
    key = _check_signing_key(agent=agent, envelope=envelope)
    _check_not_replayed(nonce=fields["nonce"], patch_hash=patch_hash)
    revised = _check_revises(agent=agent, target=target, revises=fields.get("revises"))
    _check_base(target=target, base_version=fields["base_version"])
    try:
        tests = resolve_tests(target=target, requested=fields["test_requirements"])
    except UnknownTestError as exc:
        raise SubmitRefused("unknown-test", str(exc)) from exc
    # Before any patch work: an agent at its limit is refused at the cost of one count. A
    # revision replaces an open proposal, so it never adds to the count.
    if revised is None:
        _check_open_limit(agent=agent)
    _check_patch(target=target, base=base, patch=fields["patch"])
    try:
        return _store(
            agent=agent,
            key=key,
            target=target,
            base=base,
            envelope=envelope,
            body=body.decode("utf-8") if isinstance(body, bytes) else body,
            patch_hash=patch_hash,
            tests=tests,
            revised=revised,
        )
    except IntegrityError as exc:
        # Two identical submissions raced past the checks above; the unique constraints on
        # nonce and patch_hash let exactly one of them in.
        if Proposal.objects.filter(nonce=fields["nonce"]).exists():
            raise SubmitRefused(
                "replayed-nonce", f"nonce {fields['nonce']} was already used"
            ) from exc
        if revised is not None and not Proposal.objects.filter(patch_hash=patch_hash).exists():
            raise SubmitRefused(
                "revises-not-open", f"proposal {revised.pk} was revised by another proposal"
            ) from exc
        raise SubmitRefused(
            "replayed-patch", f"proposal {patch_hash} was already submitted"
        ) from exc


def _lock_revised(revised: Proposal) -> Proposal:
    """The replaced proposal under lock (target row first: the lock order of
    patches.lifecycle), still open, or 409."""
    list(
        Target.objects.select_for_update(no_key=True)
        .filter(pk=revised.target_id)
        .values_list("pk", flat=True)
    )
    locked = Proposal.objects.select_for_update(of=("self",), no_key=True).get(pk=revised.pk)
    _check_revisable(locked)
    return locked


def _store(
    *,
    agent: Agent,
    key: AgentKey,
    target: Target,
    base: TargetVersion,
    envelope: Envelope,
    body: str,
    patch_hash: str,
    tests: list[TestDefinition],
    revised: Proposal | None = None,
) -> Proposal:
    fields = envelope.proposal
    # A savepoint when called inside a caller's transaction (a revert): a replay race's
    # IntegrityError then leaves the caller's transaction usable.
    with transaction.atomic():
        if revised is not None:
            revised = _lock_revised(revised)
        proposal = Proposal.objects.create(
            agent=agent,
            target=target,
            envelope=body,
            patch_hash=patch_hash,
            nonce=fields["nonce"],
            patch_type=fields["patch_type"],
            base_version=fields["base_version"],
            base_content_hash=base.content_hash,
            patch=fields["patch"],
            reasoning=fields["reasoning"],
            test_requirements=fields["test_requirements"],
            status=ProposalStatus.TESTING,
            approvals_required=target.required_approvals,
            revises=revised,
            change_id=revised.change_id if revised is not None else None,
            revision=revised.revision + 1 if revised is not None else 1,
        )
        if revised is None:
            # The first proposal of its change is the change.
            Proposal.objects.filter(pk=proposal.pk).update(change=proposal.pk)
            proposal.change_id = proposal.pk
        Signature.objects.create(
            proposal=proposal,
            key=key,
            algorithm=envelope.algorithm,
            value=envelope.signature,
            verified_at=timezone.now(),
        )
        gate_queue(proposal=proposal, tests=tests)
        # The event last: the chain lock it takes is held until COMMIT (patches.log).
        event_append(
            kind="PatchProposed",
            actor=f"agent:{agent.name}",
            payload={
                "patch_type": fields["patch_type"],
                "target": target.name,
                "patch_hash": patch_hash,
                "base_version": fields["base_version"],
                "base_content_hash": base.content_hash,
                "reasoning": fields["reasoning"],
                "test_requirements": fields["test_requirements"],
                "tests": [test.name for test in tests],
                "agent": agent.name,
                "key_id": key.key_id,
                "proposal": proposal.pk,
                **(
                    {"revises": revised.patch_hash, "change": proposal.change_id}
                    if revised is not None
                    else {}
                ),
            },
            proposal=proposal,
        )
        if revised is not None:
            _supersede(revised=revised, by=proposal, actor=f"agent:{agent.name}")
    return proposal


def _supersede(*, revised: Proposal, by: Proposal, actor: str) -> None:
    revised.status = ProposalStatus.SUPERSEDED
    revised.decided_at = timezone.now()
    revised.save(update_fields=["status", "decided_at", "updated_at"])
    event_append(
        kind="PatchSuperseded",
        actor=actor,
        payload={
            "patch_hash": revised.patch_hash,
            "by": by.patch_hash,
            "target": by.target.name,
            "proposal": revised.pk,
        },
        proposal=revised,
    )
