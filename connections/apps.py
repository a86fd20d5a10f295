from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"

    def ready(self) -> None:
        from accounts import hooks
        from connections import data_export, entity
        from core import entities

        entities.register(entity.ConnectionEntity)
        # "All my data": the account export carries the user's rows of every workspace.
        hooks.register_export_section("workspace_data", data_export.account_data_export)
