"""URL map: admin, login, health, the agent API and the reviewer console."""

from django.contrib import admin
from django.urls import include, path

from console.api import api
from console.views.auth import ConsoleLoginView
from console.views.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before django.contrib.auth.urls, whose login does not send signed-in people on. The
    # failed-login limit is django-axes' on every login path (console.login_limits).
    path("accounts/login/", ConsoleLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("", include("console.web_urls")),
]
