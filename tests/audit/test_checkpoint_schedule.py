"""When the beat signs: soon after a PatchApplied, else once CHECKPOINT_INTERVAL_S has passed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from audit.checkpoints import checkpoint_due, checkpoint_sign
from audit.models import Checkpoint
from audit.tasks import checkpoint_sign_periodic
from patches.log import event_append
from tests.audit.conftest import build_history


def test_a_patch_applied_since_the_last_checkpoint_is_signed_at_the_next_poll(db, settings):
    settings.CHECKPOINT_INTERVAL_S = 3600
    history = build_history()
    checkpoint_sign()
    now = timezone.now()
    event_append(kind="Thing", actor="user:test", payload={"not": "an apply"})
    assert not checkpoint_due(now=now)
    checkpoint_sign_periodic()
    assert Checkpoint.objects.count() == 1
    history.apply("routing", '[{"op": "replace", "path": "/threshold", "value": 3.5}]')
    assert checkpoint_due(now=now)
    checkpoint_sign_periodic()
    latest = Checkpoint.objects.order_by("-seq").first()
    assert latest is not None and latest.note
    assert Checkpoint.objects.count() == 2


def test_without_an_apply_it_signs_once_the_interval_has_passed(db, settings):
    settings.CHECKPOINT_INTERVAL_S = 600
    build_history()
    signed = checkpoint_sign()
    assert not checkpoint_due(now=signed.created_at + timedelta(seconds=599))
    assert checkpoint_due(now=signed.created_at + timedelta(seconds=600))
