"""A proposal's page: what and why, the live test gate, findings, diff, reviews and the decision."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from console.diffs import Diff
from console.forms import DecisionForm, comments_from_post
from console.revision_selectors import revisions_view
from console.selectors import ProposalPage, gate_finished, gate_of, proposal_page
from console.templatetags.revision_tags import and_list
from console.views.access import Viewer, console_view, is_htmx, proposal_for, viewer_of
from console.views.diffing import page_diff, wants_diff_partial
from console.views.reviewing import ReviewFailed, decide, refusal_for
from patches.models import Proposal, ProposalStatus, TargetVersion


def _page_context(
    request: HttpRequest, viewer: Viewer, page: ProposalPage, form: DecisionForm | None = None
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
        "diff": _diff_of(request, page),
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
        outcome = f"the quorum is met and the patch was applied as v{produced.version}"
    elif proposal.status == ProposalStatus.REJECTED:
        outcome = f"the proposal is rejected at {proposal.get_stage_display()}"
    else:
        outcome = "it still needs more approvals"
    return f"{label} #{proposal.pk}: your review is recorded and {outcome}."


@require_GET
@console_view
def proposal_gate(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The gate partial that the page polls every second until the run ends."""
    proposal = proposal_for(viewer_of(request), proposal_id)
    run, results = gate_of(proposal)
    finished = gate_finished(proposal, run)
    context = {"p": proposal, "run": run, "results": results, "gate_finished": finished}
    response = render(request, "console/partials/gate.html", context)
    if finished and is_htmx(request):
        # The run just ended under the reviewer's eyes: reload so findings, diff and the
        # decision form reflect the new status (the reloaded partial no longer polls).
        response["HX-Refresh"] = "true"
    return response
