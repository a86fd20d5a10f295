from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import urls as accounts_urls
from ai import urls as ai_urls
from billing import urls as billing_urls
from chats import urls as chats_urls
from connections import urls as connections_urls
from core.api import urls as core_api_urls
from portability import urls as portability_urls
from queries import urls as queries_urls
from sync import urls as sync_urls
from workspaces import urls as workspaces_urls

# Imported, not named by strings: the roof stands on every app it routes to, and the imports
# show it (docs/architecture.md).
api_v1 = [
    path("", include(core_api_urls)),
    path("", include(accounts_urls)),
    path("", include(workspaces_urls)),
    path("", include(connections_urls)),
    path("", include(queries_urls)),
    path("", include(chats_urls)),
    path("", include(billing_urls)),
    path("", include(sync_urls)),
    path("", include(ai_urls)),
    path("", include(portability_urls)),
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
