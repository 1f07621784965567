"""A stand-alone agent client for /api/v1: keys, canonical signing, submit, poll, read targets.

Only the standard library, `cryptography` and `rfc8785`: no Django, so an agent can copy this
package alone. The CLI is `python -m patches.client --help`.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# ApiError is re-exported here; its subclasses, one per problem type, live in .problems.
from patches.client.problems import ApiError as ApiError
from patches.client.problems import problem_error

DECIDED = frozenset({"applied", "rejected", "withdrawn", "superseded"})
# Open, but waiting for the agent: a reviewer asked for changes, or the target moved (rebase).
NEEDS_REVISION = frozenset({"changes_requested", "stale"})
NO_NEWLINE = "\\ No newline at end of file"


# --- keys and signatures ---------------------------------------------------------------------


def key_id_of(private_key: Ed25519PrivateKey) -> str:
    """Hex SHA-256 of the raw 32-byte public key, as the console computes it."""
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()


def public_key_pem(private_key: Ed25519PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def keygen(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key written as PKCS#8 PEM readable by its owner only; never overwrites."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes: what is signed and hashed (json.dumps(sort_keys=True) is not the same)."""
    return rfc8785.dumps(value)


def patch_hash(proposal: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(proposal)).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def make_proposal(
    *,
    target: str,
    patch_type: str,
    base_version: int,
    patch: str,
    reasoning: str,
    test_requirements: list[str] | None = None,
    nonce: str | None = None,
    revises: str | None = None,
) -> dict[str, Any]:
    """The proposal to sign; `revises` (a patch_hash) makes it a revision of that proposal."""
    proposal = {
        "patch_type": patch_type,
        "target": target,
        "base_version": base_version,
        "patch": patch,
        "reasoning": reasoning,
        "test_requirements": list(test_requirements or []),
        "nonce": nonce or new_nonce(),
    }
    if revises is not None:
        proposal["revises"] = revises
    return proposal


def sign_proposal(private_key: Ed25519PrivateKey, proposal: dict[str, Any]) -> dict[str, Any]:
    """The signed envelope: an Ed25519 signature over canonical(proposal)."""
    return {
        "proposal": proposal,
        "signature": {
            "key_id": key_id_of(private_key),
            "algorithm": "ed25519",
            "value": base64.b64encode(private_key.sign(canonical(proposal))).decode("ascii"),
        },
    }


# --- patches -----------------------------------------------------------------------------------


def _split_lines(text: str) -> list[str]:
    # On "\n" only, as the server's strict applier does (str.splitlines also splits on "\r").
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def make_unified_diff(old: str, new: str) -> str:
    """A `diff -u` style patch from old to new, in the exact form the console applies."""
    if old == new:
        return ""
    out: list[str] = []
    for line in difflib.unified_diff(
        _split_lines(old), _split_lines(new), "a", "b", n=3, lineterm="\n"
    ):
        out.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE + "\n")
    return "".join(out)


def _pointer(parts: list[str]) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def make_json_patch(old: Any, new: Any) -> str:
    """An RFC 6902 patch (as a string) from old to new: per key in objects, whole values else."""
    operations: list[dict[str, Any]] = []

    def walk(a: Any, b: Any, path: list[str]) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() - b.keys()):
                operations.append({"op": "remove", "path": _pointer([*path, key])})
            for key in sorted(b.keys()):
                if key not in a:
                    operations.append(
                        {"op": "add", "path": _pointer([*path, key]), "value": b[key]}
                    )
                else:
                    walk(a[key], b[key], [*path, key])
        elif canonical(a) != canonical(b):
            operations.append({"op": "replace", "path": _pointer(path), "value": b})

    walk(old, new, [])
    return json.dumps(operations, ensure_ascii=False, separators=(",", ":"))


# --- HTTP ------------------------------------------------------------------------------------


def target_path(name: str, *, label: str | None = None, instance: str | None = None) -> str:
    """The API path that reads `name` by label and instance (either may be left to the server)."""
    query = {k: v for k, v in (("label", label), ("instance", instance)) if v is not None}
    path = f"/targets/{quote(name, safe='')}"
    return f"{path}?{urlencode(query)}" if query else path


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Transport = Callable[[str, str, dict[str, str], bytes | None], Answer]


def urllib_transport(timeout: float = 30.0) -> Transport:
    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        # AgentClient only builds http(s) URLs (checked in __post_init__).
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return Answer(
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read(),
                )
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())

    return send


