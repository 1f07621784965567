"""The target page's labels, Move label form, version-row rollback, approvals, and fleet."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.label_moves import label_move_request
from audit.models import LabelMoveApproval, LabelMoveRequest
from patches.label_models import Label, Observation
from patches.models import Event, TargetVersion
from tests.console.conftest import client_for
from tests.factories import ROUTING, make_agent, make_reviewer, make_target


def _router(**extra):  # type: ignore[no-untyped-def]
    return make_target(name="router", patch_type="Routing", content=ROUTING, **extra)


def _add_version(target, threshold: float) -> TargetVersion:  # type: ignore[no-untyped-def]
    # A second version without the whole gate: these tests are about labels, not applying.
    import json

    from patches.formats import content_hash

    content = json.dumps({**ROUTING, "threshold": threshold}, separators=(",", ":"))
    target.version += 1
    target.save(update_fields=["version"])
    return TargetVersion.objects.create(
        target=target, version=target.version, content=content, content_hash=content_hash(content)
    )


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_target_page_shows_labels_the_move_form_and_the_fleet(db):
    rita = make_reviewer("rita")
    _router(on_apply=["production", "staging"])
    page = client_for(rita).get("/targets/router/").content.decode()
    assert 'data-testid="labels"' in page and 'data-testid="label-staging"' in page
    assert "Move label" in page and 'name="reason"' in page
    assert 'data-testid="fleet"' in page and 'data-testid="move-to-1"' in page


def test_a_move_waits_for_another_reviewer_and_the_requester_cannot_approve(db):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    router = _router(on_apply=[])
    _add_version(router, 2.0)
    response = client_for(rita).post(
        "/targets/router/labels/move/",
        {"label": "production", "version": 2, "reason": "Promote v2."},
        follow=True,
    )
    assert "Requested moving production to v2" in " ".join(_messages(response))
    move = LabelMoveRequest.objects.get()
    assert "Withdraw request" in client_for(rita).get("/targets/router/").content.decode()
    assert "Withdraw request" not in client_for(rob).get("/targets/router/").content.decode()
    events = Event.objects.count()
    refused = client_for(rita).post(
        f"/targets/router/labels/requests/{move.pk}/approve/", follow=True
    )
    assert "someone else must approve it" in " ".join(_messages(refused))
    assert LabelMoveApproval.objects.count() == 0 and Event.objects.count() == events
    assert Label.objects.get(name="production").version == 1
    client_for(rob).post(f"/targets/router/labels/requests/{move.pk}/approve/")
    assert Label.objects.get(name="production").version == 2
    moved = Event.objects.filter(kind="LabelMoved").get().payload_value
    assert (moved["requested_by"], moved["approved_by"]) == ("rita", ["rob"])


def test_a_rollback_from_a_version_row_with_quorum_zero_is_immediate(db):
    rita = make_reviewer("rita")
    router = _router()
    _add_version(router, 2.0)
    Label.objects.filter(target=router).update(version=2, approvals=0)
    response = client_for(rita).post(
        "/targets/router/labels/move/",
        {"label": "production", "version": 1, "reason": "v2 misroutes refunds."},
        follow=True,
    )
    assert "Moved production to v1" in " ".join(_messages(response))
    assert Label.objects.get(name="production").version == 1


def test_a_move_without_a_reason_or_to_a_missing_version_is_refused_and_stores_nothing(db):
    rita = make_reviewer("rita")
    _router()
    events = Event.objects.count()
    for data in (
        {"label": "production", "version": 1, "reason": ""},
        {"label": "production", "version": 9, "reason": "x"},
        {"label": "production", "version": 1, "reason": "x", "percent": 0},
        {"label": "nope", "version": 1, "reason": "x"},
        {"label": "production", "version": 1, "reason": "already there"},
    ):
        response = client_for(rita).post("/targets/router/labels/move/", data, follow=True)
        assert "did not move" in " ".join(_messages(response)) or "has no label" in " ".join(
            _messages(response)
        ), data
    assert LabelMoveRequest.objects.count() == 0 and Event.objects.count() == events


def test_only_admins_create_labels_and_a_new_label_points_where_production_does(db):
    rita, alice = make_reviewer("rita"), make_reviewer("alice", admin=True)
    _router()
    assert client_for(rita).post("/targets/router/labels/", {"name": "canary"}).status_code == 403
    client_for(alice).post("/targets/router/labels/", {"name": "canary", "approvals": 0})
    canary = Label.objects.get(name="canary")
    assert (canary.version, canary.approvals) == (1, 0)
    created = Event.objects.filter(kind="LabelCreated").get()
    assert created.actor == "user:alice" and created.payload_value["label"] == "canary"


def _observe(target, agent, instance: str, content_hash: str) -> None:  # type: ignore[no-untyped-def]
    Observation.objects.create(
        agent=agent, target=target, instance=instance, content_hash=content_hash,
        last_seen=timezone.now(),
    )  # fmt: skip


def test_the_fleet_shows_an_unknown_content_hash_and_a_wrong_version_as_drift(db):
    rita = make_reviewer("rita")
    router = _router()
    v1 = TargetVersion.objects.get(target=router, version=1)
    v2 = _add_version(router, 2.0)
    smith = make_agent("agent-smith").agent
    _observe(router, smith, "good", v1.content_hash)
    _observe(router, smith, "unknown", "sha256:" + "ee" * 32)
    _observe(router, smith, "ahead", v2.content_hash)
    page = client_for(rita).get("/targets/router/")
    rows = {row.instance: row for row in page.context["fleet"]}
    assert rows["good"].drift == ""
    assert rows["unknown"].drift == "runs a content hash that is no version of the target"
    assert rows["ahead"].drift == "runs v2; its label production serves it v1"
    assert 'data-testid="fleet-drift">2 drifting' in page.content.decode()


def test_owners_see_the_drift_count_in_the_inbox_header(db):
    olga = make_reviewer("olga")
    router = _router()
    router.owners.add(olga)
    _observe(router, make_agent("agent-smith").agent, "i-1", "sha256:" + "ee" * 32)
    assert "Fleet drift: 1 instance" in client_for(olga).get("/").content.decode()
    assert "Fleet drift" not in client_for(make_reviewer("rita")).get("/").content.decode()


def _page_queries(client) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/targets/router/").status_code == 200
    return len(captured)


def test_the_target_page_costs_the_same_queries_for_3_or_30_labels_moves_and_instances(db):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    router = _router(required_approvals=2)
    _add_version(router, 2.0)
    smith = make_agent("agent-smith").agent
    client = client_for(rob)

    def grow(start: int, stop: int) -> None:
        for i in range(start, stop):
            label = Label.objects.create(target=router, name=f"l{i}", version=1)
            move = label_move_request(label=label, to_version=2, reason="r", user=rita)
            LabelMoveApproval.objects.create(request=move, reviewer=make_reviewer(f"x{i}"))
            _observe(router, smith, f"i-{i}", "sha256:" + "ee" * 32)

    grow(0, 3)
    few = _page_queries(client)
    grow(3, 30)
    assert _page_queries(client) == few


def test_agent_supplied_instance_names_are_escaped_on_the_fleet(db):
    rita = make_reviewer("rita")
    router = _router()
    _observe(router, make_agent("agent-smith").agent, '<script>alert("x")</script>', "sha256:1")
    page = client_for(rita).get("/targets/router/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_inbox_drift_count_costs_the_same_queries_for_3_or_30_instances(db):
    olga = make_reviewer("olga")
    router = _router()
    router.owners.add(olga)
    smith = make_agent("agent-smith").agent
    client = client_for(olga)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    for i in range(3):
        _observe(router, smith, f"i-{i}", "sha256:" + "ee" * 32)
    few = queries()
    for i in range(3, 30):
        _observe(router, smith, f"i-{i}", "sha256:" + "ee" * 32)
    assert queries() == few
    assert "Fleet drift: 30 instances" in client.get("/").content.decode()
