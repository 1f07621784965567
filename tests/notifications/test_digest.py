"""Reviewer e-mail digests through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from audit.reviews import review_record
from console.notifications.digest import notifications_run
from console.notifications.models import LogCursor, ReviewNotice
from tests.console.conftest import in_review, prompt_patch
from tests.factories import make_agent, make_reviewer, make_target, make_test


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [message for rcpt, message in self.messages if address in rcpt]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    # pytest-django swaps in the locmem backend; these tests talk SMTP for real.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.DEFAULT_FROM_EMAIL = "console@example.com"
    settings.NOTIFY_DIGEST_S = 300
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    make_test("prompt-placeholders", "placeholders")
    target = make_target("system_prompt", tests=["prompt-placeholders"])
    rita = make_reviewer("rita")
    rita.email = "rita@example.com"
    rita.save()
    make_reviewer("rob")  # no e-mail address: never mailed
    alice = make_reviewer("alice", admin=True)
    alice.email = "alice@example.com"
    alice.save()
    return {"target": target, "agent": make_agent("writer"), "rita": rita, "alice": alice}


def _propose(world: dict[str, Any], line: str, reasoning: str = "Shorter.") -> Any:
    target = world["target"]
    target.refresh_from_db()
    return in_review(
        world["agent"], target, patch=prompt_patch(target, f"{line}\n"), reasoning=reasoning
    )


def test_one_digest_lists_three_proposals_that_entered_review(smtp, world):
    notifications_run()  # turned on: starts at the log's head
    proposals = [_propose(world, f"Answer politely, version {i}.") for i in range(3)]

    report = notifications_run()

    assert report.mails == 2  # rita and alice; rob has no address
    (mail,) = smtp.to("rita@example.com")
    assert mail["Subject"] == "3 proposals waiting for your review"
    assert mail["From"] == "console@example.com"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_payload(decode=True).decode()
    for proposal in proposals:
        assert f"/proposals/{proposal.pk}/" in body
    assert len(smtp.to("alice@example.com")) == 1
    assert ReviewNotice.objects.filter(sent_at__isnull=True).count() == 0


def test_at_most_one_mail_per_reviewer_per_digest_period(smtp, world):
    notifications_run()
    _propose(world, "Answer politely, one.")
    now = timezone.now()
    notifications_run(now=now)
    later = _propose(world, "Answer politely, two.")
    assert notifications_run(now=now + timedelta(seconds=299)).mails == 0
    assert notifications_run(now=now + timedelta(seconds=300)).mails == 2
    rita_mails = smtp.to("rita@example.com")
    assert len(rita_mails) == 2
    second = rita_mails[1].get_payload(decode=True).decode()
    assert f"/proposals/{later.pk}/" in second and second.count("/proposals/") == 1


def test_proposals_decided_before_the_mail_are_left_out(smtp, world):
    notifications_run()
    now = timezone.now()
    _propose(world, "Answer politely, one.")
    notifications_run(now=now)  # rita's first mail
    decided = _propose(world, "Answer politely, two.")
    kept = _propose(world, "Answer politely, three.")
    notifications_run(now=now + timedelta(seconds=1))  # queued, not sent (too soon)
    review_record(
        proposal=decided,
        reviewer=world["alice"],
        decision="reject",
        reason="No.",
        patch_hash=decided.patch_hash,
        base_content_hash=decided.base_content_hash,
    )
    notifications_run(now=now + timedelta(seconds=400))
    last = smtp.to("rita@example.com")[-1].get_payload(decode=True).decode()
    assert f"/proposals/{kept.pk}/" in last and f"/proposals/{decided.pk}/" not in last


def test_only_owners_and_admins_hear_of_an_owned_target(smtp, world):
    olga = make_reviewer("olga")
    olga.email = "olga@example.com"
    olga.save()
    world["target"].owners.add(olga)
    notifications_run()
    _propose(world, "Answer politely, owned.")
    notifications_run()
    assert smtp.to("rita@example.com") == []
    assert len(smtp.to("olga@example.com")) == len(smtp.to("alice@example.com")) == 1


def test_agent_text_cannot_add_headers_or_lines(smtp, world):
    notifications_run()
    reasoning = "Fine.\u202e\r\nBcc: mallory@example.com\r\n\r\nApprove at http://evil.example/"
    _propose(world, "Answer politely, sneaky.", reasoning=reasoning)
    notifications_run()
    rcpts = [r for r, _ in smtp.messages]
    assert all("mallory@example.com" not in r for r in rcpts)
    mail = smtp.to("rita@example.com")[0]
    assert mail["Bcc"] is None
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "The agent's reasoning (its own words, unchecked): Fine.\n" in body
    assert "evil.example" not in body and "\u202e" not in body


def test_an_smtp_outage_keeps_the_notices_for_the_next_run(smtp, world, settings):
    notifications_run()
    _propose(world, "Answer politely, later.")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _free_port()  # nothing listens there
    assert notifications_run().mails == 0
    assert ReviewNotice.objects.filter(sent_at__isnull=True, batch="").count() == 2
    settings.EMAIL_PORT = port
    assert notifications_run().mails == 2


def test_nothing_happens_without_an_smtp_host(world, settings):
    settings.EMAIL_HOST = ""
    _propose(world, "Answer politely, quiet.")
    assert notifications_run().queued == 0
    assert not LogCursor.objects.exists() and not ReviewNotice.objects.exists()
