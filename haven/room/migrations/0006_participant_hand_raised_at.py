from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("room", "0005_participant_muted_on_entry"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="hand_raised_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
