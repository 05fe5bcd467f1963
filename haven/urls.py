from django.contrib.auth import views as auth_views
from django.urls import include, path

from haven import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("meetings/", include("haven.meetings.urls")),
    path("join/", include("haven.invitations.urls")),
    path("consent/", include("haven.consent.urls")),
    path("room/", include("haven.room.urls")),
    path("records/", include("haven.records.urls")),
]

handler404 = "haven.views.not_found"
handler500 = "haven.views.server_error"
