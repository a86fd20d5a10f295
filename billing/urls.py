from django.urls import path

from billing.api import views

urlpatterns = [
    path(
        "workspaces/<uuid:workspace_id>/billing/",
        views.BillingOverviewApi.as_view(),
        name="billing",
    ),
    path(
        "workspaces/<uuid:workspace_id>/billing/checkout",
        views.CheckoutCreateApi.as_view(),
        name="billing-checkout",
    ),
    path(
        "workspaces/<uuid:workspace_id>/billing/portal",
        views.PortalCreateApi.as_view(),
        name="billing-portal",
    ),
]
