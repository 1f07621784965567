"""Before a decision has side effects, the console says so (issue: reviewer console, second
pass): the decision box names the open proposals an approval will make stale, only those of
the same target, and the confirmation after the click names them again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from patches.client import AgentClient
from patches.models import Proposal
from tests.browser.conftest import Watched, login, screenshot
from tests.factories import make_agent, make_reviewer, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINES = "".join(f"Line {n} of the prompt.\n" for n in range(1, 21))


def test_the_stale_warning_lists_the_right_proposals_before_and_after_the_click(
    live_server, desktop: Watched
):
    page, url = desktop.page, live_server.url
    make_target(name="helper", patch_type="Prompt", content=LINES)
    make_target(name="other", patch_type="Prompt", content=LINES)
    make_reviewer("rita")
    persona = make_agent("writer")
    agent = AgentClient(url=url, token=persona.token)

    def propose(target: str, line: int) -> int:
        old = f"Line {line} of the prompt."
        answer = agent.propose(
            private_key=persona.private_key,
            target=target,
            reasoning=f"Reword line {line} so that it reads more plainly.",
            new_content=LINES.replace(old, f"Line {line}, reworded."),
        )
        return int(answer["id"])

    first = propose("helper", 2)
    same_target = [propose("helper", 10), propose("helper", 15)]
    elsewhere = propose("other", 4)

    login(page, url, "rita")
    page.goto(f"{url}/proposals/{first}/")
    warning = page.get_by_test_id("would-make-stale")
    a, b = (f"#{pk}" for pk in same_target)
    expect(warning).to_have_text(
        f"Approving applies this patch and makes {a} and {b} stale (their agents can rebase them)."
    )
    expect(warning).not_to_contain_text(f"#{elsewhere}")
    screenshot(page, "stale-warning-1280")

    page.get_by_label("Reason").fill("Line 2 reads better.")
    page.get_by_role("button", name="Approve", exact=True).click()
    confirmation = page.locator(".message-success")
    expect(confirmation).to_contain_text("applied as v2")
    expect(confirmation).to_contain_text(f"{a} and {b} are now stale")
    expect(confirmation).not_to_contain_text(f"#{elsewhere}")

    statuses = dict(Proposal.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in same_target] == ["stale", "stale"]
    assert statuses[elsewhere] == "in_review"
    assert desktop.dialogs == [] and desktop.csp_violations() == []
