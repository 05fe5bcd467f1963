from django.urls import path

from haven.audit import views

app_name = "evidence"
urlpatterns = [
    path("", views.evidence_index, name="index"),
    path("<uuid:meeting_id>/", views.evidence_page, name="meeting"),
]
