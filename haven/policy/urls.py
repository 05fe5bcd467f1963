from django.urls import path

from haven.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("drafts/new/", views.draft_new, name="draft_new"),
    path("drafts/<int:draft_id>/", views.draft_edit, name="draft"),
    path("drafts/<int:draft_id>/publish/", views.draft_publish, name="publish"),
    path("drafts/<int:draft_id>/discard/", views.draft_discard, name="discard"),
]
