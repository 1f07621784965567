"""Django admin for labels (created through label_create; moved only by reviewed moves or an
apply, never edited here) and the fleet's observed reports (read-only telemetry)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from patches.admin_readonly import ReadOnlyAdmin, actor_of
from patches.label_models import Label, Observation
from patches.labels import LabelError, label_create


class LabelCreateForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ["target", "name", "approvals"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["target", "name", "version", "from_version", "percent", "approvals", "moved_at"]
    list_filter = ["name"]
    list_select_related = ["target"]
    search_fields = ["target__name", "name"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return list(LabelCreateForm.Meta.fields)
        return ["target", "name", "version", "from_version", "percent", "approvals", "moved_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A label moves only by an apply or a reviewed move (audit.label_moves), each logged.
        if obj is None:
            return []
        return self.get_fields(request, obj)  # type: ignore[no-any-return]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = LabelCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the change page shows the label; nothing on it may be saved

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its history is in the log

    def save_model(self, request: HttpRequest, obj: Label, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            created = label_create(
                target=data["target"],
                name=data["name"],
                approvals=data.get("approvals"),
                actor=actor_of(request),
            )
        except LabelError as exc:
            raise forms.ValidationError(str(exc)) from exc
        obj.pk, obj.version = created.pk, created.version
        obj._state.adding = False


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = ["target", "instance", "agent", "label", "content_hash", "last_seen"]
    list_select_related = ["target", "agent"]
    search_fields = ["target__name", "instance", "agent__name", "content_hash"]
