from django.urls import path

from queries import apis

SAVED = "workspaces/<uuid:workspace_id>/saved-queries/"
HISTORY = "workspaces/<uuid:workspace_id>/history/"

urlpatterns = [
    path(SAVED, apis.SavedQueryListCreateApi.as_view(), name="saved-queries"),
    path(f"{SAVED}folders", apis.SavedQueryFolderListApi.as_view(), name="saved-query-folders"),
    path(f"{SAVED}<uuid:saved_query_id>", apis.SavedQueryDetailApi.as_view(), name="saved-query"),
    path(HISTORY, apis.HistoryListApi.as_view(), name="history"),
    path(f"{HISTORY}<uuid:history_id>", apis.HistoryDetailApi.as_view(), name="history-entry"),
]
