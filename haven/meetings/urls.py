from django.urls import path

from haven.documents import views as document_views
from haven.meetings import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("waiting-now/", views.waiting_now, name="waiting_now"),
    path("<uuid:meeting_id>/", views.meeting_detail, name="detail"),
    path("<uuid:meeting_id>/house-rules/", views.house_rules, name="house_rules"),
    path("<uuid:meeting_id>/time/", views.change_time, name="change_time"),
    path("<uuid:meeting_id>/cancel/", views.cancel_meeting, name="cancel"),
    path("<uuid:meeting_id>/documents/", document_views.send_document, name="send_document"),
    path(
        "<uuid:meeting_id>/invitations/<int:invitation_id>/change/",
        views.change_invitation,
        name="change_invitation",
    ),
    path(
        "<uuid:meeting_id>/invitations/<int:invitation_id>/resend/",
        views.resend_invitation,
        name="resend",
    ),
    path(
        "<uuid:meeting_id>/invitations/<int:invitation_id>/unlock-passcode/",
        views.unlock_passcode,
        name="unlock_passcode",
    ),
    path(
        "<uuid:meeting_id>/invitations/<int:invitation_id>/cancel/",
        views.revoke_invitation,
        name="revoke",
    ),
]