@dataclass
class AgentClient:
    url: str  # e.g. http://127.0.0.1:8000 (without /api/v1)
    token: str
    transport: Transport = field(default_factory=urllib_transport)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"the console URL must be http:// or https://, got {self.url!r}")

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            **(headers or {}),
        }
        if body is not None:
            sent["Content-Type"] = "application/json"
        answer = self.transport(method, self.url.rstrip("/") + "/api/v1" + path, sent, body)
        if answer.status >= 400:
            try:
                problem = json.loads(answer.body)
            except ValueError:
                problem = {"detail": answer.body.decode("utf-8", "replace")[:500]}
            raise problem_error(
                answer.status, problem if isinstance(problem, dict) else {}, answer.headers
            )
        return answer

    def submit(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """POST the envelope; returns {id, patch_hash, status, url} or raises ApiError."""
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        return self._call("POST", "/proposals", body).json()  # type: ignore[no-any-return]

    def status(self, proposal_id: int) -> dict[str, Any]:
        return self._call("GET", f"/proposals/{proposal_id}").json()  # type: ignore[no-any-return]

    def proposal_status(self, proposal_id: int) -> dict[str, Any]:
        """GET /api/v1/proposals/{id} as the API answers it: status, reviews with their
        comments and carried_from, revisions, and `stale` with the rebase state."""
        return self.status(proposal_id)

    def rebase(self, proposal_id: int) -> dict[str, Any]:
        """{base_version, patch, same_change}: the stale proposal's change re-made against the
        target's current version; ApiError 409 `rebase-conflict` (problem["conflicts"]) when
        it no longer applies there."""
        return self._call("GET", f"/proposals/{proposal_id}/rebase").json()  # type: ignore[no-any-return]

    def withdraw(self, proposal_id: int) -> dict[str, Any]:
        return self._call("POST", f"/proposals/{proposal_id}/withdraw", b"").json()  # type: ignore[no-any-return]

    def wait(
        self, proposal_id: int, *, timeout: float = 600.0, first: float = 0.5, longest: float = 15.0
    ) -> dict[str, Any]:
        """Poll until decided (applied, rejected, withdrawn, superseded) or waiting for the
        agent (changes_requested, stale), backing off from `first` to `longest` s."""
        waited, interval = 0.0, first
        while True:
            state = self.status(proposal_id)
            if state["status"] in DECIDED or state["status"] in NEEDS_REVISION:
                return state
            if waited >= timeout:
                raise TimeoutError(
                    f"proposal {proposal_id} is still {state['status']} after {waited:.0f}s"
                )
            pause = min(interval, longest, timeout - waited)
            self.sleep(pause)
            waited += pause
            interval *= 2

    def target(
        self,
        name: str,
        *,
        etag: str | None = None,
        label: str | None = None,
        instance: str | None = None,
    ) -> tuple[dict[str, Any] | None, str]:
        """(the version `label` serves `instance`, ETag); (None, etag) when `etag` is still
        current (304). Defaults: the production label, the agent's name as the instance."""
        answer = self._call(
            "GET",
            target_path(name, label=label, instance=instance),
            headers={"If-None-Match": etag} if etag else None,
        )
        if answer.status == 304:
            return None, answer.headers.get("etag", etag or "")
        return answer.json(), answer.headers.get("etag", "")

    def observed(
        self, name: str, *, instance: str, content_hash: str, label: str | None = None
    ) -> None:
        """Report what `instance` runs now (the fleet view; telemetry, not logged)."""
        report = {"instance": instance, "content_hash": content_hash}
        if label is not None:
            report["label"] = label
        body = json.dumps(report, ensure_ascii=False).encode("utf-8")
        self._call("POST", f"/targets/{quote(name, safe='')}/observed", body)

    def target_version(self, name: str, version: int) -> dict[str, Any]:
        return self._call("GET", f"/targets/{name}/versions/{version}").json()  # type: ignore[no-any-return]

    def propose(
        self,
        *,
        private_key: Ed25519PrivateKey,
        target: str,
        reasoning: str,
        patch: str | None = None,
        new_content: Any = None,
        test_requirements: list[str] | None = None,
        revises: str | None = None,
        base_version: int | None = None,
    ) -> dict[str, Any]:
        """Fetch the current target, make the patch (unless given), sign it and submit it;
        `revises` (a patch_hash) submits it as a revision of that proposal."""
        current, _ = self.target(target)
        assert current is not None
        if patch is None:
            # Text content comes as a string, JSON content as an object: the wire says which
            # format to patch in, so the client needs no table of patch types.
            if isinstance(current["content"], str):
                patch = make_unified_diff(current["content"], new_content)
            else:
                patch = make_json_patch(current["content"], new_content)
        proposal = make_proposal(
            target=target,
            patch_type=current["patch_type"],
            base_version=current["version"] if base_version is None else base_version,
            patch=patch,
            reasoning=reasoning,
            test_requirements=test_requirements,
            revises=revises,
        )
        return self.submit(sign_proposal(private_key, proposal))

    def revise(
        self,
        proposal_id: int,
        *,
        private_key: Ed25519PrivateKey,
        reasoning: str,
        patch: str | None = None,
        new_content: Any = None,
        test_requirements: list[str] | None = None,
    ) -> dict[str, Any]:
        """Sign and submit a revision of an open proposal: `patch` (against the target's
        current version) or `new_content` (the whole new content; the patch is made here).
        Returns {id, patch_hash, status, url, change}."""
        replaced = self.status(proposal_id)
        return self.propose(
            private_key=private_key,
            target=replaced["target"],
            reasoning=reasoning,
            patch=patch,
            new_content=new_content,
            test_requirements=test_requirements,
            revises=replaced["patch_hash"],
        )

    def rebase_and_revise(
        self,
        proposal_id: int,
        *,
        private_key: Ed25519PrivateKey,
        reasoning: str,
        test_requirements: list[str] | None = None,
    ) -> dict[str, Any]:
        """Fetch the rebase of a stale proposal and sign it as its revision (ApiError 409
        `rebase-conflict` when it no longer applies: revise it by hand then)."""
        replaced = self.status(proposal_id)
        rebased = self.rebase(proposal_id)
        return self.propose(
            private_key=private_key,
            target=replaced["target"],
            reasoning=reasoning,
            patch=rebased["patch"],
            test_requirements=test_requirements,
            revises=replaced["patch_hash"],
            base_version=rebased["base_version"],
        )
