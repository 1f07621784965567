"""A reviewer requests a label move on the target page; another approves it; no CSP violation."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from patches.formats import content_hash
from patches.label_models import Label
from patches.models import Target, TargetVersion
from tests.browser.conftest import login, watch
from tests.factories import ROUTING, make_reviewer, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_move_is_requested_and_approved_by_someone_else_in_the_browser(live_server, browser):
    make_reviewer("rita")
    make_reviewer("rob")
    router = make_target(name="router", patch_type="Routing", content=ROUTING, on_apply=[])
    # A second version without the gates: this test is about the label form.
    content = json.dumps({**ROUTING, "threshold": 2.0}, separators=(",", ":"))
    TargetVersion.objects.create(
        target=router, version=2, content=content, content_hash=content_hash(content)
    )
    Target.objects.filter(pk=router.pk).update(version=2)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = watch(context.new_page())
    page = watched.page
    login(page, live_server.url, "rita")
    page.goto(f"{live_server.url}/targets/router/")
    form = page.get_by_test_id("move-label")
    form.get_by_label("Label").select_option("production")
    form.get_by_label("Version").select_option("1")
    form.get_by_label("Reason").fill("Back to v1.")
    # v1 is where production is already: the refusal is shown and nothing waits.
    form.get_by_role("button", name="Move label").click()
    expect(page.locator(".message-error")).to_contain_text("already serves v1")

    form = page.get_by_test_id("move-label")
    form.get_by_label("Version").select_option("2")
    form.get_by_label("Reason").fill("Promote v2.")
    form.get_by_role("button", name="Move label").click()
    expect(page.locator(".message-success")).to_contain_text("Requested moving production to v2")
    expect(page.get_by_test_id("label-moves")).to_contain_text("someone else must approve it")
    expect(page.get_by_test_id("fleet")).to_be_visible()
    assert watched.csp_violations() == []
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = watch(context.new_page())
    page = watched.page
    login(page, live_server.url, "rob")
    page.goto(f"{live_server.url}/targets/router/")
    page.get_by_role("button", name="Approve move").click()
    expect(page.locator(".message-success")).to_contain_text("production moved to v2")
    expect(page.get_by_test_id("label-production")).to_contain_text("v2")
    assert Label.objects.get(target=router, name="production").version == 2
    assert watched.csp_violations() == []
    context.close()
