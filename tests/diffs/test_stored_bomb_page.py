"""A copy bomb stored before the content limit existed: its proposal page says the patch does
not apply within the limit, instead of building and rendering a 90 MB document."""

from __future__ import annotations

import json

import pytest
from django.test import Client

import patches.submit
from patches.formats import MAX_CONTENT_BYTES
from patches.submit import proposal_submit
from tests.factories import (
    canonical_body,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

pytestmark = pytest.mark.django_db


def test_the_page_of_a_stored_copy_bomb_names_the_limit_and_stays_small(monkeypatch):
    agent = make_agent("agent-smith")
    target = make_target(name="settings", patch_type="Config", content={"name": "config"})
    operations = [{"op": "add", "path": "/s", "value": "x" * 90_000}]
    operations += [{"op": "copy", "from": "/s", "path": f"/c{n}"} for n in range(1_000)]
    bomb = json.dumps(operations, separators=(",", ":"))
    # As an older console stored it: without the door's patch check.
    monkeypatch.setattr(patches.submit, "target_patch_check", lambda **kwargs: "")
    body = canonical_body(signed_envelope(agent, proposal_body(target=target, patch=bomb)))
    proposal = proposal_submit(agent=agent.agent, body=body)
    monkeypatch.undo()

    client = Client()
    client.force_login(make_reviewer("rita", admin=True))
    response = client.get(f"/proposals/{proposal.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"copies more than {MAX_CONTENT_BYTES} bytes" in html
    # The raw patch is shown (escaped), the patched document is not: 90 MB before the limit.
    assert len(html) < 2 * len(bomb) + 200_000
