"""Django admin for tests, agents and proposals (targets: admin_targets; shared: admin_readonly)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

import patches.admin_labels
import patches.admin_targets  # noqa: F401  (registers the target admins)
from patches.admin_readonly import ReadOnlyAdmin, ReadOnlyInline, actor_of
from patches.agents import AgentError, agent_key_revoke, agent_scopes_set
from patches.models import (
    Agent,
    AgentKey,
    AgentScope,
    AgentToken,
    PatchType,
    Proposal,
    Signature,
    TestDefinition,
    TestResult,
    TestRun,
)
from patches.testgate.kinds import testdef_validate

# --- tests ------------------------------------------------------------------------------


class TestDefinitionForm(forms.ModelForm):
    class Meta:
        model = TestDefinition
        fields = ["name", "kind", "params", "description", "patch_types", "timeout_s"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, params = cleaned.get("kind"), cleaned.get("params")
        if kind and "params" in cleaned:
            try:
                testdef_validate(kind, params)
            except ValueError as exc:
                self.add_error("params", str(exc))
        patch_types = cleaned.get("patch_types")
        if patch_types is not None and (
            not isinstance(patch_types, list) or not set(patch_types) <= set(PatchType.values)
        ):
            self.add_error(
                "patch_types", f"a list of patch types from: {', '.join(PatchType.values)}"
            )
        return cleaned


@admin.register(TestDefinition)
class TestDefinitionAdmin(admin.ModelAdmin):
    form = TestDefinitionForm
    list_display = ["name", "kind", "timeout_s", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A test that guards or is offered by a target, or has results, is in use; only unused
        # ones may go.
        if obj is not None and (
            obj.mandatory_for.exists() or obj.offered_for.exists() or obj.results.exists()
        ):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk delete checks no object, so it could drop a target's mandatory test unseen.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class TestResultInline(ReadOnlyInline):
    model = TestResult
    fields = readonly_fields = ("position", "name", "status", "duration_ms", "output")


@admin.register(TestRun)
class TestRunAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "status", "attempts", "enqueued_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["patch_hash", "proposal__target__name", "proposal__agent__name"]
    list_select_related = ["proposal__target"]
    inlines = [TestResultInline]


@admin.register(TestResult)
class TestResultAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "duration_ms", "run"]
    list_filter = ["status", "test__kind"]
    search_fields = ["name", "run__patch_hash", "run__proposal__target__name"]
    list_select_related = ["run"]


# --- agents -----------------------------------------------------------------------------


class AgentForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=AgentScope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What every API token of this agent may do beyond its own proposals and keys.",
    )

    class Meta:
        model = Agent
        fields = ["description", "is_active", "scopes"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    list_display = ["name", "is_active", "scopes", "is_console", "created_at"]
    list_filter = ["is_active", "is_console"]
    search_fields = ["name", "description"]
    readonly_fields = ["name", "is_console", "created_at"]
    fields = ["name", "description", "is_active", "scopes", "is_console", "created_at"]

    def save_model(self, request: HttpRequest, obj: Agent, form: Any, change: bool) -> None:
        # Scopes change through their service, which logs the grant; the admin's transaction
        # holds both writes.
        scopes = list(form.cleaned_data.get("scopes") or [])
        obj.scopes = Agent.objects.values_list("scopes", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)
        try:
            obj.scopes = agent_scopes_set(agent=obj, scopes=scopes, actor=actor_of(request)).scopes
        except AgentError as exc:  # the form's choices allow known scopes only
            raise forms.ValidationError(str(exc)) from exc

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A new agent needs a key and a token shown once: use `manage.py agent_create`.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AgentKey)
class AgentKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "agent", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "agent"]
    search_fields = ["key_id", "agent__name"]
    list_select_related = ["agent"]
    actions = ["revoke_keys"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or request.user.has_perm("patches.change_agentkey"))

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[AgentKey]) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True)[:1000]:
            try:
                agent_key_revoke(key=key, actor=actor_of(request))
            except AgentError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            revoked += 1
        self.message_user(
            request, f"Revoked {revoked} key(s); each revocation is in the event log."
        )


@admin.register(AgentToken)
class AgentTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "agent", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "agent"]
    search_fields = ["prefix", "agent__name"]
    list_select_related = ["agent"]


# --- proposals --------------------------------------------------------------------------


class SignatureInline(ReadOnlyInline):
    model = Signature
    fields = readonly_fields = ("algorithm", "key", "value", "verified_at")


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "target",
        "agent",
        "patch_type",
        "status",
        "stage",
        "base_version",
        "short_hash",
        "created_at",
    ]
    list_filter = ["status", "stage", "patch_type", "target", "agent"]
    search_fields = ["patch_hash", "target__name", "agent__name", "reasoning"]
    list_select_related = ["target", "agent"]
    date_hierarchy = "created_at"
    inlines = [SignatureInline]

    @admin.display(description="patch hash", ordering="patch_hash")
    def short_hash(self, obj: Proposal) -> str:
        return obj.patch_hash[:19] + "…"


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ["id", "proposal", "key", "algorithm", "verified_at"]
    list_filter = ["algorithm", "key__agent"]
    search_fields = [
        "proposal__patch_hash",
        "key__key_id",
        "key__agent__name",
        "proposal__target__name",
    ]
    list_select_related = ["proposal__target", "key__agent"]
