"""Policy versions gain a retention period for every kind of personal data (rule D3).

As with the easy-read house rules (0003), no deployment has published V.01 yet, so the V.01
data file gained its [retention] table in place. A database that stored the earlier file
(a developer's `make run`) gets the same periods (the field defaults) and the new file's
hash, so `load_policy` keeps accepting it instead of refusing a "changed" published version.
"""

import hashlib
from pathlib import Path

from django.db import migrations, models

# The SHA-256 of the V.01 file before it had a [retention] table.
V01_WITHOUT_RETENTION = "458a926a91165546b47b8db902eb3750c327c3d8c6b6783d0ab2acc62c39b1d0"
V01_FILE = Path(__file__).resolve().parents[1] / "data" / "sendiass-leicester-v01.toml"


def bring_v01_up_to_date(apps, schema_editor):
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    stored = PolicyVersion.objects.filter(version="V.01", source_sha256=V01_WITHOUT_RETENTION)
    if V01_FILE.exists():
        stored.update(source_sha256=hashlib.sha256(V01_FILE.read_bytes()).hexdigest())


def _days(default):
    return models.PositiveIntegerField(default=default)


class Migration(migrations.Migration):
    dependencies = [("policy", "0003_house_rules_easy_read")]

    operations = [
        migrations.AddField("policyversion", "retain_invitations_days", _days(365)),
        migrations.AddField("policyversion", "retain_consents_days", _days(365)),
        migrations.AddField("policyversion", "retain_access_needs_days", _days(30)),
        migrations.AddField("policyversion", "end_unended_meetings_after_hours", _days(12)),
        migrations.AddField("policyversion", "retain_removals_days", _days(365)),
        migrations.AddField("policyversion", "retain_lifted_bans_days", _days(365)),
        migrations.AddField("policyversion", "retain_audit_days", _days(2190)),
        migrations.AddField("policyversion", "retain_audit_identities_days", _days(730)),
        migrations.AddField("policyversion", "retain_staff_sign_in_days", _days(30)),
        migrations.AddField("policyversion", "retain_sign_in_failures_days", _days(30)),
        migrations.AddField("policyversion", "retain_emails_days", _days(30)),
        migrations.RunPython(bring_v01_up_to_date, migrations.RunPython.noop),
    ]
