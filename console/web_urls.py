"""URLs of the reviewer console pages."""

from django.urls import path

from console.views import (
    agents,
    events,
    inbox,
    labels,
    live,
    proposal,
    revisions,
    targets,
    transparency,
    webhooks,
)

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
    path("proposals/<int:proposal_id>/live/", proposal.proposal_live, name="proposal-live"),
    path(
        "proposals/<int:proposal_id>/withdraw/",
        proposal.proposal_withdraw_view,
        name="proposal-withdraw",
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
    path("targets/<slug:name>/labels/", labels.label_create_view, name="label-create"),
    path("targets/<slug:name>/labels/move/", labels.label_move_view, name="label-move"),
    path(
        "targets/<slug:name>/labels/requests/<int:request_id>/approve/",
        labels.label_approve_view,
        name="label-approve",
    ),
    path(
        "targets/<slug:name>/labels/requests/<int:request_id>/withdraw/",
        labels.label_withdraw_view,
        name="label-withdraw",
    ),
    path("events/", events.event_log, name="events"),
    path("log/", transparency.transparency_log, name="transparency-log"),
    path("agents/", agents.agent_list, name="agents"),
    path("agents/keys/<str:key_id>/revoke/", agents.agent_key_revoke_view, name="agent-key-revoke"),
    path("agents/<slug:name>/token/", agents.agent_token_rotate_view, name="agent-token-rotate"),
    path("webhooks/", webhooks.webhook_list, name="webhooks"),
    path(
        "webhooks/<int:subscription_id>/resume/",
        webhooks.webhook_resume_view,
        name="webhook-resume",
    ),
    path(
        "webhooks/<int:subscription_id>/pause/", webhooks.webhook_pause_view, name="webhook-pause"
    ),
    path("live/awaiting-count/", live.awaiting_count_view, name="live-count"),
]
