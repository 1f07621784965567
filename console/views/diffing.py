"""The diff shown on the proposal and compare pages, built by console.diffs from the request."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from console.diffs import Diff, build_diff, describe_json_patch, diff_request_options
from console.views.access import htmx_target
from patches.patch_types import patch_type_spec


def page_diff(
    request: HttpRequest, *, old: str, new: str, patch_type: str, patch: str | None = None
) -> Diff:
    """old → new in the mode, offset and length the query asks for (?mode=, ?diff_offset=)."""
    spec = patch_type_spec(patch_type)
    operations: Any = ()
    if patch is not None and spec.content_kind == "json":  # an RFC 6902 patch, shown op by op
        try:
            operations = describe_json_patch(json.loads(old), patch)
        except ValueError:
            operations = ()  # the raw patch is still on the page
    return build_diff(
        old=old,
        new=new,
        language=spec.diff_language,
        operations=operations,
        **diff_request_options(request.GET),
    )


def wants_diff_partial(request: HttpRequest) -> bool:
    """The diff partial's mode and paging links swap #diff alone."""
    return htmx_target(request) == "diff"
