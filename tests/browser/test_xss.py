"""Agent-supplied text full of markup renders as text in the browser, and no script of it runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from audit.reviews import review_record
from tests.browser.conftest import Watched, login
from tests.console.conftest import in_review, prompt_patch
from tests.factories import make_agent, make_reviewer, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = (
    "<script>window.__xss=1;alert(1)</script>"
    '<img src=x onerror="window.__xss=2;alert(2)">'
    '<svg onload="window.__xss=3"></svg>'
    '<a href="javascript:window.__xss=4">click me</a>'
    '<iframe src="javascript:alert(5)"></iframe>'
    "\"'><body onload=alert(6)><style>body{display:none}</style>"
)
INJECTED = 'img[src="x"], svg[onload], a[href^="javascript:"], iframe, body[onload], main style'


def test_reasoning_patch_and_content_full_of_markup_render_as_text(live_server, desktop: Watched):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    rob = make_reviewer("rob")
    target = make_target("xss_prompt", "Prompt", "Hello {name}.\n" + PAYLOAD + "\nBye.\n")
    agent = make_agent("agent-smith")
    applied = in_review(agent, target, reasoning=PAYLOAD, patch=prompt_patch(target, "Plain.\n"))
    review_record(proposal=applied, reviewer=rob, decision="approve", reason=PAYLOAD,
                  patch_hash=applied.patch_hash, base_content_hash=applied.base_content_hash)  # fmt: skip
    target.refresh_from_db()
    pending = in_review(
        agent, target, reasoning="Line one\n" + PAYLOAD, patch=prompt_patch(target, PAYLOAD + "\n")
    )
    login(page, url, "rita")

    pages = [
        f"/proposals/{pending.pk}/",
        f"/proposals/{pending.pk}/?mode=split",
        f"/proposals/{applied.pk}/",
        "/targets/xss_prompt/",
        "/targets/xss_prompt/compare/1..2/?mode=split",
        "/events/",
        "/?status=all",
    ]
    for path in pages:
        page.goto(url + path)
        expect(page.locator("main")).to_be_visible()
        assert page.locator(INJECTED).count() == 0, path
        assert page.evaluate("typeof window.__xss") == "undefined", path

    page.goto(f"{url}/proposals/{pending.pk}/")
    expect(page.get_by_test_id("reasoning")).to_contain_text(
        "<script>window.__xss=1;alert(1)</script>"
    )
    expect(page.get_by_test_id("diff")).to_contain_text(
        '<img src=x onerror="window.__xss=2;alert(2)">'
    )
    page.goto(f"{url}/targets/xss_prompt/")
    expect(page.get_by_test_id("target-content")).to_contain_text("Plain.")
    page.goto(f"{url}/proposals/{applied.pk}/")
    expect(page.get_by_test_id("reviews")).to_contain_text('<a href="javascript:window.__xss=4">')
    page.goto(f"{url}/events/")
    page.locator("details summary").first.click()
    assert desktop.dialogs == []
    assert desktop.csp_violations() == []
