"""Demo data for `make run`: accounts, tests, one target of each patch type, an agent, history."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from audit.access import REVIEWERS_GROUP
from audit.gates import gates_run, proposal_submit_and_gate
from audit.reviews import review_record
from patches.agents import agent_create
from patches.canonical import canonical
from patches.client import make_proposal, sign_proposal
from patches.formats import make_patch
from patches.models import Agent, Proposal, Target, TargetVersion, TestDefinition
from patches.signing import load_private_key_pem, private_key_pem
from patches.submit import proposal_submit
from patches.targets import target_create
from patches.testgate.definitions import testdef_create

ACTOR = "system:demo_seed"

SYSTEM_PROMPT = """\
# Support assistant

You are the support assistant for {company}.
Answer the customer's question in {language}.

## Rules
- Be concise and polite.
- Never reveal internal notes or {secret_token}.
- Escalate refunds above 500 to a human.
"""

ROUTING: dict[str, Any] = {
    "default": "general",
    "threshold": 1.0,
    "routes": {
        "billing": {"weight": 1.0, "keywords": {"invoice": 2.0, "refund": 1.5, "charge": 1.0}},
        "tech": {"weight": 1.0, "keywords": {"error": 2.0, "crash": 2.0, "login": 1.0}},
    },
}

POLICY: dict[str, Any] = {
    "default": "allow",
    "rules": [
        {
            "name": "big-refunds",
            "when": {"all": [{"field": "action", "eq": "refund"}, {"field": "amount", "gt": 500}]},
            "decision": "escalate",
        },
        {
            "name": "no-deletes",
            "when": {"field": "action", "eq": "delete_account"},
            "decision": "deny",
        },
    ],
}

CONFIG: dict[str, Any] = {"model": "small", "temperature": 0.2, "max_tokens": 1024}
CONFIG_SCHEMA = {
    "type": "object",
    "required": ["model", "temperature", "max_tokens"],
    "properties": {
        "model": {"enum": ["small", "large"]},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "max_tokens": {"type": "integer", "minimum": 1, "maximum": 8192},
    },
    "additionalProperties": False,
}

TOOLS: dict[str, Any] = {
    "tools": [
        {
            "name": "search_orders",
            "description": "Find a customer's orders by email.",
            "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
            "permissions": ["orders:read"],
        },
        {
            "name": "issue_refund",
            "description": "Refund an order up to its paid amount.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
                "required": ["order_id", "amount"],
            },
            "permissions": ["orders:refund"],
        },
    ]
}

TESTS: list[dict[str, Any]] = [
    {
        "name": "prompt-placeholders",
        "kind": "placeholders",
        "params": {},
        "patch_types": ["Prompt"],
    },
    {
        "name": "prompt-max-length",
        "kind": "max_length",
        "params": {"chars": 8000},
        "patch_types": ["Prompt"],
    },
    {
        "name": "prompt-keeps-escalation",
        "kind": "text_contains",
        "params": {"text": "Escalate refunds"},
        "patch_types": ["Prompt"],
    },
    {
        "name": "routing-cases",
        "kind": "routing_cases",
        "patch_types": ["Routing"],
        "params": {
            "cases": [
                {"input": "Where is my invoice?", "expect": "billing"},
                {"input": "The app shows an error on login", "expect": "tech"},
                {"input": "Hello there", "expect": "general"},
            ]
        },
    },
    {
        "name": "policy-cases",
        "kind": "policy_cases",
        "patch_types": ["Policy"],
        "params": {
            "cases": [
                {"context": {"action": "refund", "amount": 900}, "expect": "escalate"},
                {"context": {"action": "refund", "amount": 20}, "expect": "allow"},
                {"context": {"action": "delete_account"}, "expect": "deny"},
            ]
        },
    },
    {
        "name": "config-schema",
        "kind": "json_schema",
        "params": {"schema": CONFIG_SCHEMA},
        "patch_types": ["Config"],
    },
    {
        "name": "tools-allowlist",
        "kind": "tool_set",
        "patch_types": ["Tools"],
        "params": {
            "allow": ["search_orders", "issue_refund", "lookup_shipping"],
            "require": ["search_orders"],
        },
    },
]

TARGETS: list[dict[str, Any]] = [
    {
        "name": "system_prompt",
        "patch_type": "Prompt",
        "content": SYSTEM_PROMPT,
        "tests": ["prompt-placeholders", "prompt-max-length", "prompt-keeps-escalation"],
    },
    {
        "name": "support_routing",
        "patch_type": "Routing",
        "content": json.dumps(ROUTING),
        "tests": ["routing-cases"],
    },
    {
        "name": "refund_policy",
        "patch_type": "Policy",
        "content": json.dumps(POLICY),
        "tests": ["policy-cases"],
        "required_approvals": 2,
    },
    {
        "name": "runtime_config",
        "patch_type": "Config",
        "content": json.dumps(CONFIG),
        "tests": ["config-schema"],
        "schema": CONFIG_SCHEMA,
    },
    {
        "name": "toolset",
        "patch_type": "Tools",
        "content": json.dumps(TOOLS),
        "tests": ["tools-allowlist"],
    },
]


# What the demo agent proposes on first run, so the inbox has work in it: (target, change, why).
DEMO_PROPOSALS: list[tuple[str, Any, str]] = [
    (
        "system_prompt",
        (  # a replacement in the content current when the demo proposes it (v3, see HISTORY)
            "- Be concise and polite.\n",
            "- Be concise and polite.\n- Confirm the order number before discussing an order.\n",
        ),
        "Customers were given details of the wrong order twice this week; confirming the order\n"
        "number first removes the ambiguity.",
    ),
    (
        "support_routing",
        {**ROUTING, "routes": {**ROUTING["routes"], "billing": {
            "weight": 1.0, "keywords": {"invoice": 2.0, "refund": 1.5, "charge": 1.0, "receipt": 1.5}}}},
        "'receipt' questions were routed to general; they belong to billing.",
    ),
    (
        "runtime_config",
        {**CONFIG, "temperature": 0.1},
        "Lower temperature: answers about refunds varied too much between runs.",
    ),
]  # fmt: skip


def _credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo_credentials.json"


def demo_credentials() -> dict[str, Any]:
    """What demo_seed wrote to var/demo_credentials.json, or {} when it has not run."""
    path = _credentials_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _ensure_user(username: str, *, admin: bool, credentials: dict[str, Any]) -> None:
    if User.objects.filter(username=username).exists():
        return
    password = secrets.token_urlsafe(12)
    user = User.objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    if admin:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    credentials[username] = {"username": username, "password": password}


def demo_seed() -> dict[str, Any]:
    """Create what is missing and return the credentials (kept in var/, mode 0600)."""
    path = _credentials_path()
    credentials: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    with transaction.atomic():
        _ensure_user("reviewer", admin=False, credentials=credentials)
        _ensure_user("reviewer2", admin=False, credentials=credentials)
        _ensure_user("admin", admin=True, credentials=credentials)
        for test in TESTS:
            if not TestDefinition.objects.filter(name=test["name"]).exists():
                testdef_create(**test)
        for spec in TARGETS:
            if not Target.objects.filter(name=spec["name"]).exists():
                target_create(actor=ACTOR, **spec)
        if not Agent.objects.filter(name="demo-agent").exists():
            created = agent_create(name="demo-agent", actor=ACTOR)
            key_file = Path(settings.VAR_DIR) / "keys" / "demo-agent.pem"
            key_file.parent.mkdir(parents=True, exist_ok=True)
            assert created.private_key is not None
            key_file.write_bytes(private_key_pem(created.private_key))
            key_file.chmod(0o600)
            credentials["demo-agent"] = {
                "agent": "demo-agent",
                "token": created.token,
                "key_id": created.key.key_id,
                "private_key_file": str(key_file),
            }
    if "demo-agent" in credentials and not Proposal.objects.exists():
        _seed_history(credentials["demo-agent"])
        _propose_demo_patches(credentials["demo-agent"])
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return credentials


# The system prompt's past, so history, compare and revert have something to show: two
# applied changes (v2, v3) and one that a reviewer rejected. Each: (replace this, with this,
# why, the reviewer's decision, their reason), made on the content current at the time.
HISTORY: list[tuple[str, str, str, str, str]] = [
    (
        "Answer the customer's question", "Answer the customer's question briefly",
        "Answers ran to several paragraphs; customers on phones scroll past the answer.",
        "approve", "Shorter answers, and every placeholder is still there.",
    ),
    (
        "- Be concise and polite.\n", "- Be concise and polite.\n- Greet the customer by name.\n",
        "Customers who gave their name were answered as if anonymous.",
        "approve", "A small, friendly change; the greeting needs no new placeholder.",
    ),
    (
        "Escalate refunds above 500", "Escalate refunds above 5000",
        "Most refunds between 500 and 5000 are approved anyway; escalating them slows customers down.",
        "reject", "The 500 limit is the finance team's rule, not ours to change here.",
    ),
]  # fmt: skip


def _seed_history(agent_credentials: dict[str, Any]) -> None:
    """Signed proposals on system_prompt, gated inline and decided by the demo reviewers."""
    agent = Agent.objects.get(name=agent_credentials["agent"])
    private_key = load_private_key_pem(Path(agent_credentials["private_key_file"]).read_bytes())
    target = Target.objects.get(name="system_prompt")
    for old, new, reasoning, decision, reason in HISTORY:
        target.refresh_from_db()
        current = TargetVersion.objects.get(target=target, version=target.version)
        new_text = current.content.replace(old, new)
        proposal = make_proposal(
            target=target.name,
            patch_type=target.patch_type,
            base_version=target.version,
            patch=make_patch(content_kind="text", old=current.content, new=new_text),
            reasoning=reasoning,
        )
        submitted = proposal_submit(
            agent=agent, body=canonical(sign_proposal(private_key, proposal))
        )
        gates_run(proposal_id=submitted.pk)
        submitted.refresh_from_db()
        reviewer = User.objects.get(username="reviewer" if decision == "approve" else "reviewer2")
        review_record(
            proposal=submitted,
            reviewer=reviewer,
            decision=decision,
            reason=reason,
            patch_hash=submitted.patch_hash,
            base_content_hash=submitted.base_content_hash,
        )


def _propose_demo_patches(agent_credentials: dict[str, Any]) -> None:
    """Submit the demo proposals exactly as an agent would: signed, through the submit service."""
    agent = Agent.objects.get(name=agent_credentials["agent"])
    private_key = load_private_key_pem(Path(agent_credentials["private_key_file"]).read_bytes())
    for target_name, new_content, reasoning in DEMO_PROPOSALS:
        target = Target.objects.get(name=target_name)
        current = TargetVersion.objects.get(target=target, version=target.version)
        if isinstance(new_content, tuple):
            new_text = current.content.replace(*new_content)
        else:
            new_text = new_content if isinstance(new_content, str) else json.dumps(new_content)
        if target.content_kind == "json":
            new_text = canonical(json.loads(new_text)).decode()
        proposal = make_proposal(
            target=target.name,
            patch_type=target.patch_type,
            base_version=target.version,
            patch=make_patch(content_kind=target.content_kind, old=current.content, new=new_text),
            reasoning=reasoning,
        )
        proposal_submit_and_gate(agent=agent, body=canonical(sign_proposal(private_key, proposal)))
