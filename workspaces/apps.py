from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from core import audit
        from core.db_roles import APPEND_ONLY_TABLES
        from workspaces import receivers
        from workspaces.audit import audit_record

        APPEND_ONLY_TABLES.add("workspaces_auditevent")
        receivers.connect()
        # core's own audit events (the key rotation commands) are written to this audit log.
        audit.register_recorder(audit_record)
