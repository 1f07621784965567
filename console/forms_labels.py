"""Forms of the target page's label controls: Move label and (admins) a new label."""

from __future__ import annotations

from django import forms

MAX_VERSION = 2**63 - 1


class LabelMoveForm(forms.Form):
    label = forms.SlugField(max_length=50)
    version = forms.IntegerField(min_value=1, max_value=MAX_VERSION)
    percent = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100,
        help_text="Serve the version to this share of instances (a staged rollout); empty: 100.",
    )
    reason = forms.CharField(
        label="Reason",
        strip=True,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write a reason: every label move is recorded with one."},
    )


class LabelCreateForm(forms.Form):
    name = forms.SlugField(max_length=50)
    approvals = forms.IntegerField(
        required=False, min_value=0, max_value=100, help_text="empty: the target's approvals"
    )
