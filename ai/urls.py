from django.urls import path

from ai.api import views

WS = "workspaces/<uuid:workspace_id>/"
CHAT = WS + "chats/<uuid:chat_id>/"

urlpatterns = [
    # POST a message to a chat (the AI SDK's transport): the chat and the message are written by
    # chats/services.py. Reading a chat's messages (GET .../messages/) is chats/urls.py's.
    path(CHAT + "messages", views.ChatMessagesApi.as_view(), name="ai-chat-messages"),
    path(CHAT + "stream", views.ChatStreamApi.as_view(), name="ai-chat-stream"),
    path(CHAT + "stop", views.ChatStopApi.as_view(), name="ai-chat-stop"),
    path(WS + "ai/generate-sql", views.GenerateSqlApi.as_view(), name="ai-generate-sql"),
    path(WS + "ai/fix-sql", views.FixSqlApi.as_view(), name="ai-fix-sql"),
    path(WS + "ai/explain-sql", views.ExplainSqlApi.as_view(), name="ai-explain-sql"),
    path(WS + "ai/optimize-sql", views.OptimizeSqlApi.as_view(), name="ai-optimize-sql"),
    path(WS + "ai/enhance-prompt", views.EnhancePromptApi.as_view(), name="ai-enhance-prompt"),
    path(WS + "ai/guardrail", views.GuardrailApi.as_view(), name="ai-guardrail"),
    path(WS + "ai/approvals", views.ApprovalCreateApi.as_view(), name="ai-approvals"),
    path(WS + "ai/approvals/approve", views.ApprovalApproveApi.as_view(), name="ai-approve"),
    # Deprecated (one release): the token in the path, where access logs keep it. The request
    # log shows its fingerprint only (core.logging.safe_path).
    path(
        WS + "ai/approvals/<str:token>/approve",
        views.ApprovalApproveByPathApi.as_view(),
        name="ai-approval-approve",
    ),
    path(WS + "ai/usage", views.UsageApi.as_view(), name="ai-usage"),
]
