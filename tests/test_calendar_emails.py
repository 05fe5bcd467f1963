"""The calendar event in the access email, its updates and cancellations (rule D2)."""

import datetime as dt
import json
import re

import icalendar

from tests.harness import database, flows

CONTACT = "info@sendiassleicester.org.uk"
PRIVACY = "https://sendiassleicester.org.uk/privacy-policy/"


def event_in(message) -> tuple[str, icalendar.Event]:
    """The METHOD and the one VEVENT of the text/calendar part of an email."""
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert part.get_param("method") == str(calendar["METHOD"])
    [event] = calendar.walk("VEVENT")
    assert isinstance(event, icalendar.Event)
    return str(calendar["METHOD"]), event


def sequence(event: icalendar.Event) -> int:
    return int(str(event["SEQUENCE"]))


def change_time(host, meeting_id: str, starts: dt.datetime, minutes: int = 90):
    return flows.post_form(
        host,
        f"/meetings/{meeting_id}/time/",
        {"starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": str(minutes)},
    )


def test_S1_the_access_email_carries_a_calendar_request_without_the_link(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, title="Review for Sam")
    invited = flows.invite(stack, host, meeting_id)
    link_mail = flows.newest_mail_to(stack, invited.email, "Your link")
    method, event = event_in(link_mail)
    assert method == "REQUEST"
    assert str(event["UID"]).startswith(meeting_id) and str(event["SUMMARY"]) == "Review for Sam"
    assert sequence(event) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(hours=1)
    assert str(event["ATTENDEE"]) == f"mailto:{invited.email}"
    assert event["ATTENDEE"].params["CN"] == invited.name
    assert str(event["ORGANIZER"]) == f"mailto:{CONTACT}"
    # Calendars are shared: the event never carries the link or the passcode (S1).
    raw = event.to_ical().decode()
    assert invited.link not in raw and invited.passcode not in raw
    assert "/join/" not in raw


def test_calendar_a_new_time_updates_the_same_event_with_a_higher_sequence(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    waiting = flows.unique_email("waiting")
    flows.send_invitation(host, meeting_id, name="Kim Ray", email=waiting)
    _, first = event_in(flows.newest_mail_to(stack, invited.email, "Your link"))

    new_start = (dt.datetime.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    assert change_time(host, meeting_id, new_start).status_code == 302
    update = flows.newest_mail_to(stack, invited.email, "New time")
    method, event = event_in(update)
    assert method == "REQUEST" and event["UID"] == first["UID"]
    assert sequence(event) == 1
    assert event.decoded("DTSTART") != first.decoded("DTSTART")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(minutes=90)
    assert "still work" in flows.text_of(update)
    # Someone still to consent hears of the new time, without a calendar event.
    notice = flows.newest_mail_to(stack, waiting, "New time")
    assert not list(notice.iter_attachments())
    # Their links still work, and now expire after the new time.
    attendee = flows.enter_passcode(stack, invited)
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200
    moved = dt.datetime.fromisoformat(database.invitation(stack, invited.email)["expires_at"])
    assert moved.replace(tzinfo=dt.UTC) > dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    [row] = [r for r in stack.audit("meeting.time_changed") if r["meeting_id"]][-1:]
    assert json.loads(row["details"])["duration_minutes"] == 90


def test_calendar_a_cancelled_meeting_sends_a_cancel_for_the_same_event(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    waiting = flows.unique_email("waiting")
    flows.send_invitation(host, meeting_id, name="Kim Ray", email=waiting)
    consent_link = flows.read_consent_link(stack, waiting)
    _, first = event_in(flows.newest_mail_to(stack, invited.email, "Your link"))
    page = host.get(f"/meetings/{meeting_id}/cancel/")
    assert page.status_code == 200 and "This cannot be undone" in page.text
    assert flows.post_form(host, f"/meetings/{meeting_id}/cancel/", {}).status_code == 302

    cancel = flows.newest_mail_to(stack, invited.email, "Cancelled")
    method, event = event_in(cancel)
    assert method == "CANCEL" and event["UID"] == first["UID"]
    assert sequence(event) > sequence(first)
    assert str(event["STATUS"]) == "CANCELLED"
    assert "This video meeting is cancelled" in flows.text_of(cancel)
    gone = stack.http().get(flows.path_of(stack, invited.link))
    assert gone.status_code == 404 and "This meeting is cancelled" in gone.text
    assert stack.http().get(flows.path_of(stack, consent_link)).status_code == 410
    assert "Cancelled" in host.get("/meetings/").text
    detail = host.get(f"/meetings/{meeting_id}/").text
    assert "Invite someone" not in detail and "Open the meeting room" not in detail
    assert stack.audit("meeting.cancelled")


def test_calendar_a_cancelled_invitation_cancels_its_event(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    invitation_id = database.invitation(stack, invited.email)["id"]
    token = flows.CSRF.search(host.get(f"/meetings/{meeting_id}/").text)
    assert token
    cancel = f"/meetings/{meeting_id}/invitations/{invitation_id}/cancel/"
    assert host.post(cancel, data={"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    method, event = event_in(flows.newest_mail_to(stack, invited.email, "Cancelled"))
    assert method == "CANCEL" and sequence(event) == 1


def test_D2_every_email_names_the_contact_and_the_privacy_policy_and_is_audited(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    start = (dt.datetime.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    change_time(host, meeting_id, start)
    flows.post_form(host, f"/meetings/{meeting_id}/cancel/", {})
    flows.newest_mail_to(stack, invited.email, "Cancelled")
    messages = flows.mails_to(stack, invited.email, "")
    subjects = [message["Subject"] for message in messages]
    assert len(messages) == 5, subjects  # consent request, link, passcode, new time, cancelled
    for message in messages:
        for part in (flows.text_of(message), flows.html_of(message)):
            assert CONTACT in part and PRIVACY in part, message["Subject"]
    invitation_id = database.invitation(stack, invited.email)["id"]
    sent = [r for r in stack.audit("email.sent") if r["invitation_id"] == invitation_id]
    kinds = [json.loads(r["details"])["kind"] for r in sent]
    assert kinds == ["consent_request", "link", "passcode", "meeting_changed", "meeting_cancelled"]
    assert all(json.loads(r["details"])["to"] == "invitee" for r in sent)
    assert not any(invited.email in r["details"] for r in sent)
    standalone = re.compile(rf"(?<![0-9a-f]){invited.passcode}(?![0-9a-f])")  # not by chance
    assert not any(standalone.search(r["details"] + str(r["actor_label"])) for r in stack.audit())
    assert not any(invited.link.rsplit("/", 2)[1] in json.dumps(row) for row in stack.audit())
