from django.urls import path

from chats import apis

PREFIX = "workspaces/<uuid:workspace_id>/chats/"

urlpatterns = [
    path(PREFIX, apis.ChatListApi.as_view(), name="chats"),
    path(f"{PREFIX}<uuid:chat_id>", apis.ChatDetailApi.as_view(), name="chat"),
    path(
        f"{PREFIX}<uuid:chat_id>/messages/",
        apis.ChatMessageListApi.as_view(),
        name="chat-messages",
    ),
]
