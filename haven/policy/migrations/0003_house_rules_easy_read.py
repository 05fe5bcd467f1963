"""Meeting types (and their drafts) gain an easy-read version of their house rules (G1).

Version V.01 was first stored without it. No deployment has published V.01 yet, so the V.01
data file gained the easy-read texts in place. A database that stored the earlier file
(a developer's `make run`) is brought up to the new file here, so `load_policy` keeps
accepting it instead of refusing a "changed" published version.
"""

import hashlib
import tomllib
from pathlib import Path

from django.db import migrations, models

# The SHA-256 of the V.01 file before it had easy-read house rules.
V01_WITHOUT_EASY_READ = "753ac54d18e5e85f7bb19363e220d3855ec72a3cd935be4e89791c172d9d91d4"
V01_FILE = Path(__file__).resolve().parents[1] / "data" / "sendiass-leicester-v01.toml"


def add_easy_read_to_v01(apps, schema_editor):
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    stored = PolicyVersion.objects.filter(version="V.01", source_sha256=V01_WITHOUT_EASY_READ)
    if not stored.exists() or not V01_FILE.exists():
        return
    raw = V01_FILE.read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    easy_read = {t["key"]: t["house_rules_easy_read"].strip() for t in data["meeting_types"]}
    for policy in stored:
        for meeting_type in policy.meeting_types.all():
            meeting_type.house_rules_easy_read = easy_read.get(meeting_type.key, "")
            meeting_type.save(update_fields=["house_rules_easy_read"])
        policy.source_sha256 = hashlib.sha256(raw).hexdigest()
        policy.save(update_fields=["source_sha256"])


class Migration(migrations.Migration):
    dependencies = [("policy", "0002_policy_drafts")]

    operations = [
        migrations.AlterField(
            model_name="meetingtype",
            name="house_rules",
            field=models.TextField(help_text="The template of a new meeting's house rules (G1)."),
        ),
        migrations.AddField(
            model_name="meetingtype",
            name="house_rules_easy_read",
            field=models.TextField(
                default="",
                help_text="The same rules in easy read: short sentences, everyday words.",
            ),
        ),
        migrations.AddField(
            model_name="meetingtypedraft",
            name="house_rules_easy_read",
            field=models.TextField(default=""),
        ),
        migrations.RunPython(add_easy_read_to_v01, migrations.RunPython.noop),
    ]
