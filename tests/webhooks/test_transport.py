"""One attempt's limits: the checked address is the one connected to; 10 s in all; TLS checked."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from console.webhooks import transport
from console.webhooks.addresses import destination_check
from console.webhooks.delivery import webhooks_deliver
from console.webhooks.services import webhook_create
from tests.factories import make_target


def test_the_attempt_connects_to_the_address_it_checked(receiver, db, monkeypatch):
    port = receiver.url.split(":")[2].split("/")[0]
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"] * 2 + ["127.0.0.2"] * 10)  # the name "rebinds" after 2 answers
    looked_up = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.test":
            looked_up.append(host)
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    webhook_create(url=f"http://hooks.test:{port}/hooks", event_kinds=["TargetCreated"], actor="t")
    make_target("billing")
    assert webhooks_deliver().delivered == 1
    # One lookup at creation, one for the attempt; the connection used that answer.
    assert looked_up == ["hooks.test", "hooks.test"]
    assert receiver.deliveries[0].headers["host"] == f"hooks.test:{port}"


def test_a_receiver_slower_than_the_limit_is_a_failure(db, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(transport, "ATTEMPT_TIMEOUT_S", 0.5)
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(5)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        destination = destination_check(f"http://127.0.0.1:{server.server_address[1]}/")
        started = time.monotonic()
        reply = transport.post(destination, body=b"{}", headers={})
        elapsed = time.monotonic() - started
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert reply.status is None and "no answer within" in reply.error
    assert elapsed < 5  # gave up at the limit, not when the receiver finished


def _self_signed(tmp_path: Any) -> tuple[str, str]:
    from datetime import datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_https_refuses_a_certificate_it_cannot_verify(db, settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    cert_file, key_file = _self_signed(tmp_path)

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        destination = destination_check(f"https://127.0.0.1:{server.server_address[1]}/")
        reply = transport.post(destination, body=b"{}", headers={})
    finally:
        server.shutdown()
        server.server_close()
    assert reply.status is None and "CERTIFICATE_VERIFY_FAILED" in reply.error
