from django.urls import path

from haven.assurance import views

app_name = "assurance"
urlpatterns = [
    path("", views.assurance_index, name="index"),
    path("<slug:slug>/", views.assurance_document, name="document"),
    path("<slug:slug>/download/", views.assurance_download, name="download"),
    path("<slug:slug>/download.pdf", views.assurance_pdf, name="pdf"),
]
