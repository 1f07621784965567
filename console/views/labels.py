"""Target page forms for labels: request a move (promotion, rollback, rollout step), approve
one, and (admins) create a label. Each posts back to the target page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from audit.label_moves import (
    LabelMoveRefused,
    label_move_approve,
    label_move_request,
    label_move_withdraw,
)
from audit.models import LabelMoveRequest
from console.forms_labels import LabelCreateForm, LabelMoveForm
from console.views.access import console_view, target_for, viewer_of
from patches.labels import LabelError, label_create
from patches.models import Label, Target


def _move_on(target: Target, request_id: int) -> LabelMoveRequest:
    """The target's move request, or the same 404 for missing and another target's."""
    move = (
        LabelMoveRequest.objects.select_related("label", "requested_by")
        .filter(pk=request_id, label__target=target)
        .first()
    )
    if move is None:
        raise Http404(f"No move request #{request_id} on {target.name}.")
    move.label.target = target
    return move


def _errors(form: LabelMoveForm | LabelCreateForm) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@require_POST
@console_view
def label_move_view(request: HttpRequest, name: str) -> HttpResponse:
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    form = LabelMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The label did not move: {_errors(form)}")
        return redirect("target", name=target.name)
    label = Label.objects.filter(target=target, name=form.cleaned_data["label"]).first()
    if label is None:
        messages.error(request, f"{target.name} has no label {form.cleaned_data['label']!r}.")
        return redirect("target", name=target.name)
    label.target = target
    try:
        move = label_move_request(
            label=label,
            to_version=form.cleaned_data["version"],
            percent=form.cleaned_data["percent"] or 100,
            reason=form.cleaned_data["reason"],
            user=viewer.user,
        )
    except LabelMoveRefused as exc:
        messages.error(request, f"The label did not move: {exc}")
        return redirect("target", name=target.name)
    if move.status == "moved":
        messages.success(request, f"Moved {label.name} to v{move.to_version}.")
    else:
        messages.success(
            request,
            f"Requested moving {label.name} to v{move.to_version}: it moves once "
            f"{move.approvals_required} other reviewer(s) approve.",
        )
    return redirect("target", name=target.name)


@require_POST
@console_view
def label_approve_view(request: HttpRequest, name: str, request_id: int) -> HttpResponse:
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    move = _move_on(target, request_id)
    try:
        move = label_move_approve(move=move, user=viewer.user)
    except LabelMoveRefused as exc:
        messages.error(request, f"Not approved: {exc}")
        return redirect("target", name=target.name)
    if move.status == "moved":
        messages.success(request, f"Approved: {move.label.name} moved to v{move.to_version}.")
    else:
        messages.success(request, "Approved; the move waits for more approvals.")
    return redirect("target", name=target.name)


@require_POST
@console_view
def label_withdraw_view(request: HttpRequest, name: str, request_id: int) -> HttpResponse:
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    move = _move_on(target, request_id)
    try:
        label_move_withdraw(move=move, user=viewer.user)
    except LabelMoveRefused as exc:
        messages.error(request, f"Not withdrawn: {exc}")
        return redirect("target", name=target.name)
    messages.success(request, f"Withdrew the request to move {move.label.name}.")
    return redirect("target", name=target.name)


@require_POST
@console_view
def label_create_view(request: HttpRequest, name: str) -> HttpResponse:
    viewer = viewer_of(request)
    target = target_for(viewer, name)
    if not viewer.is_admin:
        raise PermissionDenied("Only admins create labels.")
    form = LabelCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No label created: {_errors(form)}")
        return redirect("target", name=target.name)
    try:
        label = label_create(
            target=target,
            name=form.cleaned_data["name"],
            approvals=form.cleaned_data["approvals"],
            actor=viewer.actor,
        )
    except LabelError as exc:
        messages.error(request, f"No label created: {exc}")
        return redirect("target", name=target.name)
    messages.success(request, f"Created label {label.name} at v{label.version}.")
    return redirect("target", name=target.name)
