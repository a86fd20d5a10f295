from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from core.db_roles import APPEND_ONLY_TABLES
        from workspaces import receivers

        APPEND_ONLY_TABLES.add("workspaces_auditevent")
        receivers.connect()
