"""URLs of the reviewer console pages."""

from django.urls import path

from console.views import agents, events, inbox, proposal, revisions, targets

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("proposals/<int:proposal_id>/", proposal.proposal_detail, name="proposal"),
    path(
        "proposals/<int:proposal_id>/requests/<int:review_id>/withdraw/",
        revisions.change_request_withdraw_view,
        name="change-request-withdraw",
    ),
    path("proposals/<int:proposal_id>/gate/", proposal.proposal_gate, name="proposal-gate"),
    path(
        "proposals/<int:proposal_id>/interdiff/",
        revisions.proposal_interdiff,
        name="proposal-interdiff",
    ),
    path(
        "proposals/<int:proposal_id>/interdiff/<int:old>..<int:new>/",
        revisions.proposal_interdiff_revisions,
        name="proposal-interdiff-revisions",
    ),
    path("targets/", targets.target_list, name="targets"),
    path("targets/<slug:name>/", targets.target_detail, name="target"),
    path("targets/<slug:name>/compare/", targets.target_compare, name="target-compare"),
    path(
        "targets/<slug:name>/compare/<int:old>..<int:new>/",
        targets.target_compare_versions,
        name="target-compare-versions",
    ),
    path(
        "targets/<slug:name>/versions/<int:version>/revert/",
        targets.target_revert,
        name="target-revert",
    ),
    path("events/", events.event_log, name="events"),
    path("agents/", agents.agent_list, name="agents"),
    path("agents/keys/<str:key_id>/revoke/", agents.agent_key_revoke_view, name="agent-key-revoke"),
    path("agents/<slug:name>/token/", agents.agent_token_rotate_view, name="agent-token-rotate"),
]
