from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    """Workspace export and import (the whole workspace's data as one document)."""

    name = "portability"

    def ready(self) -> None:
        from accounts import hooks
        from portability import selectors

        # "All my data": the account export carries the user's rows of every workspace.
        hooks.register_export_section("workspace_data", selectors.account_data_export)
