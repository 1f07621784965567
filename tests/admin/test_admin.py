"""Django admin: every model browsable, history refused server-side, targets made by target_create."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.gates import proposal_submit_and_gate
from audit.models import (
    Checkpoint,
    Cosignature,
    Finding,
    LabelMoveApproval,
    LabelMoveRequest,
    MerkleNode,
    Review,
    ReviewComment,
)
from console.models import (
    LogCursor,
    ReviewNotice,
    WebhookAttempt,
    WebhookSubscription,
    WorkerHeartbeat,
)
from patches.canonical import canonical
from patches.models import (
    Agent,
    AgentKey,
    AgentToken,
    Event,
    Label,
    Observation,
    Proposal,
    Signature,
    Target,
    TargetVersion,
    TestDefinition,
    TestResult,
    TestRun,
)
from tests.admin.conftest import World
from tests.factories import make_agent, proposal_body, signed_envelope

ALL_MODELS: list[type[Model]] = [
    Target, TargetVersion, Agent, AgentKey, AgentToken, Proposal, Signature, TestDefinition,
    TestRun, TestResult, Event, Checkpoint, Finding, Review, WorkerHeartbeat,
    WebhookSubscription, WebhookAttempt, LogCursor, ReviewNotice,
    Label, Observation, LabelMoveRequest, LabelMoveApproval, ReviewComment, Cosignature, MerkleNode,
]  # fmt: skip
READ_ONLY: list[type[Model]] = [
    Event, Proposal, Signature, Review, TargetVersion, Finding, TestRun, TestResult, Checkpoint,
    AgentToken, AgentKey, WebhookAttempt, LogCursor, ReviewNotice,
    Observation, LabelMoveRequest, LabelMoveApproval, ReviewComment, Cosignature, MerkleNode,
]  # fmt: skip


def url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def snapshot(model: type[Model]) -> list[dict[str, object]]:
    return list(model.objects.order_by("pk").values())


def test_every_model_of_the_three_apps_is_registered() -> None:
    ours = {m for m in apps.get_models() if m._meta.app_label in ("patches", "audit", "console")}
    assert ours == set(ALL_MODELS)
    assert all(admin.site.is_registered(m) for m in ALL_MODELS)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_a_superuser_sees_every_changelist_and_change_page(
    admin_client: Client, world: World, model: type[Model]
) -> None:
    assert admin_client.get(url(model, "changelist")).status_code == 200
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"the world fixture has no {model.__name__}"
    response = admin_client.get(url(model, "change", obj.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_read_only_models_refuse_add_change_and_delete_posts(
    admin_client: Client, world: World, model: type[Model]
) -> None:
    obj = model.objects.order_by("pk").first()
    assert obj is not None
    before = snapshot(model)
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "add"), {"reason": "x"}).status_code == 403
    assert admin_client.post(url(model, "change", obj.pk), {"reason": "edited"}).status_code == 403
    assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert snapshot(model) == before


def test_the_change_page_of_a_read_only_model_shows_details_without_a_save_button(
    admin_client: Client, world: World
) -> None:
    page = admin_client.get(url(Proposal, "change", world.proposal.pk)).content.decode()
    assert world.proposal.patch_hash in page
    assert 'name="_save"' not in page


def test_search_by_patch_hash_finds_the_proposal(admin_client: Client, world: World) -> None:
    patch = json.dumps([{"op": "replace", "path": "/threshold", "value": 2.0}])
    body = canonical(
        signed_envelope(world.persona, proposal_body(target=world.target, patch=patch))
    )
    other = proposal_submit_and_gate(agent=world.persona.agent, body=body)
    page = admin_client.get(
        url(Proposal, "changelist"), {"q": world.proposal.patch_hash}
    ).content.decode()
    assert url(Proposal, "change", world.proposal.pk) in page
    assert url(Proposal, "change", other.pk) not in page
    events = admin_client.get(
        url(Event, "changelist"), {"q": world.proposal.patch_hash}
    ).content.decode()
    assert "PatchProposed" in events


def test_changelists_filter_by_status_target_and_agent(admin_client: Client, world: World) -> None:
    response = admin_client.get(
        url(Proposal, "changelist"),
        {
            "status__exact": "testing",
            "target__id__exact": world.target.pk,
            "agent__id__exact": world.persona.agent.pk,
        },
    )
    assert response.status_code == 200
    assert url(Proposal, "change", world.proposal.pk) in response.content.decode()
    assert admin_client.get(url(Event, "changelist"), {"kind": "TargetCreated"}).status_code == 200


@pytest.mark.parametrize(
    "model", [Proposal, Signature, Review, TargetVersion, AgentKey, Event], ids=lambda m: m.__name__
)
def test_changelists_do_not_query_per_row(
    admin_client: Client, world: World, model: type[Model]
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url(model, "changelist")).status_code == 200
        return len(captured)

    few = queries()
    for n in range(3):
        patch = json.dumps([{"op": "replace", "path": "/threshold", "value": 2.0 + n}])
        body = canonical(
            signed_envelope(world.persona, proposal_body(target=world.target, patch=patch))
        )
        proposal = proposal_submit_and_gate(agent=world.persona.agent, body=body)
        Review.objects.create(
            proposal=proposal, reviewer=world.proposal.reviews.get().reviewer, decision="approve",
            reason="ok", patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash,
        )  # fmt: skip
    make_agent(f"more-{model.__name__.lower()}")
    assert queries() == few


def test_the_revoke_action_revokes_the_key_and_logs_it(admin_client: Client, world: World) -> None:
    key = AgentKey.objects.get(agent=world.persona.agent)
    response = admin_client.post(
        url(AgentKey, "changelist"), {"action": "revoke_keys", "_selected_action": [key.pk]}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    event = Event.objects.filter(kind="AgentKeyRevoked").get()
    assert event.actor == "user:ada"
    assert event.payload_value == {"agent": "router-agent", "key_id": key.key_id}


def test_adding_a_target_in_admin_creates_its_genesis_version_and_event(
    admin_client: Client, world: World
) -> None:
    response = admin_client.post(
        url(Target, "add"),
        {
            "name": "support-prompt",
            "patch_type": "Prompt",
            "description": "The support agent's prompt.",
            "content": "You help {customer}.\n",
            "schema": "null",
            "required_approvals": "2",
            "mandatory_tests": [TestDefinition.objects.get(name="billing-cases").pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target = Target.objects.get(name="support-prompt")
    assert (target.version, target.required_approvals) == (1, 2)
    genesis = TargetVersion.objects.get(target=target)
    assert genesis.content == "You help {customer}.\n"
    created = Event.objects.filter(kind="TargetCreated").order_by("-seq").first()
    assert created is not None
    assert created.payload_value["target"] == "support-prompt"
    assert created.payload_value["mandatory_tests"] == ["billing-cases"]
    assert created.actor == "user:ada"


def test_adding_a_json_target_with_content_that_is_not_json_is_refused(
    admin_client: Client, world: World
) -> None:
    response = admin_client.post(
        url(Target, "add"),
        {
            "name": "cfg",
            "patch_type": "Config",
            "content": "{oops",
            "schema": "null",
            "required_approvals": "1",
        },
    )
    assert response.status_code == 200
    assert "does not fit a Config target" in response.content.decode()
    assert not Target.objects.filter(name="cfg").exists()


def test_editing_a_target_cannot_change_its_name_type_or_version_and_is_logged(
    admin_client: Client, world: World
) -> None:
    target = world.target
    response = admin_client.post(
        url(Target, "change", target.pk),
        {
            "name": "renamed",
            "patch_type": "Prompt",
            "version": "99",
            "description": "now stricter",
            "schema": "null",
            "audit_rules": "{}",
            "required_approvals": "3",
            "mandatory_tests": [],
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert (target.name, target.patch_type, target.version) == ("router", "Routing", 1)
    assert target.required_approvals == 3
    assert list(target.mandatory_tests.all()) == []
    changed = Event.objects.filter(kind="TargetSettingsChanged").get()
    assert changed.payload_value["changes"]["required_approvals"] == {"from": 1, "to": 3}
    assert changed.payload_value["changes"]["mandatory_tests"] == {
        "from": ["billing-cases"],
        "to": [],
    }


def test_editing_a_target_refuses_audit_rules_of_the_wrong_shape(
    admin_client: Client, world: World
) -> None:
    target = world.target
    response = admin_client.post(
        url(Target, "change", target.pk),
        {
            "description": "",
            "schema": "null",
            "audit_rules": '{"protected_paths": [{"pattern": "routes"}]}',
            "required_approvals": "1",
            "mandatory_tests": [],
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "must be empty or start with" in response.content.decode()
    target.refresh_from_db()
    assert target.audit_rules == {}
    assert not Event.objects.filter(kind="TargetSettingsChanged").exists()


def test_targets_and_agents_cannot_be_deleted(admin_client: Client, world: World) -> None:
    assert (
        admin_client.post(url(Target, "delete", world.target.pk), {"post": "yes"}).status_code
        == 403
    )
    assert (
        admin_client.post(url(Agent, "delete", world.persona.agent.pk), {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get(url(Agent, "add")).status_code == 403


def test_test_definition_params_are_validated_for_their_kind(
    admin_client: Client, world: World
) -> None:
    bad = admin_client.post(
        url(TestDefinition, "add"),
        {
            "name": "too-long",
            "kind": "max_length",
            "params": json.dumps({"chars": "many"}),
            "patch_types": "[]",
            "timeout_s": "30",
        },
    )
    assert bad.status_code == 200
    assert "max_length param" in bad.content.decode()
    assert not TestDefinition.objects.filter(name="too-long").exists()
    good = admin_client.post(
        url(TestDefinition, "add"),
        {
            "name": "too-long",
            "kind": "max_length",
            "params": json.dumps({"chars": 4000}),
            "patch_types": '["Prompt"]',
            "timeout_s": "30",
        },
    )
    assert good.status_code == 302
    assert TestDefinition.objects.get(name="too-long").params == {"chars": 4000}


def test_a_test_that_guards_a_target_cannot_be_deleted(admin_client: Client, world: World) -> None:
    test = TestDefinition.objects.get(name="billing-cases")
    assert (
        admin_client.post(url(TestDefinition, "delete", test.pk), {"post": "yes"}).status_code
        == 403
    )
    assert TestDefinition.objects.filter(pk=test.pk).exists()
    admin_client.post(
        url(TestDefinition, "changelist"),
        {"action": "delete_selected", "_selected_action": [test.pk], "post": "yes"},
    )
    assert TestDefinition.objects.filter(pk=test.pk).exists()
    assert list(world.target.mandatory_tests.all()) == [test]


def test_an_unused_test_can_be_deleted(admin_client: Client, world: World) -> None:
    unused = TestDefinition.objects.create(name="unused", kind="placeholders", params={})
    response = admin_client.post(url(TestDefinition, "delete", unused.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not TestDefinition.objects.filter(pk=unused.pk).exists()


def test_history_pages_show_json_pretty_printed_and_escaped(
    admin_client: Client, world: World
) -> None:
    event = Event.objects.filter(kind="PatchProposed").get()
    page = admin_client.get(url(Event, "change", event.seq)).content.decode()
    assert "<pre>{\n  &quot;" in page
    genesis = TargetVersion.objects.get(target=world.target, version=1)
    page = admin_client.get(url(TargetVersion, "change", genesis.pk)).content.decode()
    assert "&quot;billing&quot;: {" in page


def test_staff_without_superuser_can_view_history_but_not_change_it(world: World) -> None:
    from tests.factories import make_reviewer

    staff = make_reviewer("sam")
    staff.is_staff = True
    staff.save()
    client = Client()
    client.force_login(staff)
    assert client.get(url(Event, "changelist")).status_code == 200
    event = Event.objects.order_by("seq").first()
    assert event is not None
    assert client.post(url(Event, "change", event.seq), {"kind": "x"}).status_code == 403


def test_reviewers_who_are_not_staff_are_sent_to_the_admin_login(world: World) -> None:
    from tests.factories import make_reviewer

    client = Client()
    client.force_login(make_reviewer("rob"))
    response = client.get(url(Event, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_adding_a_label_in_admin_goes_through_label_create_and_labels_never_change(
    admin_client: Client, world: World
) -> None:
    response = admin_client.post(
        url(Label, "add"), {"target": world.target.pk, "name": "canary", "approvals": "0"}
    )
    assert response.status_code == 302, response.content
    canary = Label.objects.get(name="canary")
    assert (canary.version, canary.approvals) == (1, 0)
    assert Event.objects.filter(kind="LabelCreated").get().actor == "user:ada"
    before = snapshot(Label)
    admin_client.post(url(Label, "change", canary.pk), {"version": 9, "percent": 5})
    admin_client.post(url(Label, "delete", canary.pk), {"post": "yes"})
    assert snapshot(Label) == before


def test_on_apply_may_name_only_labels_the_target_has_and_its_change_is_logged(
    admin_client: Client, world: World
) -> None:
    from patches.admin_targets import TargetChangeForm

    target = world.target
    form = TargetChangeForm(instance=target)
    data = {**form.initial, "on_apply": '["staging"]', "owners": [], "mandatory_tests": [],
            "offered_tests": [], "audit_rules": json.dumps(target.audit_rules)}  # fmt: skip
    data.pop("schema", None)
    refused = TargetChangeForm(data, instance=target)
    assert not refused.is_valid() and "has no label staging" in str(refused.errors["on_apply"])
    data["on_apply"] = "[]"
    accepted = TargetChangeForm(data, instance=target)
    assert accepted.is_valid(), accepted.errors
