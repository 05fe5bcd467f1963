"""The policy file: house rules and their easy-read version per meeting type (G1, P1, P3)."""

import pytest

from haven.policy.loader import DEFAULT_POLICY_FILE, PolicyFileError, load_policy

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
