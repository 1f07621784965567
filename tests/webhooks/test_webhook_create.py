"""webhook_create: JSON out, the secret stored sealed, refusals with nothing stored."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from console.webhooks.models import WebhookSubscription
from console.webhooks.secrets import secret_open
from patches.log import chain_head
from tests.factories import make_agent, make_target


def _create(*args: str) -> dict:  # type: ignore[type-arg]
    out = io.StringIO()
    call_command("webhook_create", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_prints_the_id_and_secret_and_starts_after_the_head(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    make_target("billing")
    make_agent("writer")
    created = _create(
        "http://127.0.0.1:9/hooks",
        "--events",
        "PatchApplied, PatchRejected",
        "--target",
        "billing",
        "--agent",
        "writer",
    )
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    assert created["secret"].startswith("whsec_")
    assert subscription.event_kinds == ["PatchApplied", "PatchRejected"]
    assert subscription.target_names == ["billing"]
    assert subscription.agent is not None and subscription.agent.name == "writer"
    assert subscription.cursor == chain_head()[0]
    # Stored sealed: the database row does not hold the secret, the console key opens it.
    assert created["secret"] not in subscription.sealed_secret
    assert (
        secret_open(subscription.sealed_secret, subscription_id=subscription.pk)
        == created["secret"]
    )


def test_from_seq_sets_where_delivery_starts(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    make_target("billing")
    make_target("support")
    created = _create("http://127.0.0.1:9/", "--events", "TargetCreated", "--from-seq", "1")
    assert WebhookSubscription.objects.get(pk=created["id"]).cursor == 1


def test_a_sealed_secret_does_not_open_for_another_subscription(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    first = _create("http://127.0.0.1:9/", "--events", "TargetCreated")
    second = _create("http://127.0.0.1:9/", "--events", "TargetCreated")
    sealed = WebhookSubscription.objects.get(pk=first["id"]).sealed_secret
    with pytest.raises(Exception, match="does not open"):
        secret_open(sealed, subscription_id=second["id"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://[::1]/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_a_private_address_is_refused_unless_allowed(db, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(CommandError, match="WEBHOOK_ALLOW_PRIVATE"):
        _create(url, "--events", "PatchApplied")
    assert not WebhookSubscription.objects.exists()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert WebhookSubscription.objects.filter(pk=_create(url, "--events", "PatchApplied")["id"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.com/", "--events", "PatchApplied"], "http:// or https://"),
        (["http://user:pw@127.0.0.1/", "--events", "PatchApplied"], "user name or password"),
        (["http://127.0.0.1/a b", "--events", "PatchApplied"], "spaces or control"),
        (["http://127.0.0.1/caf\u00e9", "--events", "PatchApplied"], "must be ASCII"),
        (["http://127.0.0.1/", "--events", ","], "at least one event kind"),
        (["http://127.0.0.1/", "--events", "patch applied"], "not event kinds"),
        (
            ["http://127.0.0.1/", "--events", "PatchApplied", "--target", "nope"],
            "unknown targets: nope",
        ),
        (["http://127.0.0.1/", "--events", "PatchApplied", "--agent", "nobody"], "unknown agent"),
        (["http://127.0.0.1/", "--events", "PatchApplied", "--from-seq", "99"], "between 0 and"),
        (["http://127.0.0.1/", "--events", "PatchApplied", "--from-seq", "-1"], "between 0 and"),
        (["http://" + "a" * 2000 + ".example/", "--events", "PatchApplied"], "longer than"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_stored(db, settings, args, message):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(CommandError, match=message):
        _create(*args)
    assert not WebhookSubscription.objects.exists()
