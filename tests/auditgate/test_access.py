"""Who may decide: separation of duties, owners, admins, inactive people, one review each."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User

from audit.access import review_refusal
from audit.models import Review
from audit.reviews import ReviewRefused
from patches.models import ProposalStatus
from tests.auditgate.conftest import approve, proposal_make, routing_target, weight

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(agent):  # type: ignore[no-untyped-def]
    return proposal_make(agent, routing_target(required_approvals=2), weight("billing", 2.0))


def test_a_member_of_the_reviewers_group_may_review(proposal, rita):
    assert review_refusal(user=rita, proposal=proposal) is None


def test_someone_outside_the_reviewers_group_is_refused(proposal):
    outsider = User.objects.create_user("otto", password="correct horse battery")
    assert review_refusal(user=outsider, proposal=proposal) == (
        "Only members of the 'reviewers' group may review proposals."
    )
    with pytest.raises(ReviewRefused, match="Only members"):
        approve(proposal, outsider)
    assert not Review.objects.exists()


def test_the_person_who_proposed_the_patch_is_refused(proposal, rita):
    proposal.submitted_by = rita
    proposal.save()
    assert review_refusal(user=rita, proposal=proposal) == (
        "You proposed this patch; someone else must review it."
    )
    with pytest.raises(ReviewRefused, match="someone else must review"):
        approve(proposal, rita)


def test_an_anonymous_visitor_is_refused(proposal):
    # Agents have no Django user: whatever reaches the review service without a session login
    # (an API token included) arrives as an anonymous user.
    assert review_refusal(user=AnonymousUser(), proposal=proposal) == "Sign in to review proposals."
    assert review_refusal(user=None, proposal=proposal) == "Sign in to review proposals."


def test_an_inactive_reviewer_is_refused(proposal, rita):
    rita.is_active = False
    rita.save()
    assert review_refusal(user=rita, proposal=proposal) == "Your account is inactive."


def test_when_a_target_names_owners_only_they_may_review(agent, rita, rob):
    target = routing_target()
    target.owners.add(rob)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert (
        review_refusal(user=rita, proposal=proposal)
        == "Only the owners of router may review it (rob)."
    )
    assert review_refusal(user=rob, proposal=proposal) is None
    with pytest.raises(ReviewRefused, match="Only the owners"):
        approve(proposal, rita)


def test_an_owner_outside_the_reviewers_group_may_review_their_target(agent):
    owner = User.objects.create_user("olga", password="correct horse battery")
    target = routing_target()
    target.owners.add(owner)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert review_refusal(user=owner, proposal=proposal) is None


def test_an_admin_may_review_any_target_even_one_with_owners(agent, rob):
    admin = User.objects.create_superuser("ada", password="correct horse battery")
    target = routing_target()
    target.owners.add(rob)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert review_refusal(user=admin, proposal=proposal) is None


def test_staff_who_are_not_superusers_are_not_admins_and_may_not_review_owned_targets(agent, rob):
    staff = User.objects.create_user("sam", password="correct horse battery", is_staff=True)
    target = routing_target()
    target.owners.add(rob)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert review_refusal(user=staff, proposal=proposal) == (
        f"Only the owners of {target.name} may review it (rob)."
    )


def test_each_person_reviews_a_proposal_once(proposal, rita):
    approve(proposal, rita)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert review_refusal(user=rita, proposal=proposal) == (
        "You already approved this proposal; each person reviews a proposal once."
    )
    with pytest.raises(ReviewRefused, match="already approved"):
        approve(proposal, rita)
    assert Review.objects.count() == 1


def test_a_proposal_still_in_testing_cannot_be_reviewed(agent, rita):
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0), passed=False)
    assert review_refusal(user=rita, proposal=proposal) == (
        "This proposal is testing; only proposals in review can be decided."
    )


def test_an_agents_api_token_cannot_reach_the_review_form(client, agent, proposal):
    # Agents authenticate with bearer tokens, which only the API reads; the console's review
    # form needs a session login, so an agent cannot approve even its own patch.
    response = client.post(
        f"/proposals/{proposal.pk}/",
        {
            "decision": "approve",
            "reason": "I wrote it, so it is fine.",
            "patch_hash": proposal.patch_hash,
            "base_content_hash": proposal.base_content_hash,
        },
        **agent.auth,
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Review.objects.exists()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.IN_REVIEW
