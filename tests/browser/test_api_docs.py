"""The agent API's docs page renders Swagger UI from local files under the strict CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_page_shows_every_operation_with_no_csp_violation(
    live_server, desktop: Watched
):
    page = desktop.page
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(live_server.url) or request.url.startswith("data:")
            else outside.append(request.url)
        ),
    )
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("/api/v1/proposals/{proposal_id}/withdraw")).to_be_visible()
    expect(page.get_by_text("/api/v1/targets/{name}", exact=True)).to_be_visible()
    assert desktop.csp_violations() == []
    assert outside == []
