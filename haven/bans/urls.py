from django.urls import path

from haven.bans import views

app_name = "bans"
urlpatterns = [
    path("", views.ban_list, name="list"),
    path("<int:ban_id>/lift/", views.ban_lift, name="lift"),
    path("<int:ban_id>/review/", views.ban_review, name="review"),
]
