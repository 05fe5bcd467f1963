from django.urls import path

from haven.invitations import views

app_name = "invitations"
urlpatterns = [
    path("<str:token>/", views.enter, name="enter"),
]
