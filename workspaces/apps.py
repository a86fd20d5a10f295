from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from core.db_roles import APPEND_ONLY_TABLES

        APPEND_ONLY_TABLES.add("workspaces_auditevent")
