"""Consent requests and consents (rules G1, U3, U4, U5)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("invitations", "0002_consent_first"),
        ("meetings", "0003_house_rules_and_cancelling"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConsentRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token_sha256", models.CharField(max_length=64, unique=True)),
                ("sent_to", models.EmailField(max_length=254)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("invited", "Invited"),
                            ("resent", "Sent again by the host"),
                            ("rules_changed", "House rules changed"),
                            ("invitation_changed", "Invitation changed"),
                        ],
                        max_length=30,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("superseded_at", models.DateTimeField(blank=True, null=True)),
                (
                    "house_rules",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="+",
                        to="meetings.houserules",
                    ),
                ),
                (
                    "invitation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consent_requests",
                        to="invitations.invitation",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="Consent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rules_version", models.PositiveIntegerField()),
                ("rules_sha256", models.CharField(max_length=64)),
                ("given_by_name", models.CharField(max_length=150)),
                ("given_by_email", models.EmailField(max_length=254)),
                ("on_behalf_of_child", models.BooleanField()),
                ("supervising_adult", models.CharField(blank=True, max_length=150)),
                ("need_interpreter", models.BooleanField(default=False)),
                ("interpreter_language", models.CharField(blank=True, max_length=100)),
                ("need_captions", models.BooleanField(default=False)),
                ("need_easy_read", models.BooleanField(default=False)),
                ("need_breaks", models.BooleanField(default=False)),
                ("other_needs", models.TextField(blank=True)),
                ("show_on_screen", models.TextField(blank=True)),
                ("given_at", models.DateTimeField(auto_now_add=True)),
                ("voided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "house_rules",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="consents",
                        to="meetings.houserules",
                    ),
                ),
                (
                    "invitation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consents",
                        to="invitations.invitation",
                    ),
                ),
                (
                    "request",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="+",
                        to="consent.consentrequest",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
    ]
