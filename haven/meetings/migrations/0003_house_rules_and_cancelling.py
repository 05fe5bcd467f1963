"""Per-meeting house rules (G1), meeting length, and cancelled meetings."""

import hashlib
import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_each_meeting_its_house_rules(apps, schema_editor):
    """Meetings made before per-meeting rules start from their type's template (v1)."""
    Meeting = apps.get_model("meetings", "Meeting")
    HouseRules = apps.get_model("meetings", "HouseRules")
    for meeting in Meeting.objects.select_related("meeting_type"):
        text = meeting.meeting_type.house_rules
        easy_read = meeting.meeting_type.house_rules_easy_read
        canonical = json.dumps({"easy_read": easy_read, "text": text}, sort_keys=True)
        HouseRules.objects.create(
            meeting=meeting,
            version=1,
            text=text,
            easy_read=easy_read,
            sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0002_meeting_locked"),
        ("policy", "0003_house_rules_easy_read"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="meeting",
            name="cancelled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="meeting",
            name="duration_minutes",
            field=models.PositiveIntegerField(default=60),
        ),
        migrations.CreateModel(
            name="HouseRules",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField()),
                ("text", models.TextField()),
                ("easy_read", models.TextField()),
                ("sha256", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "meeting",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="house_rules",
                        to="meetings.meeting",
                    ),
                ),
            ],
            options={
                "ordering": ["meeting", "version"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("meeting", "version"), name="one_house_rules_row_per_version"
                    )
                ],
            },
        ),
        migrations.RunPython(give_each_meeting_its_house_rules, migrations.RunPython.noop),
    ]
