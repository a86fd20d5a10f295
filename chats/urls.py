from django.urls import path

from chats import apis

PREFIX = "workspaces/<uuid:workspace_id>/chats/"

# Sending a message (POST .../chats/<chat_id>/messages, no trailing slash) and the reply's
# stream and stop are the assistant's: ai/urls.py, served by ai/api/views.py (ChatMessagesApi),
# which writes through chats/services.py like everything else here.
urlpatterns = [
    path(PREFIX, apis.ChatListApi.as_view(), name="chats"),
    path(f"{PREFIX}<uuid:chat_id>", apis.ChatDetailApi.as_view(), name="chat"),
    path(
        f"{PREFIX}<uuid:chat_id>/messages/",
        apis.ChatMessageListApi.as_view(),
        name="chat-messages",
    ),
]
