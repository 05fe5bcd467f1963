from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "haven.invitations"
    label = "invitations"
