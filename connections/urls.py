from django.urls import path

from connections import apis

PREFIX = "workspaces/<uuid:workspace_id>/connections/"

urlpatterns = [
    path(PREFIX, apis.ConnectionListCreateApi.as_view(), name="connections"),
    path(f"{PREFIX}<uuid:connection_id>", apis.ConnectionDetailApi.as_view(), name="connection"),
    path(
        f"{PREFIX}<uuid:connection_id>/reveal",
        apis.ConnectionRevealApi.as_view(),
        name="connection-reveal",
    ),
]
