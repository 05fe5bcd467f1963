from django.urls import path

from haven.records import views

app_name = "records"
urlpatterns = [
    path("<uuid:meeting_id>/transcript/", views.transcript_page, name="transcript"),
    path("<uuid:meeting_id>/transcript.txt", views.transcript_download, name="download"),
    path("<uuid:meeting_id>/transcript/destroy/", views.transcript_destroy, name="destroy"),
]
