"""A refused request is one line in the log; a server error keeps its traceback."""

from __future__ import annotations

import logging
import sys

from console.log_filters import ClientErrorsOnOneLine
from tests.console.conftest import client_for


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ClientErrorsOnOneLine())
        self.setFormatter(logging.Formatter("%(message)s"))
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.text.append(self.format(record))


def test_a_permission_refusal_logs_one_line_without_a_traceback(outsider):
    lines = _Lines()
    logging.getLogger("django.request").addHandler(lines)
    try:
        assert client_for(outsider).get("/").status_code == 403
    finally:
        logging.getLogger("django.request").removeHandler(lines)
    assert lines.text == ["Forbidden (Permission denied): /"]


def test_a_server_error_keeps_its_traceback():
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", None, None)
    try:
        raise RuntimeError("broken")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    record.status_code = 500
    assert ClientErrorsOnOneLine().filter(record) and record.exc_info is not None


def test_djangos_own_handler_no_longer_prints_each_record_twice():
    assert logging.getLogger("django").handlers == []
    [root_handler] = logging.getLogger().handlers[:1]
    assert any(isinstance(f, ClientErrorsOnOneLine) for f in root_handler.filters)
