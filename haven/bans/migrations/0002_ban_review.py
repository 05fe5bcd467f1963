"""Bans gain a review date (rule S8): a ban nobody keeps by then ends by itself.

A ban made before this had none. It gets the policy's default from when it was made
(183 days, V.01's ban_review_days), but never sooner than 30 days from the upgrade, so
coordinators see it as due for review on the bans page before it can end.
"""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone

DEFAULT_REVIEW_DAYS = 183
NOTICE_DAYS = 30


def give_existing_bans_a_review_date(apps, schema_editor):
    Ban = apps.get_model("bans", "Ban")
    earliest = timezone.localdate() + dt.timedelta(days=NOTICE_DAYS)
    for ban in Ban.objects.filter(review_on__isnull=True):
        from_policy = timezone.localdate(ban.created_at) + dt.timedelta(days=DEFAULT_REVIEW_DAYS)
        ban.review_on = max(from_policy, earliest)
        ban.save(update_fields=["review_on"])


class Migration(migrations.Migration):
    dependencies = [("bans", "0001_initial")]

    operations = [
        migrations.AddField("ban", "review_on", models.DateField(null=True)),
        migrations.RunPython(give_existing_bans_a_review_date, migrations.RunPython.noop),
        # The field becomes required in 0003: on PostgreSQL, altering a table in the
        # transaction that updated its rows fails ("pending trigger events").
        migrations.AddField(
            "ban",
            "lapsed",
            models.BooleanField(
                default=False,
                help_text="Ended by itself at its review date (lifted_at says when).",
            ),
        ),
    ]
