"""300 seeded hostile bodies at POST /api/v1/proposals: never a 5xx, never a stored row."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.factories import (
    ROUTING,
    AgentPersona,
    counts,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

pytestmark = pytest.mark.django_db

CASES = 300
SEED = 424242


def _random_bytes(rng: random.Random, valid: bytes) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 7, 64, 512, 4096])))


def _truncated(rng: random.Random, valid: bytes) -> bytes:
    return valid[: rng.randrange(len(valid))]


def _nested(rng: random.Random, valid: bytes) -> bytes:
    depth = rng.choice([33, 100, 1_000, 10_000, 100_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    inner = opener * depth + "1" + closer * depth
    if rng.random() < 0.5:
        envelope = json.loads(valid)
        body = json.dumps(envelope).replace('"reasoning": ', f'"extra": {inner}, "reasoning": ', 1)
        return body.encode()
    return inner.encode()


def _flipped_byte(rng: random.Random, valid: bytes) -> bytes:
    data = bytearray(valid)
    while True:
        at = rng.randrange(len(data))
        new = (data[at] + rng.randrange(1, 256)) % 256
        # Whitespace for whitespace is the same JSON, hence a valid envelope: not hostile.
        if not (data[at] in b" \t\n\r" and new in b" \t\n\r"):
            break
    data[at] = new
    return bytes(data)


HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    2**63,
    2**64,
    1e308,
    -0.0,
    "",
    "\x00",
    "\ud800",
    "é" * 10_000,
    [],
    {},
    [[[]]],
    {"$ref": "#"},
    "' OR 1=1 --",
    "../../etc/passwd",
    "{{7*7}}",
    "<script>x</script>",
]


def _wrong_types(rng: random.Random, valid: bytes) -> bytes:
    envelope = json.loads(valid)
    part = rng.choice(["proposal", "signature"])
    key = rng.choice(sorted(envelope[part]))
    envelope[part][key] = rng.choice(HOSTILE_VALUES)
    if rng.random() < 0.3:
        envelope[rng.choice(["proposal", "signature", "extra"])] = rng.choice(HOSTILE_VALUES)
    try:
        return json.dumps(envelope, ensure_ascii=rng.random() < 0.5).encode(
            "utf-8", "surrogatepass"
        )
    except ValueError:
        return json.dumps(envelope).encode()


def _duplicated_keys(rng: random.Random, valid: bytes) -> bytes:
    text = valid.decode()
    return text.replace('"proposal": {', '"proposal": {"target": "router", ', 1).encode()


def _non_json_content(rng: random.Random, valid: bytes) -> bytes:
    return rng.choice(
        [
            b"proposal=1&signature=2",
            b"\xef\xbb\xbf" + valid,
            valid.decode().encode("utf-16"),
            b"NaN",
            b"[1e999]",
        ]
    )


GENERATORS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "random bytes": _random_bytes,
    "truncated envelope": _truncated,
    "deeply nested": _nested,
    "flipped byte": _flipped_byte,
    "wrong types": _wrong_types,
    "duplicate keys": _duplicated_keys,
    "not JSON": _non_json_content,
}


@pytest.fixture
def smith(db: None) -> AgentPersona:
    return make_agent("agent-smith")


def test_hostile_bodies_never_fail_the_server_nor_store_anything(smith):
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    valid = json.dumps(
        signed_envelope(smith, proposal_body(target=target, patch=threshold_patch()))
    ).encode()
    client = Client(raise_request_exception=False)
    rng = random.Random(SEED)
    before = counts()
    statuses: Counter[int] = Counter()
    for case in range(CASES):
        name = rng.choice(sorted(GENERATORS))
        body = GENERATORS[name](rng, valid)
        content_type = rng.choice(
            ["application/json", "application/json; charset=utf-8", "text/plain"]
        )
        response = client.post(
            "/api/v1/proposals", data=body, content_type=content_type, **smith.auth
        )
        statuses[response.status_code] += 1
        assert response.status_code < 500, (
            f"case {case} ({name}): {response.status_code} {body[:200]!r}"
        )
        assert 400 <= response.status_code < 500, (
            f"case {case} ({name}) was accepted: {body[:200]!r}"
        )
        assert response["Content-Type"].startswith("application/problem+json")
    assert counts() == before, f"hostile bodies stored rows; statuses {dict(statuses)}"
    # The untouched envelope still goes through: the fuzzing burnt no nonce.
    assert (
        client.post(
            "/api/v1/proposals", data=valid, content_type="application/json", **smith.auth
        ).status_code
        == 201
    )
