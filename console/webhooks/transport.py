"""One HTTP POST to a checked address: a 10 s limit in all, no redirects, a bounded reply read."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from console.webhooks.addresses import Destination

ATTEMPT_TIMEOUT_S = 10.0
# The reply body is not used; reading a little lets the connection close cleanly.
MAX_REPLY_BYTES = 4096
USER_AGENT = "patch-review-console-webhooks/1"


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: no HTTP answer at all
    error: str  # empty on a 2xx


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to by now."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(
            destination.host,
            destination.port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
        self._address = destination.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name of the URL, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Reply:
    deadline = time.monotonic() + ATTEMPT_TIMEOUT_S
    kind = _PinnedHTTPS if destination.scheme == "https" else _PinnedHTTP
    connection = kind(destination, ATTEMPT_TIMEOUT_S)
    try:
        connection.request(
            "POST",
            destination.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
        )
        _remaining(connection, deadline)
        response = connection.getresponse()
        _remaining(connection, deadline)
        response.read(MAX_REPLY_BYTES)
        status = response.status
    except TimeoutError:
        return Reply(None, f"no answer within {ATTEMPT_TIMEOUT_S:.0f} s")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return Reply(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    if 200 <= status < 300:
        return Reply(status, "")
    if 300 <= status < 400:
        return Reply(status, f"HTTP {status}: redirects are not followed")
    return Reply(status, f"HTTP {status}")


def _remaining(connection: http.client.HTTPConnection, deadline: float) -> None:
    """The socket's timeout becomes what is left of the attempt's limit."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if connection.sock is not None:
        connection.sock.settimeout(left)
