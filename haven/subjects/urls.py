from django.urls import path

from haven.subjects import views

app_name = "subjects"
urlpatterns = [
    path("", views.search, name="search"),
    path("export.json", views.export, name="export"),
    path("erase/", views.erase, name="erase"),
]
