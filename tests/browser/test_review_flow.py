"""A reviewer in a real browser: watch the gate, read the diff, approve, reject, and revert rules."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from audit.gates import run_gates
from audit.reviews import review_record
from console.celery import app as celery_app
from patches.signing import console_private_key, private_key_pem
from tests.browser.conftest import Watched, login, screenshot
from tests.console.conftest import in_review, prompt_patch, submit
from tests.factories import PROMPT, make_agent, make_reviewer, make_target, make_test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    """The database pytest-django made for this run, as the worker's DATABASE_URL."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def real_worker(transactional_db, tmp_path, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A Celery worker process on the test database, fed through a private filesystem broker."""
    queue, processed = tmp_path / "broker" / "queue", tmp_path / "broker" / "processed"
    queue.mkdir(parents=True)
    processed.mkdir()
    # control_folder too: kombu otherwise writes its exchange table to ./control in the checkout.
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue),
               "processed_folder": str(processed), "store_processed": False,
               "control_folder": str(tmp_path / "broker" / "control")}  # fmt: skip
    celery_app.conf.task_always_eager = False
    connection = celery_app.connection_for_write("filesystem://", transport_options=options)
    monkeypatch.setattr(
        run_gates,
        "delay",
        lambda pid: run_gates.apply_async(args=[pid], connection=connection),
    )
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")  # what conf.broker_url reads first
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "CELERY", "DATABASE"))
    }
    env.update(
        DATABASE_URL=_test_database_url(),
        VAR_DIR=str(tmp_path),  # its broker folders are the ones above
        CELERY_BROKER_URL="filesystem://",
        # The same console key as this process, so anything it signs verifies here.
        CONSOLE_SIGNING_KEY=private_key_pem(console_private_key()).decode(),
        DJANGO_SETTINGS_MODULE="console.settings",
        LOG_LEVEL="WARNING",
    )
    argv = [sys.executable, "-m", "celery", "-A", "console", "worker", "--pool", "solo",
            "--loglevel", "WARNING", "-n", "browser-test@%h",
            "--without-heartbeat", "--without-gossip", "--without-mingle"]  # fmt: skip
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    yield
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=10)
    connection.release()


def _slow_prompt_target():  # type: ignore[no-untyped-def]
    make_test("prompt-placeholders", "placeholders")
    # Slow enough that the reviewer sees the gate running before it finishes.
    make_test("slow-check", "command", {"argv": ["sh", "-c", "sleep 2"], "timeout_s": 20})
    return make_target(
        "system_prompt", "Prompt", PROMPT, tests=["prompt-placeholders", "slow-check"]
    )


