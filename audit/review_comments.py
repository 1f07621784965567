"""Comments of a review, anchored in the diff the reviewer saw; checked before anything is stored.

Anchors (DESIGN.md): `{"side": "old" | "new", "line": N}` for text targets, N a line of that
side (the base, or the proposed content); `{"pointer": "/json/pointer"}` for JSON targets, a
pointer that names a value in the base or in the proposed content.
"""

from __future__ import annotations

from typing import Any

import jsonpointer

from audit.revisions import change_of
from patches.canonical import parse_json
from patches.formats.unified_diff import split_lines
from patches.models import Proposal

MAX_COMMENTS = 100
MAX_COMMENT_CHARS = 5_000
MAX_POINTER_CHARS = 1_000


def _resolves(document: Any, pointer: str) -> bool:
    try:
        jsonpointer.JsonPointer(pointer).resolve(document)
    except (jsonpointer.JsonPointerException, KeyError, IndexError, TypeError):
        return False
    return True


def comments_validate(
    *, proposal: Proposal, comments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The comments as stored and logged ([{anchor, body}]), or ValueError saying which one is
    wrong and why."""
    if not comments:
        return []
    if len(comments) > MAX_COMMENTS:
        raise ValueError(f"A review may carry at most {MAX_COMMENTS} comments.")
    change = change_of(proposal)
    if change is None:
        raise ValueError("This proposal's diff cannot be shown, so it cannot be commented on.")
    text = proposal.target.content_kind == "text"
    if text:
        counts = {"old": len(split_lines(change.base)), "new": len(split_lines(change.result))}
    else:
        documents = (parse_json(change.base), parse_json(change.result))
    anchored = []
    for number, comment in enumerate(comments, start=1):
        body = comment.get("body")
        anchor = comment.get("anchor")
        where = f"Comment {number}"
        if not isinstance(body, str) or not body.strip():
            raise ValueError(f"{where} is empty: write what should change.")
        if len(body) > MAX_COMMENT_CHARS or "\x00" in body:
            raise ValueError(f"{where} is over {MAX_COMMENT_CHARS} characters or holds a NUL.")
        if not isinstance(anchor, dict):
            raise ValueError(f"{where} has no anchor.")
        if text:
            side, line = anchor.get("side"), anchor.get("line")
            if set(anchor) != {"side", "line"} or side not in counts:
                raise ValueError(f"{where}: a text anchor is {{side: old | new, line}}.")
            if isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= counts[side]:
                raise ValueError(
                    f"{where}: line {line!r} is not a line of the {side} side (1..{counts[side]})."
                )
            anchored.append({"anchor": {"side": side, "line": line}, "body": body.strip()})
        else:
            pointer = anchor.get("pointer")
            if set(anchor) != {"pointer"} or not isinstance(pointer, str):
                raise ValueError(f"{where}: a JSON anchor is {{pointer}}.")
            if len(pointer) > MAX_POINTER_CHARS or not any(
                _resolves(document, pointer) for document in documents
            ):
                raise ValueError(
                    f"{where}: {pointer[:80]!r} names no value of the base or the proposal."
                )
            anchored.append({"anchor": {"pointer": pointer}, "body": body.strip()})
    return anchored
