from django.urls import path

from haven.meetings import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("<uuid:meeting_id>/", views.meeting_detail, name="detail"),
    path(
        "<uuid:meeting_id>/invitations/<int:invitation_id>/cancel/",
        views.revoke_invitation,
        name="revoke",
    ),
]
