from django.urls import path

from haven.accounts import staff_views as views

app_name = "staff"
urlpatterns = [
    path("", views.staff_home, name="home"),
    path("people/", views.staff_list, name="list"),
    path("people/invite/", views.staff_invite, name="invite"),
    path("people/<int:staff_id>/", views.staff_member, name="member"),
    path("people/<int:staff_id>/change/", views.staff_change, name="change"),
    path("people/<int:staff_id>/deactivate/", views.staff_deactivate, name="deactivate"),
    path("people/<int:staff_id>/reactivate/", views.staff_reactivate, name="reactivate"),
    path("people/<int:staff_id>/setup-link/", views.staff_resend_setup, name="resend_setup"),
    path("audit/", views.audit_log, name="audit"),
]
