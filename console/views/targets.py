"""Targets: the list, one target's content and history, comparing versions, and reverts."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console.label_selectors import target_label_context
from console.selectors import pretty_content, target_history, target_open_proposals, target_rows
from console.views.access import console_view, target_for, target_version_for, viewer_of
from console.views.diffing import page_diff, wants_diff_partial


@require_GET
@console_view
def target_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "console/targets.html", {"targets": list(target_rows(viewer_of(request)))}
    )


@require_GET
@console_view
def target_detail(request: HttpRequest, name: str) -> HttpResponse:
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    history = target_history(target)
    current = next((v for v in history if v.version == target.version), None)
    from audit.access import revert_refusal
    from audit.revert import revert_blocker

    if current is not None:
        for version in history:
            version.revert_blocker = revert_blocker(version=version, current=current)  # type: ignore[attr-defined]
    context = {
        "target": target,
        "current": current,
        "content": pretty_content(current.content, target.content_kind) if current else "",
        "history": history,
        "open_proposals": target_open_proposals(target),
        "revert_refusal": revert_refusal(user=viewer.user, target=target),
        **target_label_context(viewer, target),
    }
    return render(request, "console/target.html", context)


MAX_VERSION = 2**63 - 1  # a version number is a 64-bit integer in the database


def _version_number(raw: str | None, default: int) -> int:
    try:
        number = int(raw) if raw else default
    except ValueError:
        return default
    # Out of range (negative, or past 64 bits): no URL names it, so the default instead.
    return number if 1 <= number <= MAX_VERSION else default


@require_GET
@console_view
def target_compare(request: HttpRequest, name: str) -> HttpResponse:
    """?from=1&to=3 → the versions' own URL, whose diff links (?mode=…) keep both versions."""
    target = target_for(viewer_of(request), name)
    old_n = _version_number(request.GET.get("from"), max(1, target.version - 1))
    new_n = _version_number(request.GET.get("to"), target.version)
    url = reverse("target-compare-versions", args=[target.name, old_n, new_n])
    mode = request.GET.get("mode")
    return redirect(f"{url}?mode={mode}" if mode in ("unified", "split") else url)


@require_GET
@console_view
def target_compare_versions(request: HttpRequest, name: str, old: int, new: int) -> HttpResponse:
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    old_version = target_version_for(viewer, target, old)
    new_version = target_version_for(viewer, target, new)
    diff = page_diff(
        request, old=old_version.content, new=new_version.content, patch_type=target.patch_type
    )
    if wants_diff_partial(request):
        return render(request, "console/diff.html", {"diff": diff})
    context = {
        "target": target,
        "old": old_version,
        "new": new_version,
        "versions": list(range(1, target.version + 1)),
        "diff": diff,
    }
    return render(request, "console/compare.html", context)


@require_POST
@console_view
def target_revert(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """Propose the inverse of an applied version; the new proposal goes through both gates."""
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    produced = target_version_for(viewer, target, version)
    from audit.revert import revert_propose

    try:
        proposal = revert_propose(
            version=produced, user=viewer.user, reason=request.POST.get("reason", "")
        )
    except ValueError as exc:
        messages.error(
            request, f"Could not propose a revert of v{version}: {str(exc).rstrip('.')}."
        )
        return redirect("target", name=target.name)
    messages.success(request, f"Proposed restoring v{version - 1} as #{proposal.pk}.")
    return redirect("proposal", proposal_id=proposal.pk)
