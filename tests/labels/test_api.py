"""GET /api/v1/targets[/{name}?label=&instance=] and POST …/observed, over HTTP."""

from __future__ import annotations

from typing import Any

from django.test import Client

from audit.label_moves import label_move_approve, label_move_request
from patches.label_models import Label, Observation
from patches.labels import label_read
from patches.models import Event
from tests.api.conftest import assert_problem
from tests.labels.conftest import events_of, routing_target

API = "/api/v1"
MOVED_KEYS = {
    "target", "label", "from_version", "to_version", "percent", "reason", "requested_by",
    "approved_by",
}  # fmt: skip


def get(persona: Any, path: str, **extra: Any) -> Any:
    return Client().get(API + path, **persona.auth, **extra)


def test_the_list_names_each_targets_labels_and_their_versions(smith, apply):
    router = routing_target(on_apply=["production", "staging"])
    apply(router, 2.0)
    body = get(smith, "/targets").json()
    assert body[0]["labels"] == {"production": 2, "staging": 2}


def test_an_apply_moves_only_the_on_apply_labels_and_production_waits_for_its_approval(
    smith, apply, rita, rob
):
    router = routing_target(on_apply=["staging"])
    assert sorted(router.labels.values_list("name", flat=True)) == ["production", "staging"]
    v2 = apply(router, 2.0)
    staging = get(smith, "/targets/router?label=staging").json()
    production = get(smith, "/targets/router").json()
    assert (staging["version"], staging["label"], staging["rollout"]) == (2, "staging", None)
    assert (production["version"], production["label"]) == (1, "production")
    assert production["content"]["threshold"] == 1.0

    move = label_move_request(
        label=router.labels.get(name="production"), to_version=2, reason="Staging held.", user=rita
    )
    assert move.status == "waiting"
    assert get(smith, "/targets/router").json()["version"] == 1  # not before the approval
    label_move_approve(move=move, user=rob)
    served = get(smith, "/targets/router").json()
    assert (served["version"], served["content_hash"]) == (2, v2.content_hash)

    applied_move, promotion = events_of("LabelMoved")
    assert set(applied_move) >= MOVED_KEYS and set(promotion) >= MOVED_KEYS
    assert {k: applied_move[k] for k in MOVED_KEYS} == {
        "target": "router", "label": "staging", "from_version": 1, "to_version": 2,
        "percent": 100, "reason": applied_move["reason"], "requested_by": None, "approved_by": [],
    }  # fmt: skip
    assert applied_move["patch_hash"] in applied_move["reason"]
    assert {k: promotion[k] for k in MOVED_KEYS} == {
        "target": "router", "label": "production", "from_version": 1, "to_version": 2,
        "percent": 100, "reason": "Staging held.", "requested_by": "rita", "approved_by": ["rob"],
    }  # fmt: skip
    # The apply's move is logged in the apply's transaction, right after its PatchApplied.
    kinds = list(Event.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds[kinds.index("PatchApplied") + 1] == "LabelMoved"
    assert events_of("PatchApplied")[0]["labels_moved"] == ["staging"]


def _served(smith: Any, names: list[str]) -> set[str]:
    """The instances the canary label serves v2 to, each read over the API."""
    new = set()
    for name in names:
        body = get(smith, f"/targets/router?label=canary&instance={name}").json()
        if body["version"] == 2:
            new.add(name)
    return new


def _served_quickly(names: list[str]) -> set[str]:
    """The same through the service the API calls (label_read), 20 times faster."""
    reads = [label_read(target_name="router", label_name="canary", instance=n) for n in names]
    return {read.instance for read in reads if read.version.version == 2}


def test_a_ten_percent_rollout_serves_the_same_tenth_then_all_then_none(smith, apply, rita):
    router = routing_target(on_apply=[])
    apply(router, 2.0)
    canary = Label.objects.create(target=router, name="canary", version=1, approvals=0)
    names = [f"agent-{i}" for i in range(1000)]

    def step(to_version: int, percent: int) -> None:
        move = label_move_request(
            label=canary, to_version=to_version, percent=percent, reason="step", user=rita
        )
        assert move.status == "moved"

    step(2, 10)
    tenth = _served(smith, names)
    assert 80 <= len(tenth) <= 120
    assert _served_quickly(names) == tenth  # sticky
    body = get(smith, f"/targets/router?label=canary&instance={sorted(tenth)[0]}").json()
    assert body["rollout"]["from_version"] == 1 and body["rollout"]["to_version"] == 2
    assert body["rollout"]["percent"] == 10 and body["rollout"]["bucket"] < 10
    step(2, 50)
    half = _served_quickly(names)
    assert tenth < half and 400 <= len(half) <= 600
    step(2, 100)
    assert _served_quickly(names) == set(names)
    step(1, 100)
    assert _served(smith, names[:100]) == _served_quickly(names) == set()
    moves = [(m["from_version"], m["to_version"], m["percent"]) for m in events_of("LabelMoved")]
    assert moves == [(1, 2, 10), (1, 2, 50), (1, 2, 100), (2, 1, 100)]
    assert len(events_of("LabelMoveRequested")) == 4


def test_the_instance_defaults_to_the_agents_name(smith, apply, rita):
    router = routing_target(on_apply=[])
    apply(router, 2.0)
    canary = Label.objects.create(target=router, name="canary", version=1, approvals=0)
    label_move_request(label=canary, to_version=2, percent=50, reason="half", user=rita)
    mine = get(smith, "/targets/router?label=canary").json()
    named = get(smith, "/targets/router?label=canary&instance=agent-smith").json()
    assert mine == named and mine["rollout"]["bucket"] == 97  # pinned in test_rollout


def test_a_label_read_has_the_served_versions_etag_and_answers_304(smith, db):
    routing_target()
    response = get(smith, "/targets/router?label=production&instance=x")
    etag = response["ETag"]
    assert etag == f'"{response.json()["content_hash"]}"'
    again = get(smith, "/targets/router?label=production&instance=x", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag


def test_an_unknown_label_or_target_is_a_404_problem_and_long_names_a_422(smith, db):
    routing_target()
    assert_problem(get(smith, "/targets/router?label=nope"), 404, "unknown-label")
    assert_problem(get(smith, "/targets/nope?label=production"), 404, "not-found")
    assert_problem(get(smith, "/targets/router?label=" + "x" * 51), 422, "validation-error")
    assert_problem(get(smith, "/targets/router?instance=" + "x" * 201), 422, "validation-error")
    assert_problem(get(smith, "/targets/router?label=a%00b"), 404, "not-found")


def observe(persona: Any, body: Any, target: str = "router") -> Any:
    import json

    return Client().post(
        f"{API}/targets/{target}/observed",
        data=json.dumps(body),
        content_type="application/json",
        **persona.auth,
    )


HASH = "sha256:" + "ab" * 32


def test_observed_keeps_the_latest_report_per_instance_and_writes_no_event(smith, db):
    routing_target()
    events = Event.objects.count()
    assert observe(smith, {"instance": "i-1", "content_hash": HASH}).status_code == 204
    other = "sha256:" + "cd" * 32
    assert observe(smith, {"instance": "i-1", "content_hash": other}).status_code == 204
    assert (
        observe(smith, {"instance": "i-2", "content_hash": HASH, "label": "x"}).status_code == 204
    )
    rows = list(
        Observation.objects.order_by("instance").values_list("instance", "content_hash", "label")
    )
    assert rows == [("i-1", other, "production"), ("i-2", HASH, "x")]
    assert Event.objects.count() == events


def test_observed_refuses_bad_input_and_stores_nothing(smith, db):
    routing_target()
    bad = [
        ({"instance": "i", "content_hash": "sha256:xyz"}, 422),
        ({"instance": "", "content_hash": HASH}, 422),
        ({"instance": "x" * 201, "content_hash": HASH}, 422),
        ({"instance": "a\u0000b", "content_hash": HASH}, 422),
        ({"instance": "i", "content_hash": HASH, "label": "not a slug"}, 422),
        ({"content_hash": HASH}, 422),
    ]
    for body, status in bad:
        assert observe(smith, body).status_code == status, body
    assert_problem(
        observe(smith, {"instance": "i", "content_hash": HASH}, "nope"), 404, "not-found"
    )
    assert Observation.objects.count() == 0


def test_observed_is_rate_limited_per_agent(smith, db, settings):
    routing_target()
    settings.OBSERVED_RATE_LIMIT = 3
    for i in range(3):
        assert observe(smith, {"instance": f"i-{i}", "content_hash": HASH}).status_code == 204
    refused = observe(smith, {"instance": "i-9", "content_hash": HASH})
    assert_problem(refused, 429, "too-many-reports")
    assert refused["Retry-After"] == str(settings.OBSERVED_RATE_WINDOW_S)
    assert Observation.objects.count() == 3


def test_observed_caps_the_instances_one_agent_may_report(smith, db, settings):
    routing_target()
    settings.OBSERVED_MAX_INSTANCES = 2
    for i in range(2):
        assert observe(smith, {"instance": f"i-{i}", "content_hash": HASH}).status_code == 204
    assert_problem(
        observe(smith, {"instance": "i-9", "content_hash": HASH}), 429, "too-many-reports"
    )
    assert observe(smith, {"instance": "i-0", "content_hash": HASH}).status_code == 204
    assert Observation.objects.count() == 2
