"""Two delivery rounds at once (two workers) never deliver one subscription at the same time."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from console.webhooks.delivery import webhooks_deliver
from console.webhooks.services import webhook_create
from tests.factories import make_target


@pytest.mark.django_db(transaction=True)
def test_a_second_round_skips_the_subscription_a_first_round_is_delivering(receiver):
    webhook_create(url=receiver.url, event_kinds=["TargetCreated"], actor="t")
    for i in range(3):
        make_target(f"t{i}")
    receiver.hold = threading.Event()

    def first_worker() -> None:
        try:
            webhooks_deliver()
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    for _ in range(500):  # until the first round's first POST has reached the receiver
        if receiver.deliveries:
            break
        time.sleep(0.01)
    assert len(receiver.deliveries) == 1

    second = webhooks_deliver()  # while the first round waits for the receiver
    receiver.hold.set()
    worker.join(30)

    assert second.subscriptions == 0
    seqs = [d.event["seq"] for d in receiver.deliveries]
    assert seqs == sorted(set(seqs)) and len(seqs) == 3
