"""Fixtures for webhook tests: a live receiver on 127.0.0.1, which needs WEBHOOK_ALLOW_PRIVATE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.webhooks.receiver import Receiver, receiver_running


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiver_running() as running:
        yield running
