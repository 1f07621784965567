"""Where a webhook may go: http(s) URLs whose host resolves only to public addresses.

The guard resolves the host and refuses loopback, private, link-local, shared, multicast and
reserved addresses unless WEBHOOK_ALLOW_PRIVATE is on. It runs at creation and again before
every attempt, and the attempt connects to the address it checked, so a DNS answer that changes
between the check and the connection (rebinding) cannot reach an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_CHARS = 2000


class AddressRefused(ValueError):
    """The URL is not one the console will post to; the message says why."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    port: int
    path: str  # path and query, sent as the request target
    address: str  # the checked IP address to connect to


def url_parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request target) of an http(s) URL, or AddressRefused."""
    if len(url) > MAX_URL_CHARS:
        raise AddressRefused(f"the URL is longer than {MAX_URL_CHARS} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise AddressRefused("the URL contains spaces or control characters")
    if not url.isascii():
        # The request line is ASCII: percent-encode the path, write host names in punycode.
        raise AddressRefused("the URL must be ASCII (percent-encoded path, punycode host name)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"the URL must start with http:// or https://, not {url[:20]!r}")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("the URL must not carry a user name or password")
    if not parts.hostname:
        raise AddressRefused("the URL names no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise AddressRefused(f"the URL's port is not valid: {exc}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, target


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return None
    return f"{address}, a loopback, private, link-local or reserved address"


def destination_check(url: str) -> Destination:
    """Resolve the URL's host now and pick the address to connect to, or AddressRefused."""
    scheme, host, port, target = url_parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        # Every answer must be public: one private answer among public ones is how a rebinding
        # attacker gets a client to pick the internal address.
        for text in addresses:
            refusal = _refusal(ipaddress.ip_address(text.split("%", 1)[0]))
            if refusal:
                raise AddressRefused(
                    f"{host} resolves to {refusal}; set WEBHOOK_ALLOW_PRIVATE=true "
                    "to allow receivers on internal networks"
                )
    return Destination(scheme=scheme, host=host, port=port, path=target, address=addresses[0])
