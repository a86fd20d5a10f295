from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "queries"

    def ready(self) -> None:
        from core import entities
        from queries import entity, receivers

        entities.register(entity.SavedQueryEntity)
        entities.register(entity.QueryHistoryEntity)
        receivers.connect()
