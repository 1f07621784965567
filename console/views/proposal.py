"""A proposal's page: what and why, the live test gate, findings, diff, reviews and the decision."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.diffs import Diff
from console.forms import DecisionForm, comments_from_post
from console.live import POLL_INTERVAL_S, live_etag, not_modified, with_etag
from console.revision_selectors import revisions_view
from console.selectors import (
    ProposalPage,
    awaiting_count,
    gate_finished,
    gate_of,
    proposal_neighbours,
    proposal_page,
)
from console.templatetags.revision_tags import and_list
from console.views.access import Viewer, console_view, is_htmx, proposal_for, viewer_of
from console.views.diffing import page_diff, wants_diff_partial
from console.views.reviewing import ReviewFailed, decide, may_withdraw, refusal_for, withdraw
from console.wording import first_line
from patches.models import Proposal, ProposalStatus, TargetVersion


def _page_context(
    request: HttpRequest,
    viewer: Viewer,
    page: ProposalPage,
    form: DecisionForm | None = None,
    *,
    with_diff: bool = True,
) -> dict[str, Any]:
    proposal = page.proposal
    refusal = refusal_for(viewer=viewer, proposal=proposal)
    if form is None:
        form = DecisionForm(
            initial={
                "patch_hash": proposal.patch_hash,
                "base_content_hash": proposal.base_content_hash,
            }
        )
    return {
        "p": proposal,
        "page": page,
        "form": form,
        "refusal": refusal,
        "gate_finished": gate_finished(proposal, page.run),
        "diff": _diff_of(request, page) if with_diff else None,
        "etag": live_etag(request, viewer, f"proposal:{proposal.pk}"),
        "poll_interval_s": POLL_INTERVAL_S,
        "neighbours": proposal_neighbours(viewer, proposal),
        "may_withdraw": may_withdraw(viewer=viewer, proposal=proposal),
        "waiting": awaiting_count(viewer),
        "revs": revisions_view(proposal, user=viewer.user),
        "viewer_is_admin": viewer.is_admin,
    }


def _diff_of(request: HttpRequest, page: ProposalPage) -> Diff | None:
    candidate = page.candidate
    if candidate.base is None or candidate.content is None:
        return None  # the page shows the raw patch and why instead
    return page_diff(
        request,
        old=candidate.base.content,
        new=candidate.content,
        patch_type=page.proposal.patch_type,
        patch=page.proposal.patch,
    )


@require_http_methods(["GET", "POST"])
@console_view
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    viewer = viewer_of(request)
    proposal = proposal_for(viewer, proposal_id)
    if request.method == "GET":
        page = proposal_page(proposal)
        if wants_diff_partial(request):
            return render(request, "console/diff.html", {"diff": _diff_of(request, page)})
        return render(request, "console/proposal.html", _page_context(request, viewer, page))

    form = DecisionForm(request.POST)
    comments, comment_error = comments_from_post(request.POST)
    if comment_error:
        form.is_valid()
        form.add_error(None, comment_error)
        status = 400
    elif form.is_valid():
        # Said before the click on the page; named again after it.
        would_stale = revisions_view(proposal, user=viewer.user).would_make_stale
        try:
            decide(viewer=viewer, proposal=proposal, comments=comments, **form.cleaned_data)
        except ReviewFailed as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            message = _decision_message(proposal, form.cleaned_data["decision"])
            messages.success(request, message + _stale_message(would_stale))
            if request.GET.get("then") == "next":
                return _next_waiting(request, viewer, proposal)
            return redirect("proposal", proposal_id=proposal.pk)
    else:
        status = 400
    page = proposal_page(proposal_for(viewer, proposal_id))
    return render(
        request, "console/proposal.html", _page_context(request, viewer, page, form), status=status
    )


def _stale_message(would_stale: list[Proposal]) -> str:
    stale = Proposal.objects.filter(
        pk__in=[other.pk for other in would_stale], status=ProposalStatus.STALE
    ).order_by("pk")
    names = [f"#{other.pk}" for other in stale]
    if not names:
        return ""
    verb = "is" if len(names) == 1 else "are"
    return f" {and_list(names)} {verb} now stale: their agents can rebase them."


def _decision_message(proposal: Proposal, decision: str) -> str:
    proposal.refresh_from_db()
    label = {"approve": "Approved", "reject": "Rejected"}.get(decision, "Requested changes on")
    if decision == "request_changes":
        return f"{label} #{proposal.pk}: your review is recorded and its agent is asked for a revision."
    if proposal.status == ProposalStatus.APPLIED:
        produced = TargetVersion.objects.get(proposal=proposal)
        return f"{label} #{proposal.pk}: applied as v{produced.version} of {proposal.target.name}."
    if proposal.status == ProposalStatus.REJECTED and proposal.stage == "apply":
        return f"{label} #{proposal.pk}, but it could not apply: {first_line(proposal.reason)}"
    if proposal.status == ProposalStatus.IN_REVIEW:
        return f"{label} #{proposal.pk}: it still needs more approvals."
    return f"{label} #{proposal.pk}."


def _next_waiting(request: HttpRequest, viewer: Viewer, decided: Proposal) -> HttpResponse:
    """After "Approve & next" / "Reject & next": the next proposal waiting for this person."""
    following = proposal_neighbours(viewer, decided).next
    if following is None:
        messages.info(request, "Nothing else waits for your review.")
        return redirect("inbox")
    return redirect("proposal", proposal_id=following)


@require_GET
@console_view
def proposal_gate(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The gate partial that the page polls every second until the run ends."""
    proposal = proposal_for(viewer_of(request), proposal_id)
    run, results = gate_of(proposal)
    finished = gate_finished(proposal, run)
    if finished and is_htmx(request):
        # The run just ended under the reviewer's eyes: the panel, and out of band the status,
        # findings, impact, decision box, timeline and nav count it changed; no reload.
        context = _page_context(request, viewer_of(request), proposal_page(proposal))
        return render(request, "console/partials/gate_finished.html", context)
    context = {"p": proposal, "run": run, "results": results, "gate_finished": finished}
    return render(request, "console/partials/gate.html", context)


@require_POST
@console_view
def proposal_withdraw_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The person who asked for a revert takes it back."""
    viewer = viewer_of(request)
    proposal = proposal_for(viewer, proposal_id)
    try:
        withdraw(viewer=viewer, proposal=proposal)
    except ReviewFailed as exc:
        messages.error(request, f"Could not withdraw #{proposal.pk}: {exc}.")
        context = _page_context(request, viewer, proposal_page(proposal))
        return render(request, "console/proposal.html", context, status=409)
    messages.success(request, f"Withdrew #{proposal.pk}.")
    return redirect("proposal", proposal_id=proposal.pk)


@require_GET
@console_view
def proposal_live(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The open page's poll: 304 while nothing changed, else the status, reviews and timeline
    out of band, and the decision box only when whether this person may decide has changed
    (so a reason being typed is never wiped while it can still be sent)."""
    viewer = viewer_of(request)
    proposal = proposal_for(viewer, proposal_id)
    etag = live_etag(request, viewer, f"proposal:{proposal.pk}")
    if unchanged := not_modified(request, etag):
        return unchanged
    context = _page_context(request, viewer, proposal_page(proposal), with_diff=False)
    decidable = context["refusal"] is None
    context["decision_changed"] = decidable != (request.GET.get("decidable") == "1")
    response = render(request, "console/partials/proposal_live.html", context)
    return with_etag(response, etag)
