"""Every page at desktop and phone width: no sideways scrolling at 390 px, no serious or
critical axe-core violation, and a screenshot of each (tests/browser/screenshots, git-ignored)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, login, screenshot, watch
from tests.browser.world import DemoWorld, demo_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()


def _pages(world: DemoWorld) -> dict[str, str]:
    pages = {
        "inbox": "/",
        "inbox-all": "/?status=all",
        "targets": "/targets/",
        "target-prompt": "/targets/system_prompt/",
        "target-json": "/targets/refund_policy/",
        "compare-split": "/targets/system_prompt/compare/1..3/?mode=split",
        "events": "/events/",
        "agents": "/agents/",
        "not-found": "/proposals/999999/",
        "api-docs": "/api/v1/docs",
    }
    for patch_type, proposal in world.by_type.items():
        pages[f"proposal-{patch_type.lower()}"] = f"/proposals/{proposal.pk}/"
    pages["proposal-prompt-split"] = f"/proposals/{world.by_type['Prompt'].pk}/?mode=split"
    return pages


def _serious(page: Page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(", ".join(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _visit(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("body")).to_be_visible()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> DemoWorld:
    return demo_world(settings, tmp_path)


def test_no_page_scrolls_sideways_at_390_px(live_server, browser: Browser, world: DemoWorld):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    watched = watch(context.new_page())
    page, url = watched.page, live_server.url
    _visit(page, f"{url}/accounts/login/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "login-phone")
    login(page, url, "admin")
    wide = {}
    for name, path in _pages(world).items():
        _visit(page, url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[name] = width
        screenshot(page, f"{name}-phone")
    assert wide == {}, f"pages that scroll sideways at 390 px: {wide}"
    # The decision box is reachable from the top of a long proposal page.
    _visit(page, url + _pages(world)["proposal-prompt"])
    bar = page.get_by_role("link", name="Decide: approve, reject or request changes ↓")
    expect(bar).to_be_in_viewport()
    bar.click()
    expect(page.get_by_label("Reason")).to_be_in_viewport()
    assert watched.csp_violations() == []
    context.close()


def test_axe_finds_no_serious_or_critical_violation(
    live_server, browser: Browser, world: DemoWorld
):
    context = browser.new_context(viewport=DESKTOP)
    page, url = context.new_page(), live_server.url
    found: dict[str, list[str]] = {}
    _visit(page, f"{url}/accounts/login/")
    found["login"] = _serious(page)
    screenshot(page, "login-1280")
    login(page, url, "admin")
    for name, path in _pages(world).items():
        _visit(page, url + path)
        found[name] = _serious(page)
        screenshot(page, f"{name}-1280")
    assert {name: v for name, v in found.items() if v} == {}
    context.close()


def test_the_console_has_a_favicon(live_server, browser: Browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href
    response = page.request.get(live_server.url + href)
    assert response.status == 200 and response.headers["content-type"].startswith("image/")
    context.close()
