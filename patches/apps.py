"""App config for the proposal domain."""

from django.apps import AppConfig


class PatchesConfig(AppConfig):
    name = "patches"
    verbose_name = "Patches"
