"""Creating reviewer accounts: the reviewers group, admin rights and target ownership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.access import REVIEWERS_GROUP
from patches.log import event_append
from patches.models import Target


class ReviewerError(ValueError):
    """A reviewer account that cannot be created as asked; the message says what to change."""


@dataclass(frozen=True)
class NewReviewer:
    user: AbstractUser
    roles: list[str]


def reviewer_create(
    *, username: str, password: str, admin: bool = False, owner_of: Sequence[str] = (), actor: str
) -> NewReviewer:
    """A person in the reviewers group; admins also get is_staff/is_superuser; owners own targets."""
    user_model = get_user_model()
    if not username.strip():
        raise ReviewerError("a username is required")
    if user_model.objects.filter(username=username).exists():
        raise ReviewerError(f"user {username!r} already exists")
    if not password:
        raise ReviewerError("set the password in the REVIEWER_PASSWORD environment variable")
    names = list(dict.fromkeys(name.strip() for name in owner_of if name.strip()))
    targets = list(Target.objects.filter(name__in=names))
    missing = sorted(set(names) - {t.name for t in targets})
    if missing:
        raise ReviewerError(f"unknown targets: {', '.join(missing)}")
    candidate = user_model(username=username)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ReviewerError("password refused: " + " ".join(exc.messages)) from exc
    roles = ["reviewer"] + (["admin"] if admin else []) + [f"owner:{t.name}" for t in targets]
    with transaction.atomic():
        user = user_model.objects.create_user(
            username=username, password=password, is_staff=admin, is_superuser=admin
        )
        group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
        user.groups.add(group)
        for target in targets:
            target.owners.add(user)
        # Who may approve patches is part of the audit trail.
        event_append(
            kind="ReviewerCreated", actor=actor, payload={"username": username, "roles": roles}
        )
    return NewReviewer(user=user, roles=roles)
