"""No N+1: the inbox and proposal pages issue the same number of queries for 3 or 30 rows."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Finding, Review
from patches.models import Proposal
from tests.console.conftest import client_for, in_review, prompt_patch
from tests.factories import make_agent, make_reviewer, make_target, make_test


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _proposals(*, count: int, children: int, suffix: str) -> list[Proposal]:
    """count proposals in review, each with `children` tests, findings and reviews."""
    agent = make_agent(f"agent-{suffix}")
    tests = [
        make_test(f"has-text-{suffix}-{i}", "text_contains", {"text": "Answer"}).name
        for i in range(children)
    ]
    target = make_target(f"prompt-{suffix}", "Prompt", "Hello.\nAnswer politely.\n", tests=tests,
                         required_approvals=100)  # fmt: skip
    reviewers = [make_reviewer(f"r-{suffix}-{i}") for i in range(children)]
    proposals = []
    for i in range(count):
        proposal = in_review(agent, target, patch=prompt_patch(target, f"Answer briefly, {i}.\n"))
        Finding.objects.bulk_create(
            Finding(proposal=proposal, check_name=f"c{j}", severity="raise", message="m")
            for j in range(children)
        )
        Review.objects.bulk_create(
            Review(proposal=proposal, reviewer=reviewer, decision="approve", reason="fine",
                   patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash)
            for reviewer in reviewers
        )  # fmt: skip
        proposals.append(proposal)
    return proposals


def test_the_inbox_costs_the_same_queries_for_3_or_30_proposals(rita):
    client = client_for(rita)
    _proposals(count=3, children=2, suffix="small")
    small = _queries(client, "/?status=all")
    _proposals(count=27, children=2, suffix="big")
    big = _queries(client, "/?status=all")
    print(f"inbox queries: 3 proposals {small}, 30 proposals {big}")
    assert small == big


def test_the_proposal_page_costs_the_same_for_3_or_30_tests_findings_and_reviews(rita):
    client = client_for(rita)
    [small_proposal] = _proposals(count=1, children=3, suffix="small")
    [big_proposal] = _proposals(count=1, children=30, suffix="big")
    small = _queries(client, f"/proposals/{small_proposal.pk}/")
    big = _queries(client, f"/proposals/{big_proposal.pk}/")
    print(f"proposal page queries: 3 children {small}, 30 children {big}")
    assert small == big


def _rejected(*, count: int, suffix: str) -> None:
    """count proposals rejected by a person, each with its reason (the rows' "why it closed")."""
    from audit.reviews import review_record

    for proposal in _proposals(count=count, children=1, suffix=suffix):
        rejecter = make_reviewer(f"no-{suffix}-{proposal.pk}")
        review_record(proposal=proposal, reviewer=rejecter, decision="reject", reason="No.\nWhy.",
                      patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash)  # fmt: skip


def test_the_inbox_costs_the_same_for_3_or_30_closed_proposals_with_their_reasons(rita):
    client = client_for(rita)
    _rejected(count=3, suffix="small")
    small = _queries(client, "/?status=rejected")
    _rejected(count=27, suffix="big")
    big = _queries(client, "/?status=rejected")
    html = client.get("/?status=rejected").content.decode()
    assert html.count("Rejected by no-") == 25  # a page of rows, each naming its rejecter
    print(f"inbox queries, rejected: 3 proposals {small}, 30 proposals {big}")
    assert small == big
