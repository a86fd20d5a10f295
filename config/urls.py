from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("accounts.urls")),
    path("", include("workspaces.urls")),
    path("", include("connections.urls")),
    path("", include("queries.urls")),
    path("", include("chats.urls")),
    path("", include("billing.urls")),
    path("", include("sync.urls")),
    path("", include("ai.urls")),
    path("", include("portability.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    # allauth headless: /_allauth/{app,browser}/v1/... (spec at /_allauth/openapi.html)
    path("_allauth/", include("allauth.headless.urls")),
    # allauth's provider callbacks (/accounts/google/login/callback/, …); headless-only mode
    # mounts nothing else here.
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    # Stripe webhooks, verified and recorded by dj-stripe: /stripe/webhook/<uuid>/ (billing).
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "core.api.exceptions.handler400"
handler403 = "core.api.exceptions.handler403"
handler404 = "core.api.exceptions.handler404"
handler500 = "core.api.exceptions.handler500"
