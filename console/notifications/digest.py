"""Reviewer e-mail: who is told of which proposal, and the batched digest that tells them.

Driven by the log like webhooks: a cursor reads the AuditChecked events (the moment a proposal
in review can be decided: reviews wait for the audit gate) and queues a notice for each person
who may decide that proposal (audit.access.reviewers_who_may_decide) and has an e-mail address.
A reviewer then gets at most one mail per NOTIFY_DIGEST_S, listing every queued proposal that is
still in review. Off entirely while EMAIL_HOST is empty; when first turned on, the cursor starts
at the log's head, so nobody is mailed about the past.

Agent text in a mail is untrusted: mails are plain text, the subject and headers carry no agent
text at all, and the reasoning's first line goes in the body stripped of control and format
characters (no bidi tricks), cut short, and labelled as the agent's words.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from audit.access import reviewers_who_may_decide
from audit.gate import AUDIT_CHECKED
from console.notifications.models import LogCursor, ReviewNotice
from patches.log import chain_head
from patches.models import Event, ProposalStatus

logger = logging.getLogger(__name__)

CURSOR = "review-notices"
EVENTS_PER_RUN = 100
REVIEWERS_PER_RUN = 200
LISTED_PER_MAIL = 50
REASONING_CHARS = 200
# A claim older than this belongs to a run that died before sending; it is taken again.
CLAIM_EXPIRES = timedelta(minutes=10)


@dataclass
class DigestReport:
    queued: int = 0
    mails: int = 0


def notifications_enabled() -> bool:
    return bool(settings.EMAIL_HOST)


def notifications_run(*, now: datetime | None = None) -> DigestReport:
    """Queue the notices of proposals that became decidable, then send the digests that are due."""
    report = DigestReport()
    if not notifications_enabled():
        return report
    now = now or timezone.now()
    report.queued = notices_queue(now=now)
    report.mails = digests_send(now=now)
    return report


def notices_queue(*, now: datetime) -> int:
    queued = 0
    with transaction.atomic():
        head, _ = chain_head()
        cursor, created = LogCursor.objects.select_for_update().get_or_create(
            name=CURSOR, defaults={"seq": head}
        )
        if created:
            return 0
        events = list(
            Event.objects.filter(seq__gt=cursor.seq, seq__lte=head, kind=AUDIT_CHECKED)
            .select_related("proposal__target")
            .order_by("seq")[:EVENTS_PER_RUN]
        )
        for event in events:
            proposal = event.proposal
            if proposal is None or proposal.status != ProposalStatus.IN_REVIEW:
                continue  # rejected by the audit gate, or decided since
            for user in reviewers_who_may_decide(proposal):
                if user.email:
                    _, made = ReviewNotice.objects.get_or_create(
                        user=user, proposal=proposal, defaults={"queued_at": now}
                    )
                    queued += made
        cursor.seq = events[-1].seq if len(events) == EVENTS_PER_RUN else head
        cursor.save(update_fields=["seq"])
    return queued


def _unclaimed(now: datetime) -> Q:
    return Q(sent_at__isnull=True) & (Q(batch="") | Q(claimed_at__lt=now - CLAIM_EXPIRES))


def digests_send(*, now: datetime) -> int:
    waiting = (
        ReviewNotice.objects.filter(_unclaimed(now))
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    return sum(_send_to(user_id, now=now) for user_id in list(waiting[:REVIEWERS_PER_RUN]))


def _claim(user_id: int, *, now: datetime) -> str | None:
    """Take this reviewer's queued notices for one mail, unless they had one too recently."""
    with transaction.atomic():
        # The user's row lock serializes two runs deciding about the same reviewer.
        list(get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk"))
        last = ReviewNotice.objects.filter(user_id=user_id).aggregate(last=Max("sent_at"))["last"]
        if last is not None and now - last < timedelta(seconds=settings.NOTIFY_DIGEST_S):
            return None
        batch = secrets.token_hex(16)
        ReviewNotice.objects.filter(_unclaimed(now), user_id=user_id).update(
            batch=batch, claimed_at=now
        )
        return batch


def _send_to(user_id: int, *, now: datetime) -> int:
    batch = _claim(user_id, now=now)
    if batch is None:
        return 0
    claimed = ReviewNotice.objects.filter(batch=batch)
    # Decided or withdrawn since it was queued: nothing left to ask of this reviewer.
    claimed.exclude(proposal__status=ProposalStatus.IN_REVIEW).delete()
    notices = list(
        claimed.select_related("user", "proposal__target", "proposal__agent").order_by(
            "proposal_id"
        )
    )
    if not notices:
        return 0
    try:
        digest_message(notices).send()
    except Exception:
        # The SMTP server may be down: give the notices back for the next run.
        claimed.update(batch="", claimed_at=None)
        logger.warning(
            "reviewer digest to user %s not sent; retrying later", user_id, exc_info=True
        )
        return 0
    claimed.update(sent_at=now)
    return 1


def _untrusted_line(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    kept = "".join(ch for ch in first if unicodedata.category(ch)[0] != "C")
    return kept[:REASONING_CHARS] + ("…" if len(kept) > REASONING_CHARS else "")


def digest_message(notices: list[ReviewNotice]) -> EmailMessage:
    user = notices[0].user
    base = settings.CONSOLE_PUBLIC_URL.rstrip("/")
    count = len(notices)
    lines = [
        f"Hello {user.get_username()},",
        "",
        f"{'This proposal' if count == 1 else f'These {count} proposals'} entered review since "
        "your last mail and can be decided by you:",
        "",
    ]
    for notice in notices[:LISTED_PER_MAIL]:
        proposal = notice.proposal
        lines += [
            f"- #{proposal.pk} on {proposal.target.name} ({proposal.patch_type}), "
            f"proposed by agent {proposal.agent.name}",
            f"  {base}/proposals/{proposal.pk}/",
            f"  The agent's reasoning (its own words, unchecked): {_untrusted_line(proposal.reasoning)}",
            "",
        ]
    if count > LISTED_PER_MAIL:
        lines += [f"…and {count - LISTED_PER_MAIL} more.", ""]
    lines += [f"Your inbox: {base}/", "", "-- the patch review console"]
    subject = f"{count} proposal{'s' if count != 1 else ''} waiting for your review"
    return EmailMessage(subject=subject, body="\n".join(lines), to=[user.email])
