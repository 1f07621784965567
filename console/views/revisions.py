"""A change's pages: the interdiff between two revisions, and an admin withdrawing a request."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit.models import Review
from audit.revisions import RequestWithdrawRefused, change_request_withdraw
from console.selectors import candidate_of
from console.views.access import (
    admin_view,
    console_view,
    proposal_for,
    viewer_of,
    visible_proposals,
)
from console.views.diffing import page_diff, wants_diff_partial

MAX_REVISION = 2**31 - 1


def _revision_number(value: str | None, default: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if 1 <= number <= MAX_REVISION else default


@require_GET
@console_view
def proposal_interdiff(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """?from=1&to=3 → the revisions' own URL, whose diff links (?mode=…) keep both."""
    proposal = proposal_for(viewer_of(request), proposal_id)
    old = _revision_number(request.GET.get("from"), max(1, proposal.revision - 1))
    new = _revision_number(request.GET.get("to"), proposal.revision)
    return redirect(reverse("proposal-interdiff-revisions", args=[proposal.pk, old, new]))


@require_GET
@console_view
def proposal_interdiff_revisions(
    request: HttpRequest, proposal_id: int, old: int, new: int
) -> HttpResponse:
    viewer = viewer_of(request)
    proposal = proposal_for(viewer, proposal_id)
    chain = visible_proposals(viewer).filter(change_id=proposal.change_id).select_related("target")
    revisions = {r.revision: r for r in chain.filter(revision__in=[old, new])}
    if old not in revisions or new not in revisions:
        raise Http404("no such revision of this change")
    before, after = candidate_of(revisions[old]), candidate_of(revisions[new])
    diff = None
    if before.content is not None and after.content is not None:
        diff = page_diff(
            request, old=before.content, new=after.content, patch_type=proposal.patch_type
        )
    if wants_diff_partial(request):
        return render(request, "console/diff.html", {"diff": diff})
    context = {
        "p": proposal,
        "old": revisions[old],
        "new": revisions[new],
        "revisions": list(chain.order_by("revision")),
        "diff": diff,
        "error": before.error or after.error,
    }
    return render(request, "console/interdiff.html", context)


@require_POST
@admin_view
def change_request_withdraw_view(
    request: HttpRequest, proposal_id: int, review_id: int
) -> HttpResponse:
    """An admin lifts a request_changes (with a reason); the change may then apply."""
    viewer = viewer_of(request)
    proposal = proposal_for(viewer, proposal_id)
    review = Review.objects.filter(pk=review_id, proposal=proposal).first()
    if review is None:
        raise Http404("no such review on this proposal")
    try:
        change_request_withdraw(
            review=review, admin=viewer.user, reason=request.POST.get("reason", "")[:10_000]
        )
    except RequestWithdrawRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"The change request of {review.reviewer.get_username()} is withdrawn."
        )
    return redirect("proposal", proposal_id=proposal.pk)
