"""Django admin for the audit layer: events, checkpoints, the Merkle tree, witness cosignatures,
findings, reviews and label moves, all read-only."""

from __future__ import annotations

from django.contrib import admin

from audit.models import (
    Checkpoint,
    Cosignature,
    Finding,
    LabelMoveApproval,
    LabelMoveRequest,
    MerkleNode,
    Review,
    ReviewComment,
)
from patches.admin_readonly import ReadOnlyAdmin, pretty_json_html
from patches.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The hash chain; the database triggers refuse edits too, this refuses them first."""

    list_display = ["seq", "kind", "actor", "proposal_id", "created_at", "short_hash"]
    list_filter = ["kind"]
    # The payload holds the patch hash, target and agent names of every proposal event.
    search_fields = ["kind", "actor", "hash", "payload", "proposal__patch_hash"]
    readonly_fields = ["payload_pretty"]
    show_full_result_count = False  # a COUNT(*) over the whole log on every page is wasted work

    @admin.display(description="hash", ordering="hash")
    def short_hash(self, obj: Event) -> str:
        return obj.hash[:19] + "…"

    @admin.display(description="payload (pretty)")
    def payload_pretty(self, obj: Event) -> str:
        return pretty_json_html(obj.payload_value)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["seq", "head", "key_id", "created_at"]
    search_fields = ["head", "key_id"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "check_name", "severity", "created_at"]
    list_filter = ["severity", "check_name"]
    search_fields = ["proposal__patch_hash", "proposal__target__name", "check_name", "message"]
    list_select_related = ["proposal__target"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "reviewer", "decision", "created_at"]
    list_filter = ["decision", "proposal__target"]
    search_fields = [
        "patch_hash",
        "proposal__target__name",
        "proposal__agent__name",
        "reviewer__username",
        "reason",
    ]
    list_select_related = ["proposal__target", "reviewer"]


@admin.register(LabelMoveRequest)
class LabelMoveRequestAdmin(ReadOnlyAdmin):
    """Reviewed label moves: made and approved on the target page, never here."""

    list_display = ["pk", "label", "to_version", "percent", "requested_by", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["label__target", "requested_by"]


@admin.register(LabelMoveApproval)
class LabelMoveApprovalAdmin(ReadOnlyAdmin):
    list_display = ["request", "reviewer", "created_at"]
    list_select_related = ["request", "reviewer"]


@admin.register(ReviewComment)
class ReviewCommentAdmin(ReadOnlyAdmin):
    list_display = ["review", "position", "anchor", "body"]
    list_select_related = ["review"]


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyAdmin):
    """Witnesses' cosignatures of checkpoints, as each witness returned them."""

    list_display = ["checkpoint", "witness", "timestamp", "created_at"]
    list_select_related = ["checkpoint"]


@admin.register(MerkleNode)
class MerkleNodeAdmin(ReadOnlyAdmin):
    """The stored complete nodes of the log's Merkle tree (grown by the checkpoint signer)."""

    list_display = ["node", "level", "index", "hex"]
    show_full_result_count = False

    @admin.display(description="level")
    def level(self, obj: MerkleNode) -> int:
        return obj.node % 64

    @admin.display(description="index")
    def index(self, obj: MerkleNode) -> int:
        return obj.node // 64

    @admin.display(description="hash")
    def hex(self, obj: MerkleNode) -> str:
        return bytes(obj.hash).hex()
