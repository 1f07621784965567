"""Django admin for the proposal domain: history read-only, targets/tests/agents editable."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from patches import ports
from patches.agents import AgentError, agent_key_revoke
from patches.audit_rules import AuditRulesError, audit_rules_validate
from patches.formats import PatchError, normalize_content
from patches.models import (
    Agent,
    AgentKey,
    AgentToken,
    PatchType,
    Proposal,
    Signature,
    Target,
    TargetVersion,
    TestDefinition,
    TestResult,
    TestRun,
    content_kind_of,
)
from patches.targets import TargetError, target_create
from patches.testgate.kinds import testdef_validate


def actor_of(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: staff may look, nobody may add, change or delete, whatever the form posts.

    Refused server-side (the add/change/delete views answer 403), not only hidden.
    """

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        opts = self.model._meta
        names = [f.name for f in opts.fields] + [f.name for f in opts.many_to_many]
        return names + [name for name in self.readonly_fields if name not in names]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def pretty_json_html(value: Any) -> str:
    return format_html(
        "<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )


# --- targets ----------------------------------------------------------------------------


class TargetCreateForm(forms.ModelForm):
    """Adding a target goes through target_create: genesis version and TargetCreated event."""

    content = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 20, "cols": 100}),
        help_text="Text for Prompt targets; a JSON object for the other types.",
        strip=False,
    )

    class Meta:
        model = Target
        fields = [
            "name",
            "patch_type",
            "description",
            "content",
            "schema",
            "required_approvals",
            "mandatory_tests",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        patch_type, content = cleaned.get("patch_type"), cleaned.get("content")
        if patch_type and content is not None:
            try:
                normalize_content(
                    content_kind=content_kind_of(patch_type),
                    patch_type=patch_type,
                    raw=content,
                    schema=cleaned.get("schema"),
                )
            except PatchError as exc:
                self.add_error("content", f"The content does not fit a {patch_type} target: {exc}")
        return cleaned


class TargetChangeForm(forms.ModelForm):
    """Editing a target's settings: audit rules must have their documented shape."""

    class Meta:
        model = Target
        fields = [
            "description", "schema", "audit_rules", "required_approvals", "owners",
            "mandatory_tests",
        ]  # fmt: skip

    def clean_audit_rules(self) -> Any:
        rules = self.cleaned_data.get("audit_rules")
        try:
            audit_rules_validate(rules)
        except AuditRulesError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return rules


def target_settings(target: Target) -> dict[str, Any]:
    """The editable settings of a target, as JSON, for the TargetSettingsChanged event."""
    return {
        "description": target.description,
        "schema": target.schema,
        "audit_rules": target.audit_rules,
        "required_approvals": target.required_approvals,
        "owners": sorted(u.get_username() for u in target.owners.all()),
        "mandatory_tests": sorted(t.name for t in target.mandatory_tests.all()),
    }


class TargetVersionInline(ReadOnlyInline):
    model = TargetVersion
    fields = readonly_fields = ("version", "content_hash", "proposal", "created_at")
    ordering = ["-version"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name", "patch_type", "version", "required_approvals", "created_at"]
    list_filter = ["patch_type", "required_approvals"]
    search_fields = ["name", "description"]
    filter_horizontal = ["owners", "mandatory_tests"]
    inlines = [TargetVersionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Content changes only by applying a reviewed patch; a rename would orphan the log.
        if obj is None:
            return []
        return ["name", "patch_type", "version", "created_at", "current_content"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return list(TargetCreateForm.Meta.fields)
        return [
            "name", "patch_type", "version", "created_at", "description", "schema",
            "audit_rules", "required_approvals", "owners", "mandatory_tests", "current_content",
        ]  # fmt: skip

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = TargetCreateForm if obj is None else TargetChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return list(self.inlines) if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # versions, proposals and events refer to it forever

    @admin.display(description="current content")
    def current_content(self, obj: Target) -> str:
        current = obj.versions.filter(version=obj.version).first()
        if current is None:
            return "-"
        if obj.content_kind == "json":
            return pretty_json_html(current.value)
        return format_html("<pre>{}</pre>", current.content)

    def save_model(self, request: HttpRequest, obj: Target, form: Any, change: bool) -> None:
        if change:
            obj._settings_before = target_settings(Target.objects.get(pk=obj.pk))  # type: ignore[attr-defined]
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        try:
            created = target_create(
                name=data["name"],
                patch_type=data["patch_type"],
                content=data["content"],
                actor=actor_of(request),
                schema=data.get("schema"),
                required_approvals=data["required_approvals"],
                tests=[t.name for t in data.get("mandatory_tests") or []],
                description=data.get("description") or "",
            )
        except (TargetError, PatchError) as exc:
            # form.clean checked the same things; only a concurrent create gets here.
            raise forms.ValidationError(str(exc)) from exc
        obj.pk = created.pk
        obj.version = created.version
        obj.created_at = created.created_at
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        target = form.instance
        before = getattr(target, "_settings_before", None)
        if not change or before is None:
            return
        after = target_settings(target)
        changed = {
            name: {"from": before[name], "to": after[name]}
            for name in after
            if before[name] != after[name]
        }
        if changed:
            # Approvals and mandatory tests guard every future patch, so their changes are logged.
            ports.record_event(
                kind="TargetSettingsChanged",
                actor=actor_of(request),
                payload={"target": target.name, "changes": changed},
            )


@admin.register(TargetVersion)
class TargetVersionAdmin(ReadOnlyAdmin):
    list_display = ["target", "version", "content_hash", "proposal_link", "created_at"]
    list_filter = ["target__patch_type", "target"]
    search_fields = ["target__name", "content_hash", "proposal__patch_hash"]
    list_select_related = ["target", "proposal"]
    readonly_fields = ["content_pretty"]

    @admin.display(description="proposal")
    def proposal_link(self, obj: TargetVersion) -> str:
        return f"#{obj.proposal_id}" if obj.proposal_id else "genesis"

    @admin.display(description="content (pretty)")
    def content_pretty(self, obj: TargetVersion) -> str:
        if obj.target.content_kind == "json":
            return pretty_json_html(obj.value)
        return format_html("<pre>{}</pre>", obj.content)


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
        # A test that guards a target or has results is history; only unused ones may go.
        if obj is not None and (obj.mandatory_for.exists() or obj.results.exists()):
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


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "is_console", "created_at"]
    list_filter = ["is_active", "is_console"]
    search_fields = ["name", "description"]
    readonly_fields = ["name", "is_console", "created_at"]
    fields = ["name", "description", "is_active", "is_console", "created_at"]

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
