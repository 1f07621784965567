"""Every kind of domain transition writes its event into the one chain."""

from __future__ import annotations

from patches.models import Event


def test_events_of_the_domain_are_chained(history) -> None:  # type: ignore[no-untyped-def]
    kinds = list(Event.objects.values_list("kind", flat=True))
    assert {
        "TargetCreated",
        "AgentKeyRegistered",
        "PatchProposed",
        "PatchApplied",
        "PatchRejected",
        "AgentKeyRevoked",
    } <= set(kinds)
    hashes = list(Event.objects.values_list("prev_hash", "hash"))
    assert all(hashes[i][1] == hashes[i + 1][0] for i in range(len(hashes) - 1))
