"""The worker's periodic checkpoint signs the head of the log."""

import pytest

from audit.models import Checkpoint
from audit.tasks import checkpoint_sign_periodic
from patches.models import Event
from tests.factories import make_target


@pytest.mark.django_db
def test_the_periodic_task_signs_the_current_head_and_logs_it():
    make_target()
    head = Event.objects.order_by("-seq").first()
    assert head is not None

    checkpoint_sign_periodic()

    checkpoint = Checkpoint.objects.get()
    assert (checkpoint.seq, checkpoint.head) == (head.seq, head.hash)
    assert Event.objects.order_by("-seq").first().kind == "CheckpointSigned"


@pytest.mark.django_db
def test_on_an_empty_log_it_signs_nothing_and_does_not_fail():
    checkpoint_sign_periodic()
    assert not Checkpoint.objects.exists()
