from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("room", "0004_participant_host_muted"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="muted_on_entry",
            field=models.BooleanField(default=False, help_text="Rule P3."),
        ),
        migrations.AddField(
            model_name="participant",
            name="camera_off_on_entry",
            field=models.BooleanField(default=False, help_text="Rule P3."),
        ),
    ]
