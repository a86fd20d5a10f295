from django.urls import path

from sync.api import views
from sync.api.events import sync_events

prefix = "workspaces/<uuid:workspace_id>/sync/"

urlpatterns = [
    path(prefix + "push", views.SyncPushApi.as_view(), name="sync-push"),
    path(prefix + "pull", views.SyncPullApi.as_view(), name="sync-pull"),
    path(prefix + "conflicts", views.SyncConflictListApi.as_view(), name="sync-conflicts"),
    path(
        prefix + "conflicts/<uuid:conflict_id>/resolve",
        views.SyncConflictResolveApi.as_view(),
        name="sync-conflict-resolve",
    ),
    path(prefix + "devices", views.SyncDeviceListApi.as_view(), name="sync-devices"),
    path(
        prefix + "devices/<str:client_id>",
        views.SyncDeviceDetailApi.as_view(),
        name="sync-device",
    ),
    path(prefix + "events", sync_events, name="sync-events"),
    # The delivery ledger's answer for one connection (admins): not part of the sync protocol.
    path(
        "workspaces/<uuid:workspace_id>/connections/<uuid:connection_id>/secret-holders",
        views.SecretHoldersApi.as_view(),
        name="connection-secret-holders",
    ),
]
