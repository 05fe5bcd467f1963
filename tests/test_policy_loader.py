"""The policy file: house rules and their easy-read version per meeting type (G1, P1, P3)."""

import io

import pytest
from django.core.management import CommandError, call_command

from haven.policy.loader import DEFAULT_POLICY_FILE, PolicyFileError, load_policy
from haven.policy.models import Organisation

pytestmark = pytest.mark.django_db


def test_G1_every_meeting_type_has_house_rules_in_plain_english_and_easy_read():
    policy = load_policy()
    types = list(policy.meeting_types.all())
    assert {t.key for t in types} == {"one_to_one", "appeal_support", "training", "youth_group"}
    for meeting_type in types:
        assert meeting_type.house_rules.startswith("- ")
        assert meeting_type.house_rules_easy_read.startswith("- ")
        assert meeting_type.house_rules_easy_read != meeting_type.house_rules


def test_P1_loading_the_same_file_again_changes_nothing():
    first = load_policy()
    again = load_policy()
    assert again.pk == first.pk and again.meeting_types.count() == 4


def test_P1_a_changed_file_under_a_published_version_is_refused(tmp_path):
    load_policy()
    changed = tmp_path / "changed.toml"
    changed.write_text(
        DEFAULT_POLICY_FILE.read_text().replace("Be kind.", "Be nice.", 1), encoding="utf-8"
    )
    with pytest.raises(PolicyFileError, match="never changes"):
        load_policy(changed)


def test_a_meeting_type_without_easy_read_rules_is_refused(tmp_path):
    text = DEFAULT_POLICY_FILE.read_text()
    start = text.index("house_rules_easy_read")
    end = text.index('"""', text.index('"""', start) + 3) + 3
    broken = tmp_path / "broken.toml"
    broken.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(PolicyFileError, match="house_rules_easy_read"):
        load_policy(broken)


def _second_organisation(tmp_path, slug: str, name: str):
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    text = text.replace('slug = "sendiass-leicester"', f'slug = "{slug}"', 1)
    text = text.replace('name = "SENDIASS Leicester"', f'name = "{name}"', 1)
    text = text.replace('controller = "SENDIASS Leicester"', f'controller = "{name}"', 1)
    path = tmp_path / f"{slug}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_P1_a_file_with_a_new_slug_adds_an_organisation_with_its_own_policy(tmp_path):
    first = load_policy()
    out = io.StringIO()
    path = _second_organisation(tmp_path, "sendiass-rutland", "SENDIASS Rutland")
    call_command("load_policy", str(path), "--new-organisation", stdout=out)
    assert "SENDIASS Rutland: policy V.01" in out.getvalue()
    rutland = Organisation.objects.get(slug="sendiass-rutland")
    assert rutland.pk != first.organisation_id and rutland.name == "SENDIASS Rutland"
    assert rutland.policy_in_force().controller == "SENDIASS Rutland"
    leicester = Organisation.objects.get(slug="sendiass-leicester")
    assert leicester.policy_in_force().pk == first.pk
    assert leicester.policy_in_force().controller == "SENDIASS Leicester"
    # Loading it again, as a deployment's script would, changes nothing.
    call_command("load_policy", str(path), stdout=io.StringIO())
    assert Organisation.objects.count() == 2


def test_P1_a_copied_file_that_kept_another_organisations_slug_is_refused(tmp_path):
    load_policy()
    copied = _second_organisation(tmp_path, "sendiass-leicester", "SENDIASS Rutland")
    # A new version number too: without the check it would be published as Leicester's.
    copied.write_text(copied.read_text().replace('version = "V.01"', 'version = "V.02"', 1))
    with pytest.raises(CommandError, match="slug of its own"):
        call_command("load_policy", str(copied), stdout=io.StringIO())
    with pytest.raises(CommandError, match="already an organisation"):
        call_command("load_policy", "--new-organisation", stdout=io.StringIO())
    assert Organisation.objects.count() == 1
    assert Organisation.objects.get().policy_versions.count() == 1
