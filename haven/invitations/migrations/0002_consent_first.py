"""Consent first (G1): links are made only after consent; parent/carer details (U3, U5)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def mark_earlier_links_as_sent(apps, schema_editor):
    """Invitations made before consent existed had their link emailed at once."""
    Invitation = apps.get_model("invitations", "Invitation")
    Invitation.objects.filter(access_sent_at__isnull=True).update(access_sent_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0001_initial"),
        ("meetings", "0003_house_rules_and_cancelling"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="invitation",
            name="one_invitation_per_email_per_meeting",
        ),
        migrations.AddField(
            model_name="invitation",
            name="access_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="invitation",
            name="calendar_sequence",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="invitation",
            name="needs_supervision",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="invitation",
            name="parent_email",
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name="invitation",
            name="parent_name",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="link_token_sha256",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="passcode_hash",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("revoked_at__isnull", True), models.Q(("role", "child"), _negated=True)
                ),
                fields=("meeting", "email"),
                name="one_invitation_per_email_per_meeting",
            ),
        ),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("revoked_at__isnull", True), ("role", "child")),
                fields=("meeting", "email", "name"),
                name="one_child_invitation_per_email_and_name",
            ),
        ),
        migrations.RunPython(mark_earlier_links_as_sent, migrations.RunPython.noop),
    ]
