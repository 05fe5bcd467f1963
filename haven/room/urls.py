from django.urls import path

from haven.room import views

app_name = "room"
urlpatterns = [
    path("<str:meeting_id>/", views.room, name="room"),
]
