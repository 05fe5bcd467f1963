"""Staff made before roles existed were all hosts: give each of them the host role."""

from django.db import migrations


def grant_host(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    for user_id in User.objects.values_list("id", flat=True):
        RoleGrant.objects.get_or_create(user_id=user_id, role="host")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_staff_roles_sessions_setup_links")]

    operations = [migrations.RunPython(grant_host, migrations.RunPython.noop)]
