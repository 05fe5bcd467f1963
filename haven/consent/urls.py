from django.urls import path

from haven.consent import views

app_name = "consent"
urlpatterns = [
    path("done/", views.done, name="done"),
    path("<str:token>/", views.give, name="give"),
]
