"""App config for the audit layer; plugs the event log and the audit gate into the domain."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from audit import wiring

        wiring.install()
