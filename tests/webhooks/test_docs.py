"""The receiver's verification code in docs/webhooks.md, run against real deliveries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from console.webhooks.delivery import webhooks_deliver
from console.webhooks.services import webhook_create
from tests.factories import make_target

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _documented_verify() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    (source,) = [block for block in blocks if "def verify(" in block]
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace["verify"]


def test_the_documented_check_accepts_deliveries_and_refuses_tampering(receiver, db):
    verify = _documented_verify()
    secret = webhook_create(url=receiver.url, event_kinds=["TargetCreated"], actor="t").secret
    make_target("billing")
    webhooks_deliver()
    (delivery,) = receiver.deliveries
    assert verify(secret, delivery.headers, delivery.body)
    assert not verify(secret, delivery.headers, delivery.body.replace(b"billing", b"billinG"))
    stale = {
        **delivery.headers,
        "webhook-timestamp": str(int(delivery.headers["webhook-timestamp"]) - 600),
    }
    assert not verify(secret, stale, delivery.body)
