"""The project boots: migrations apply and core services write their events."""

import pytest

from patches.models import Event, Target
from tests.factories import make_agent, make_target


@pytest.mark.django_db
def test_creating_a_target_and_an_agent_writes_chained_events():
    make_target()
    make_agent()
    kinds = list(Event.objects.values_list("kind", flat=True))
    assert kinds == ["TargetCreated", "AgentKeyRegistered"]
    first, second = Event.objects.order_by("seq")
    assert second.prev_hash == first.hash
    assert Target.objects.get().versions.get().version == 1
