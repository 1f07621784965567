"""A console served over real HTTP on a loopback port that a test can stop (the agent's view)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.live_server_helper import LiveServer


class StoppableConsole:
    """pytest-django's live server, which the test itself may stop midway (once)."""

    def __init__(self) -> None:
        self.server = LiveServer("127.0.0.1:0")
        self.url = self.server.url
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False


@pytest.fixture
def live_console(transactional_db: None) -> Iterator[StoppableConsole]:
    served = StoppableConsole()
    yield served
    served.stop()
