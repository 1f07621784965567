"""Who may use the console and see what: roles, the console_view gate, one access helper per type.

Who is an admin and who is a reviewer is audit.access's to say. A target with owners is
reviewed by its owners only, so group reviewers neither see nor review it; admins see
everything. Agents have no Django users, hence no console access at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from audit.access import is_admin, is_reviewer
from patches.models import Agent, Proposal, Target, TargetVersion


@dataclass(frozen=True)
class Viewer:
    """The signed-in person and their roles, computed once per request."""

    user: Any
    is_admin: bool
    is_reviewer: bool
    owned_target_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_owner(self) -> bool:
        return bool(self.owned_target_ids)

    @property
    def may_use_console(self) -> bool:
        return self.is_admin or self.is_reviewer or self.is_owner

    @property
    def roles(self) -> list[str]:
        flags = (("admin", self.is_admin), ("owner", self.is_owner), ("reviewer", self.is_reviewer))
        return [name for name, held in flags if held]

    @property
    def actor(self) -> str:
        return f"user:{self.user.get_username()}"


def viewer_of(request: HttpRequest) -> Viewer:
    cached = getattr(request, "_console_viewer", None)
    if cached is not None:
        return cached
    user: Any = request.user
    if not user.is_authenticated or not user.is_active:
        viewer = Viewer(user=user, is_admin=False, is_reviewer=False)
    else:
        viewer = Viewer(
            user=user,
            is_admin=is_admin(user),
            is_reviewer=is_reviewer(user),
            owned_target_ids=frozenset(user.owned_targets.values_list("pk", flat=True)),
        )
    request._console_viewer = viewer  # type: ignore[attr-defined]
    return viewer


View = Callable[..., HttpResponse]


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap (django-htmx's request.htmx), or None."""
    details = getattr(request, "htmx", None)
    return details.target if details else None


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def console_view(view: View) -> View:
    """Anonymous → login page; signed in without a console role → 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not viewer_of(request).may_use_console:
            raise PermissionDenied("The console is for reviewers, target owners and admins.")
        return view(request, *args, **kwargs)

    return wrapped


def admin_view(view: View) -> View:
    """Console pages for admins only (agents and keys): 403 for everyone else."""

    @console_view
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not viewer_of(request).is_admin:
            raise PermissionDenied("Only admins manage agents and keys.")
        return view(request, *args, **kwargs)

    return wrapped


def visible_targets(viewer: Viewer) -> QuerySet[Target]:
    if viewer.is_admin:
        return Target.objects.all()
    owned = Q(pk__in=viewer.owned_target_ids)
    if not viewer.is_reviewer:
        return Target.objects.filter(owned)
    unowned = ~Q(pk__in=Target.owners.through.objects.values("target_id"))
    return Target.objects.filter(owned | unowned)


def visible_proposals(viewer: Viewer) -> QuerySet[Proposal]:
    if viewer.is_admin:
        return Proposal.objects.all()
    return Proposal.objects.filter(target__in=visible_targets(viewer))


# The same 404 for "missing" and "not yours", so ids and names cannot be probed.
def proposal_for(viewer: Viewer, proposal_id: int) -> Proposal:
    proposal = (
        visible_proposals(viewer)
        .select_related("target", "agent", "submitted_by", "reverts")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise Http404(f"No proposal #{proposal_id} that you can see.")
    return proposal


def target_for(viewer: Viewer, name: str) -> Target:
    target = visible_targets(viewer).filter(name=name).first()
    if target is None:
        raise Http404(f"No target {name!r} that you can see.")
    return target


def target_version_for(viewer: Viewer, target: Target, version: int) -> TargetVersion:
    found = TargetVersion.objects.filter(target=target, version=version).first()
    if found is None or not visible_targets(viewer).filter(pk=target.pk).exists():
        raise Http404(f"No version {version} of {target.name}.")
    found.target = target
    return found


def agent_for(viewer: Viewer, name: str) -> Agent:
    agent = Agent.objects.filter(name=name).first() if viewer.is_admin else None
    if agent is None:
        raise Http404(f"No agent {name!r}.")
    return agent