@pytest.mark.worker
def test_a_reviewer_watches_the_gate_finish_reads_the_diff_and_approves(
    live_server, desktop: Watched, real_worker
):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    agent = make_agent("agent-smith")
    target = _slow_prompt_target()
    login(page, url, "rita")
    expect(page.get_by_test_id("inbox-summary")).to_contain_text("0 proposals awaiting")

    proposal = submit(agent, target, reasoning="Shorter answers.\nThey read better on phones.")
    page.goto(f"{url}/?status=testing")
    page.get_by_role("link", name=f"#{proposal.pk}", exact=True).click()
    page.wait_for_url(f"{url}/proposals/{proposal.pk}/")
    # The gate is still going: the partial is polling.
    expect(page.locator('#gate[hx-trigger="every 1s"]')).to_have_count(1)
    expect(page.get_by_test_id("gate")).to_have_attribute("data-finished", "false")

    expect(page.get_by_test_id("proposal-status")).to_have_text("In Review", timeout=30_000)
    expect(page.get_by_test_id("gate")).to_have_attribute("data-finished", "true")
    expect(page.locator("#gate[hx-trigger]")).to_have_count(0)
    expect(page.get_by_test_id("test-slow-check")).to_contain_text("Passed")
    expect(page.get_by_test_id("reasoning")).to_have_text(
        "Shorter answers.\nThey read better on phones."
    )
    expect(page.get_by_test_id("diff")).to_contain_text("Answer politely and briefly.")
    screenshot(page, "proposal-unified-1280")
    page.get_by_role("link", name="Side by side").click()
    expect(page.get_by_test_id("diff")).to_have_attribute("data-mode", "split")
    screenshot(page, "proposal-split-1280")

    page.get_by_label("Reason").fill("Clearer, and the placeholders are intact.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".message-success")).to_contain_text("applied as v2")
    expect(page.get_by_test_id("proposal-status")).to_have_text("Applied")

    page.goto(f"{url}/targets/system_prompt/")
    expect(page.get_by_test_id("target-version")).to_have_text("v2")
    expect(page.get_by_test_id("target-content")).to_contain_text("Answer politely and briefly.")
    screenshot(page, "target-history-1280")
    page.goto(f"{url}/events/")
    applied = page.get_by_test_id("event-PatchApplied")
    expect(applied).to_have_count(1)
    expect(applied).to_contain_text(f"proposal #{proposal.pk}")
    expect(page.get_by_test_id("chain-status")).to_contain_text("Chain verified up to seq")
    screenshot(page, "events-1280")
    assert desktop.dialogs == [] and desktop.csp_violations() == []


def test_a_reviewer_opens_a_proposal_with_the_keyboard_and_rejects_it(
    live_server, desktop: Watched
):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    target = make_target("system_prompt", "Prompt", PROMPT)
    proposal = in_review(make_agent("agent-smith"), target)
    login(page, url, "rita")
    screenshot(page, "inbox-1280")
    page.keyboard.press("?")
    expect(page.locator("dialog#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/proposals/{proposal.pk}/")
    page.keyboard.press("j")
    expect(page.locator("[data-nav-section].selected")).to_have_count(1)
    page.keyboard.press("r")
    expect(page.get_by_label("Reason")).to_be_focused()
    page.keyboard.type("It drops the politeness rule.")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.get_by_test_id("proposal-status")).to_have_text("Rejected")
    expect(page.get_by_test_id("proposal-reason")).to_have_text(
        "Rejected by rita: It drops the politeness rule."
    )
    expect(page.locator("#awaiting-count")).to_have_text("0")
    assert desktop.dialogs == [] and desktop.csp_violations() == []


def test_the_reviewer_who_proposed_a_revert_sees_why_they_cannot_decide(
    live_server, desktop: Watched
):
    page, url = desktop.page, live_server.url
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    target = make_target("system_prompt", "Prompt", PROMPT)
    applied = in_review(make_agent("agent-smith"), target)
    review_record(proposal=applied, reviewer=rob, decision="approve", reason="ok",
                  patch_hash=applied.patch_hash, base_content_hash=applied.base_content_hash)  # fmt: skip
    login(page, url, "rita")
    page.goto(f"{url}/targets/system_prompt/")
    page.get_by_test_id("revert-2").click()
    page.get_by_label("Why restore v1?").fill("The short version confused customers.")
    page.get_by_test_id("revert-submit-2").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("You proposed this patch")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("diff")).to_contain_text("Answer politely.")
    assert rita.submitted_proposals.count() == 1


def test_inbox_filters_apply_in_place_and_stay_in_the_url(live_server, desktop: Watched):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    target = make_target("system_prompt", "Prompt", PROMPT)
    agent = make_agent("agent-smith")
    first = in_review(agent, target)
    in_review(agent, target, patch=prompt_patch(target, "Answer in French.\n"))
    login(page, url, "rita")
    expect(page.locator("tr[data-href]")).to_have_count(2)
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Patch hash").fill(first.patch_hash[7:19])
    expect(page.locator("tr[data-href]")).to_have_count(1)
    assert f"q={first.patch_hash[7:19]}" in page.url
    assert page.evaluate("window.__notReloaded") is True
    page.get_by_label("Status").select_option("rejected")
    expect(page.locator("tr[data-href]")).to_have_count(0)
    assert "status=rejected" in page.url


def test_the_proposal_page_is_usable_at_phone_width(live_server, phone: Watched):
    page, url = phone.page, live_server.url
    make_reviewer("rita")
    target = make_target("system_prompt", "Prompt", PROMPT)
    proposal = in_review(make_agent("agent-smith"), target)
    login(page, url, "rita")
    screenshot(page, "inbox-phone")
    page.goto(f"{url}/proposals/{proposal.pk}/")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
    screenshot(page, "proposal-phone")
