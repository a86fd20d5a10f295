from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"

    def ready(self) -> None:
        from connections import entity
        from core import entities

        entities.register(entity.ConnectionEntity)
