from django.urls import path

from portability import apis

urlpatterns = [
    path(
        "workspaces/<uuid:workspace_id>/export",
        apis.WorkspaceExportApi.as_view(),
        name="workspace-export",
    ),
    path(
        "workspaces/<uuid:workspace_id>/import",
        apis.WorkspaceImportApi.as_view(),
        name="workspace-import",
    ),
]
