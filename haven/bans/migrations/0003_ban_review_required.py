"""Every ban has a review date now (0002 gave the older ones theirs): it is required."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bans", "0002_ban_review")]

    operations = [
        migrations.AlterField(
            "ban",
            "review_on",
            models.DateField(help_text="Reviewed by this date, or it ends by itself."),
        ),
    ]
