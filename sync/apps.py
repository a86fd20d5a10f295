from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self) -> None:
        from core.db_roles import APPEND_ONLY_TABLES

        # The secret delivery ledger: the app role inserts and reads, never rewrites history.
        APPEND_ONLY_TABLES.add("sync_secretdelivery")
