"""Django admin for targets: created through target_create, settings edits logged."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from patches.admin_readonly import ReadOnlyAdmin, ReadOnlyInline, actor_of, pretty_json_html
from patches.audit_rules import AuditRulesError, audit_rules_validate
from patches.formats import PatchError, normalize_content
from patches.labels import LabelError, on_apply_check
from patches.log import event_append
from patches.models import Target, TargetVersion
from patches.targets import TargetError, target_create

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
                    patch_type=patch_type,
                    raw=content,
                    schema=cleaned.get("schema"),
                )
            except PatchError as exc:
                self.add_error("content", f"The content does not fit a {patch_type} target: {exc}")
        return cleaned


class TargetChangeForm(forms.ModelForm):
    """Editing a target's settings: audit rules must have their documented shape, and the tests
    it makes mandatory or offers must fit its patch type."""

    class Meta:
        model = Target
        fields = [
            "description", "schema", "audit_rules", "required_approvals", "owners",
            "mandatory_tests", "offered_tests", "on_apply",
        ]  # fmt: skip

    def clean_on_apply(self) -> Any:
        names = self.cleaned_data.get("on_apply")
        if names is None:  # left out or emptied: unchanged ([] is how to name no label)
            return list(self.instance.on_apply)
        try:
            checked = on_apply_check(names if isinstance(names, list) else [names])
        except LabelError as exc:
            raise forms.ValidationError(str(exc)) from exc
        known = set(self.instance.labels.values_list("name", flat=True))
        missing = [name for name in checked if name not in known]
        if missing:
            raise forms.ValidationError(
                f"{self.instance.name} has no label {', '.join(missing)}: create it first"
            )
        return checked

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        patch_type = self.instance.patch_type
        for field in ("mandatory_tests", "offered_tests"):
            unfit = sorted(
                t.name
                for t in cleaned.get(field) or []
                if t.patch_types and patch_type not in t.patch_types
            )
            if unfit:
                self.add_error(field, f"{', '.join(unfit)} do not apply to {patch_type} targets")
        return cleaned

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
        "offered_tests": sorted(t.name for t in target.offered_tests.all()),
        "on_apply": list(target.on_apply),
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
    filter_horizontal = ["owners", "mandatory_tests", "offered_tests"]
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
            "audit_rules", "required_approvals", "owners", "mandatory_tests", "offered_tests",
            "on_apply", "current_content",
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
            # Approvals and mandatory tests guard every future patch, and offered tests say
            # which admin tests agents may run, so their changes are logged.
            event_append(
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
