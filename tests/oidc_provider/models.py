from django.conf import settings
from django.db import models


class Person(models.Model):
    """What the provider says about one of its people beyond their name and address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    amr = models.JSONField(default=list)
    acr = models.CharField(max_length=100, blank=True)
    roles = models.JSONField(default=list)

    class Meta:
        app_label = "oidc_provider"

    def __str__(self) -> str:
        return str(self.user)
