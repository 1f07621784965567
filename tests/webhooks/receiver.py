"""A real HTTP receiver on 127.0.0.1 for webhook tests, with an independent signature check.

The check is written from the Standard Webhooks specification, not with the standardwebhooks
package that signs deliveries: base64 HMAC-SHA256 of `id.timestamp.body` under the secret's
base64-decoded bytes, compared with each `v1,` entry of the signature header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = b".".join(
        [headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body]
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [
        item.split(",", 1)[1]
        for item in headers["webhook-signature"].split(" ")
        if item.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, value) for value in offered)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    status: int = 200  # what it answers; 503 while "down"
    location: str = ""  # sent with a 3xx
    hold: threading.Event | None = None  # when set, each answer waits for it
    deliveries: list[Delivery] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if 200 <= d.answered < 300]


@contextmanager
def receiver_running() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.status
            receiver.paths.append(self.path)
            receiver.deliveries.append(
                Delivery({k.lower(): v for k, v in self.headers.items()}, body, status)
            )
            if receiver.hold is not None:
                receiver.hold.wait(30)
            self.send_response(status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
