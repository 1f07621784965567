"""The reviewer_create command: roles as JSON, clear refusals on bad input."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from patches.models import Event
from tests.auditgate.conftest import routing_target

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def run(*args: str) -> dict[str, object]:
    out = StringIO()
    call_command("reviewer_create", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_creates_a_reviewer_in_the_reviewers_group(monkeypatch):
    monkeypatch.setenv("REVIEWER_PASSWORD", PASSWORD)
    assert run("rita") == {"username": "rita", "roles": ["reviewer"]}
    rita = User.objects.get(username="rita")
    assert rita.check_password(PASSWORD)
    assert list(rita.groups.values_list("name", flat=True)) == ["reviewers"]
    assert not rita.is_superuser
    assert Event.objects.get(kind="ReviewerCreated").payload_value == {
        "username": "rita",
        "roles": ["reviewer"],
    }


def test_it_creates_an_admin_who_owns_targets(monkeypatch):
    monkeypatch.setenv("REVIEWER_PASSWORD", PASSWORD)
    routing_target("router")
    routing_target("fallback")
    assert run("ada", "--admin", "--owner-of", "router,fallback") == {
        "username": "ada",
        "roles": ["reviewer", "admin", "owner:fallback", "owner:router"],
    }
    ada = User.objects.get(username="ada")
    assert ada.is_superuser and ada.is_staff
    assert sorted(ada.owned_targets.values_list("name", flat=True)) == ["fallback", "router"]


@pytest.mark.parametrize(
    ("password", "args", "message"),
    [
        ("", ["rita"], "REVIEWER_PASSWORD is not set"),
        (PASSWORD, ["rita", "--owner-of", "router,nowhere"], "unknown targets: nowhere"),
        (PASSWORD, ["taken"], "user 'taken' already exists"),
        ("short", ["rita"], "password refused: This password is too short"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(monkeypatch, password, args, message):
    monkeypatch.setenv("REVIEWER_PASSWORD", password)
    routing_target("router")
    User.objects.create_user("taken")
    with pytest.raises(CommandError, match=message):
        call_command("reviewer_create", *args, stdout=StringIO())
    assert not User.objects.filter(username="rita").exists()


def test_it_exits_non_zero_from_the_command_line(monkeypatch):
    monkeypatch.delenv("REVIEWER_PASSWORD", raising=False)
    with pytest.raises(SystemExit) as exited:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "reviewer_create", "rita"])
    assert exited.value.code == 1
