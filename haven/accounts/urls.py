from django.urls import path

from haven.accounts import oidc, views

app_name = "accounts"
urlpatterns = [
    path("", views.account, name="account"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/set-up/", views.enrol, name="enrol"),
    path("two-factor/set-up/qr.svg", views.enrol_qr_code, name="enrol_qr"),
    path("confirm/", views.confirm, name="confirm"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("recovery-codes/", views.new_recovery_codes, name="new_recovery_codes"),
    path("set-up/<str:token>/", views.set_up, name="set_up"),
    path("single-sign-on/", oidc.Start.as_view(), name="oidc_start"),
    path("single-sign-on/callback/", oidc.callback, name="oidc_callback"),
]
