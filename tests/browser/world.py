"""The demo seed as a browser test's world: every patch type in review, a target with history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from console.demo import POLICY, TOOLS, demo_seed
from patches.formats import make_patch
from patches.models import Proposal, Target
from tests.browser.conftest import PASSWORD
from tests.console.conftest import in_review
from tests.factories import AgentPersona, make_agent


@dataclass
class DemoWorld:
    agent: AgentPersona
    by_type: dict[str, Proposal]  # one proposal in review per patch type


def _json_patch(target: Target, change: Any) -> str:
    old = target.versions.get(version=target.version).content
    return make_patch(content_kind="json", old=old, new=json.dumps(change))


def demo_world(settings: Any, tmp_path: Any) -> DemoWorld:
    """What `make run` seeds (its gates run at once: Celery is eager in tests), plus a Policy and
    a Tools proposal, and the demo people's passwords set to the tests' one."""
    settings.VAR_DIR = tmp_path
    demo_seed()
    for user in User.objects.all():
        user.set_password(PASSWORD)
        user.save()
    agent = make_agent("agent-smith")
    policy = Target.objects.get(name="refund_policy")
    stricter = {**POLICY, "rules": [*POLICY["rules"], {"name": "no-chargebacks",
                "when": {"field": "action", "eq": "chargeback"}, "decision": "deny"}]}  # fmt: skip
    in_review(agent, policy, patch=_json_patch(policy, stricter),
              reasoning="Chargebacks went through without anyone looking.")  # fmt: skip
    toolset = Target.objects.get(name="toolset")
    described = {"tools": [{**TOOLS["tools"][0], "description": "Find orders by email or id."},
                           TOOLS["tools"][1]]}  # fmt: skip
    in_review(agent, toolset, patch=_json_patch(toolset, described),
              reasoning="Agents searched by order id and got nothing back.")  # fmt: skip
    by_type = {p.patch_type: p for p in Proposal.objects.filter(status="in_review").order_by("-pk")}
    assert set(by_type) == {"Prompt", "Routing", "Policy", "Config", "Tools"}, by_type
    return DemoWorld(agent=agent, by_type=by_type)
