"""Forms of the console pages: inbox and event filters, the review decision."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from audit.models import Decision
from console.selectors import AWAITING, INBOX_STATUSES
from patches.models import PatchType

MAX_ID = 2**63 - 1

STATUS_LABELS = {
    AWAITING: "Awaiting my review",
    "testing": "Testing",
    "in_review": "In review (all)",
    "changes_requested": "Changes requested",
    "stale": "Stale",
    "superseded": "Superseded",
    "applied": "Applied",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "all": "All",
}


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s, STATUS_LABELS[s]) for s in INBOX_STATUSES], required=False
    )
    type = forms.ChoiceField(choices=[("", "Any type"), *PatchType.choices], required=False)
    target = forms.ChoiceField(choices=[("", "Any target")], required=False)
    agent = forms.ChoiceField(choices=[("", "Any agent")], required=False)
    q = forms.CharField(
        label="Patch hash", required=False, max_length=71, strip=True,
        widget=forms.TextInput(attrs={"placeholder": "sha256:… prefix", "autocomplete": "off"}),
    )  # fmt: skip

    def __init__(self, *args: object, targets: list[str], agents: list[str], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["target"].choices = [("", "Any target"), *((t, t) for t in targets)]  # type: ignore[attr-defined]
        self.fields["agent"].choices = [("", "Any agent"), *((a, a) for a in agents)]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, str]:
        """The chosen filters; unknown values count as "not filtered" rather than an error page."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "status": data.get("status") or AWAITING,
            "patch_type": data.get("type") or "",
            "target": data.get("target") or "",
            "agent": data.get("agent") or "",
            "hash_prefix": data.get("q") or "",
        }


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        strip=True,
        max_length=10_000,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "Why approve, reject or request changes?"}
        ),
        error_messages={"required": "Write a reason: every decision is recorded with one."},
    )
    decision = forms.ChoiceField(choices=Decision.choices)
    patch_hash = forms.CharField(widget=forms.HiddenInput, max_length=71)
    base_content_hash = forms.CharField(widget=forms.HiddenInput, max_length=71)


MAX_DRAFT_COMMENTS = 100
MAX_ANCHOR_CHARS = 2_000


def comments_from_post(data: Any) -> tuple[list[dict[str, Any]], str]:
    """The drafted line comments posted with a decision ([{anchor, body}]) and an error, if any.

    Anchors arrive as JSON text (static/console/review_comments.js); audit.review_comments
    checks what they point at."""
    anchors, bodies = data.getlist("comment_anchor"), data.getlist("comment_body")
    if len(anchors) != len(bodies):
        return [], "Each comment needs its line: reload the page and draft it again."
    if len(anchors) > MAX_DRAFT_COMMENTS:
        return [], f"A review may carry at most {MAX_DRAFT_COMMENTS} comments."
    comments = []
    for anchor, body in zip(anchors, bodies, strict=True):
        if len(anchor) > MAX_ANCHOR_CHARS:
            return [], "A comment's anchor is too long."
        try:
            comments.append({"anchor": json.loads(anchor), "body": body})
        except ValueError:
            return [], "A comment's anchor is not readable: reload the page and draft it again."
    return comments, ""


class EventFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Any kind")], required=False)
    # A proposal id is a 64-bit integer in the database: larger numbers are a form error.
    proposal = forms.IntegerField(label="Proposal #", required=False, min_value=1, max_value=MAX_ID)

    def __init__(self, *args: object, kinds: list[str], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["kind"].choices = [("", "Any kind"), *((k, k) for k in kinds)]  # type: ignore[attr-defined]
