"""Policy versions in pages (P1, P3): drafts, publishing, the overdue banner, meetings'
versions. Each test has an organisation of its own, so publishing changes nothing for
other tests."""

import re

import pytest

from tests.harness import database, flows
from tests.harness.staff import (
    draft_form_data,
    found,
    new_organisation,
    post_action,
    sign_in_staff,
)

pytestmark = pytest.mark.live

BANNER = 'id="policy-overdue"'


def _publish(staff, version: str, **changes: str) -> None:
    saved = flows.post_form(
        staff.client, "/staff/policy/drafts/new/", draft_form_data(version, **changes)
    )
    assert saved.status_code == 302, saved.text
    draft_path = saved.headers["location"]
    published = post_action(staff.client, draft_path + "publish/", page=draft_path)
    assert published.status_code == 302
    assert published.headers["location"] == "/staff/policy/"


def _pages_of(staff) -> list[str]:
    pages = ["/staff/", "/accounts/", "/staff/policy/", "/staff/policy/drafts/new/"]
    pages += ["/staff/people/", "/staff/audit/", "/meetings/"]
    return [path for path in pages if staff.client.get(path).status_code == 200]


def test_P1_overdue_review_is_on_every_overseer_page_until_a_new_version_is_published(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", "host", organisation=org)
    administrator = sign_in_staff(stack, "admin", "administrator", organisation=org)
    manager = sign_in_staff(stack, "manager", "service_manager", organisation=org)
    host = sign_in_staff(stack, "host", "host", organisation=org)
    for overseer in (coordinator, administrator, manager):
        pages = _pages_of(overseer)
        assert len(pages) >= 4
        for path in pages:
            text = overseer.client.get(path).text
            assert BANNER in text, (overseer.email, path)
            assert "Version V.01 was due for review in September 2021" in text
    # A host who oversees nothing is not told (the policy names coordinators).
    assert BANNER not in host.client.get("/meetings/").text
    # Only those who can publish get the link to do it.
    assert 'href="/staff/policy/drafts/new/"' in coordinator.client.get("/accounts/").text
    assert 'href="/staff/policy/drafts/new/"' not in manager.client.get("/accounts/").text

    _publish(coordinator, "V.02")

    for overseer in (coordinator, administrator, manager):
        for path in _pages_of(overseer):
            assert BANNER not in overseer.client.get(path).text, (overseer.email, path)
    rows = [r for r in stack.audit("policy.published") if coordinator.email in r["actor_label"]]
    assert len(rows) == 1 and '"version": "V.02"' in rows[0]["details"]


def test_P1_a_meeting_keeps_the_version_it_was_created_under(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", organisation=org)
    host = sign_in_staff(stack, "host", "host", organisation=org)
    before = flows.create_meeting(host.client, "Before the change")
    _publish(coordinator, "V.02")
    after = flows.create_meeting(host.client, "After the change")
    assert "Version V.01" in host.client.get(f"/meetings/{before}/").text
    assert "Version V.02" in host.client.get(f"/meetings/{after}/").text
    created = {r["meeting_id"]: r["details"] for r in stack.audit("meeting.created")}
    versions = re.findall(r'"policy_version": "(V\.0\d)"', " ".join(created.values()))
    assert "V.01" in versions and "V.02" in versions


def test_P3_a_new_version_carries_its_meeting_type_defaults_and_the_old_one_never_changes(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", "host", organisation=org)
    v01_page = coordinator.client.get("/staff/policy/").text
    v01_id = found(r'href="/staff/policy/versions/(\d+)/">Version V.01', v01_page)
    v01_before = coordinator.client.get(f"/staff/policy/versions/{v01_id}/").text
    _publish(
        coordinator,
        "V.02",
        **{
            "training-max_attendees": "12",
            "training-house_rules": "- Cameras optional.\n- Questions in the chat.",
            "one_to_one-attendees_start_muted": "on",
        },
    )
    v01_after = coordinator.client.get(f"/staff/policy/versions/{v01_id}/").text
    assert _version_body(v01_after) == _version_body(v01_before)
    assert "Training session</td><td>30</td>" in _version_body(v01_after)
    overview = coordinator.client.get("/staff/policy/").text
    assert "In force: version V.02" in overview
    assert "<td>Training session</td><td>12</td>" in overview
    assert "Questions in the chat." in overview
    # The defaults reach new meetings: a training session now has the new cap.
    meeting = flows.create_meeting(coordinator.client, "Training", "training")
    assert "Version V.02" in coordinator.client.get(f"/meetings/{meeting}/").text


def _version_body(page: str) -> str:
    """What a version page says about the version (the banner above it may change)."""
    return page[page.index("<h1>") : page.index("Back to the policy")]


def test_a_draft_with_missing_or_contradictory_fields_shows_each_error_and_saves_nothing(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", organisation=org)
    bad = draft_form_data(
        "V.01",  # already published
        review_date="2020-01-01",  # already passed
        contact_email="not an email",
        controller="<omit>",
        privacy_url="http://insecure.example/privacy",
        staff_page_url="https://same.example/page",
        **{
            "one_to_one-max_attendees": "0",
            "training-transcript_retention_days": "99999",
            "youth_group-house_rules": "   ",
        },
    )
    response = flows.post_form(coordinator.client, "/staff/policy/drafts/new/", bad)
    assert response.status_code == 200
    text = response.text
    for message in (
        "Version V.01 is already published",
        "The review date must be after today",
        "Enter a valid email address.",
        "Data controller: This field is required.",
        "Use an address that starts with https://",
        "One-to-one meeting, most attendees: Ensure this value is greater than or equal to 1.",
        "Training session, keep a kept chat transcript for (days): "
        "Ensure this value is less than or equal to 3650.",
        "Youth group, house rules template: This field is required.",
    ):
        assert message in text, message
    assert 'href="#id_review_date"' in text  # the summary links to each field
    assert "Nothing was saved" in text
    overview = coordinator.client.get("/staff/policy/").text
    assert "Drafts not yet published" not in overview
    assert "In force: version V.01" in overview
    # Both pages the same, in the other contradictory way: the same page for both links.
    same = draft_form_data(
        "V.02",
        privacy_url="https://example.org/one",
        staff_page_url="https://example.org/one",
    )
    response = flows.post_form(coordinator.client, "/staff/policy/drafts/new/", same)
    assert "The staff page and the privacy policy cannot be the same page." in response.text


def test_a_published_draft_cannot_be_edited_or_published_again(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", organisation=org)
    saved = flows.post_form(
        coordinator.client, "/staff/policy/drafts/new/", draft_form_data("V.02")
    )
    draft_path = saved.headers["location"]
    post_action(coordinator.client, draft_path + "publish/", page=draft_path)
    assert coordinator.client.get(draft_path).status_code == 404
    assert post_action(coordinator.client, draft_path + "publish/").status_code == 404
    assert post_action(coordinator.client, draft_path + "discard/").status_code == 404
    # A second draft under the same number is refused at once.
    again = flows.post_form(
        coordinator.client, "/staff/policy/drafts/new/", draft_form_data("v.02")
    )
    assert "Version v.02 is already published" in again.text


def test_a_draft_whose_review_date_has_passed_since_saving_is_not_published(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", organisation=org)
    saved = flows.post_form(
        coordinator.client, "/staff/policy/drafts/new/", draft_form_data("V.03")
    )
    draft_path = saved.headers["location"]
    draft_id = int(draft_path.strip("/").split("/")[-1])
    # As if the draft had waited a long time before publishing.
    database.execute(
        stack, "UPDATE policy_policydraft SET review_date = '2021-01-01' WHERE id = ?", draft_id
    )
    response = post_action(coordinator.client, draft_path + "publish/", page=draft_path)
    assert response.headers["location"] == draft_path
    assert "The review date has passed" in coordinator.client.get(draft_path).text
    assert "In force: version V.01" in coordinator.client.get("/staff/policy/").text
