"""The client reads by label and instance and reports `observed`, as library and CLI."""

from __future__ import annotations

import json

from patches.client import target_path
from patches.client.__main__ import main
from patches.label_models import Label, Observation
from tests.factories import ROUTING, make_target
from tests.patches.test_client import django_transport, registered  # noqa: F401


def test_the_path_carries_label_and_instance_only_when_given():
    assert target_path("router") == "/targets/router"
    assert target_path("router", label="canary") == "/targets/router?label=canary"
    assert (
        target_path("r", label="a", instance="eu/1 ü")
        == "/targets/r?label=a&instance=eu%2F1+%C3%BC"
    )


def test_the_client_reads_a_label_for_an_instance_and_reports_what_it_runs(registered, capsys):  # noqa: F811
    api, _, _ = registered
    router = make_target(name="router", patch_type="Routing", content=ROUTING)
    Label.objects.create(target=router, name="canary", version=1)
    body, _etag = api.target("router", label="canary", instance="i-1")
    assert body is not None and body["label"] == "canary" and body["rollout"] is None
    api.observed("router", instance="i-1", content_hash=body["content_hash"], label="canary")
    seen = Observation.objects.get()
    assert (seen.instance, seen.label, seen.content_hash) == ("i-1", "canary", body["content_hash"])

    assert main(["target", "router", "--label", "canary", "--instance", "i-2"], client=api) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "canary"
    hash_ = body["content_hash"]
    assert (
        main(["observed", "router", "--instance", "i-2", "--content-hash", hash_], client=api) == 0
    )
    assert Observation.objects.count() == 2
    assert main(["target", "router", "--label", "nope"], client=api) == 1
    assert "unknown-label" in capsys.readouterr().out
