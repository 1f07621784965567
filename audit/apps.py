"""App config for the audit layer: the audit gate, reviews and the auditor's tools."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"
