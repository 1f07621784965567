"""URLs of the reviewer console pages."""

from django.urls import path

from console.views import inbox

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
]
