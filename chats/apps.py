from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"

    def ready(self) -> None:
        from chats import entity, receivers
        from core import entities

        entities.register(entity.ChatEntity)
        entities.register(entity.ChatMessageEntity)
        receivers.connect()
