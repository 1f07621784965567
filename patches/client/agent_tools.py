"""What the MCP server's tools do, as plain synchronous calls (the MCP adapter is mcp_server.py).

Every patch is made and signed here, on the agent's machine: the private key is read from a
file and only signatures leave. A proposal is made against the version the agent last read
with `read_target` (or, when it read none, the target's current version), so the console's
`base_version` check catches a target that moved in between. No tool decides a proposal or
moves a label: the API offers an agent token neither, and this module asks for neither.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from patches.client import (
    AgentClient,
    make_json_patch,
    make_proposal,
    make_unified_diff,
    sign_proposal,
)
from patches.client.sdk import TargetReader

OPEN = frozenset({"testing", "in_review", "changes_requested", "stale"})
# DESIGN.md: "Prompt targets are also MCP prompts" (a choice by patch type, made by the
# contract; how to patch a target is read from its content, never from its type).
MCP_PROMPT_TYPE = "Prompt"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ToolInputError(ValueError):
    """The arguments cannot make a proposal (both or neither of content and patch, no change…)."""


class AgentTools:
    def __init__(
        self, *, client: AgentClient, private_key: Ed25519PrivateKey, reader: TargetReader
    ) -> None:
        self.client = client
        self.private_key = private_key
        self.reader = reader
        self._read: dict[str, dict[str, Any]] = {}  # target name -> the body last read

    # --- reading --------------------------------------------------------------------------

    def list_targets(self) -> list[dict[str, Any]]:
        return self.client._call("GET", "/targets").json()  # type: ignore[no-any-return]

    def read_target(self, *, name: str, label: str | None = None) -> dict[str, Any]:
        path = f"/targets/{_quote(name)}"
        if label:
            path += "?" + urllib.parse.urlencode({"label": label})
        body: dict[str, Any] = self.client._call("GET", path).json()
        self._read[name] = body
        return body

    def _current(self, name: str) -> dict[str, Any]:
        """The target's newest version: what a proposal's base_version must be."""
        listed = {row["name"]: row for row in self.list_targets()}
        if name not in listed:
            # Ask for it by name, so the console's own "unknown target" problem comes back.
            self.client._call("GET", f"/targets/{_quote(name)}")
            raise ToolInputError(f"no target named {name!r}")
        version = listed[name]["version"]
        return self.client.target_version(name, version)

    # --- proposing ------------------------------------------------------------------------

    def propose_patch(
        self,
        *,
        target: str,
        reasoning: str,
        content: str | None = None,
        patch: str | None = None,
        tests: list[str] | None = None,
    ) -> dict[str, Any]:
        base = self._read.get(target) or self._current(target)
        made = self._patch_against(base, content=content, patch=patch)
        proposal = make_proposal(
            target=target,
            patch_type=base["patch_type"],
            base_version=base["version"],
            patch=made,
            reasoning=reasoning,
            test_requirements=tests,
        )
        return self._submit(proposal)

    def revise_proposal(
        self,
        *,
        id: int,
        reasoning: str,
        content: str | None = None,
        patch: str | None = None,
        tests: list[str] | None = None,
    ) -> dict[str, Any]:
        """A signed revision of an open proposal, on the target's current version. With neither
        content nor patch, the console's rebase of a stale proposal is signed as it is."""
        state = self.client.status(id)
        if state["status"] not in OPEN:
            raise ToolInputError(
                f"proposal {id} is {state['status']}; only an open proposal "
                f"({', '.join(sorted(OPEN))}) can be revised"
            )
        if content is None and patch is None:
            rebased = self.client.rebase(id)
            base_version, made = rebased["base_version"], rebased["patch"]
        else:
            current = self._current(state["target"])
            base_version = current["version"]
            made = self._patch_against(current, content=content, patch=patch)
        if tests is None:
            tests = [test["name"] for test in state.get("tests") or []]
        proposal = make_proposal(
            target=state["target"],
            patch_type=state["patch_type"],
            base_version=base_version,
            patch=made,
            reasoning=reasoning,
            test_requirements=tests,
            revises=state["patch_hash"],  # covered by the signature like every other field
        )
        return self._submit(proposal)

    def proposal_status(self, *, id: int) -> dict[str, Any]:
        return self.client.proposal_status(id)

    def withdraw_proposal(self, *, id: int) -> dict[str, Any]:
        return self.client.withdraw(id)

    def _submit(self, proposal: dict[str, Any]) -> dict[str, Any]:
        submitted = self.client.submit(sign_proposal(self.private_key, proposal))
        return {**submitted, "base_version": proposal["base_version"], "patch": proposal["patch"]}

    @staticmethod
    def _patch_against(base: dict[str, Any], *, content: str | None, patch: str | None) -> str:
        if (content is None) == (patch is None):
            raise ToolInputError("give exactly one of content (the whole new content) or patch")
        if patch is not None:
            return patch
        assert content is not None
        old = base["content"]
        # The wire says how to patch: text content comes as a string, JSON content as a value.
        if isinstance(old, str):
            made = make_unified_diff(old, content)
        else:
            try:
                new = json.loads(content)
            except ValueError as exc:
                raise ToolInputError(
                    f"{base['name']} holds JSON: content must be JSON text ({exc})"
                ) from None
            made = make_json_patch(old, new)
        if made in ("", "[]"):
            raise ToolInputError(
                f"content is the same as {base['name']} version {base['version']}: nothing to propose"
            )
        return made

    # --- prompts --------------------------------------------------------------------------

    def prompt_targets(self) -> list[dict[str, Any]]:
        return [row for row in self.list_targets() if row.get("patch_type") == MCP_PROMPT_TYPE]

    def prompt_text(self, name: str, arguments: dict[str, str] | None = None) -> tuple[str, int]:
        """A Prompt target's text (through the SDK: cached, and served from the last good copy
        while the console is down), with the {placeholder}s named in `arguments` filled in."""
        copy = self.reader.get_target(name)
        if copy.patch_type != MCP_PROMPT_TYPE or not isinstance(copy.content, str):
            raise ToolInputError(f"{name} is a {copy.patch_type} target, not a Prompt")
        given = arguments or {}
        text = PLACEHOLDER.sub(lambda m: given.get(m.group(1), m.group(0)), copy.content)
        return text, copy.version or 0


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")
