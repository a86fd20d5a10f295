from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    """Workspace export and import (the whole workspace's data as one document)."""

    name = "portability"
