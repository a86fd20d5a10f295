from django.urls import path

from workspaces.api import views

urlpatterns = [
    path("workspaces/", views.WorkspaceListCreateApi.as_view(), name="workspaces"),
    path("workspaces/<uuid:workspace_id>/", views.WorkspaceDetailApi.as_view(), name="workspace"),
    path(
        "workspaces/<uuid:workspace_id>/transfer",
        views.WorkspaceTransferApi.as_view(),
        name="workspace-transfer",
    ),
    path("workspaces/<uuid:workspace_id>/leave", views.LeaveApi.as_view(), name="workspace-leave"),
    path("workspaces/<uuid:workspace_id>/members/", views.MemberListApi.as_view(), name="members"),
    path(
        "workspaces/<uuid:workspace_id>/members/<uuid:user_id>",
        views.MemberDetailApi.as_view(),
        name="member",
    ),
    path(
        "workspaces/<uuid:workspace_id>/invitations/",
        views.InvitationListCreateApi.as_view(),
        name="invitations",
    ),
    path(
        "workspaces/<uuid:workspace_id>/invitations/<uuid:invitation_id>",
        views.InvitationDetailApi.as_view(),
        name="invitation",
    ),
    path(
        "workspaces/<uuid:workspace_id>/invitations/<uuid:invitation_id>/resend",
        views.InvitationResendApi.as_view(),
        name="invitation-resend",
    ),
    path(
        "workspaces/<uuid:workspace_id>/audit-events/",
        views.AuditEventListApi.as_view(),
        name="audit-events",
    ),
    path("invitations/preview", views.InvitationPreviewApi.as_view(), name="invitation-preview"),
    path("invitations/accept", views.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("invitations/decline", views.InvitationDeclineApi.as_view(), name="invitation-decline"),
]
