"""The email that carries a new member of staff's one-time set-up link."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from haven.accounts.models import User
from haven.audit.log import Actor, record
from haven.mail.sender import sender


def send_setup_link(member: User, token: str, invited_by: User) -> None:
    link = settings.BASE_URL + reverse("accounts:set_up", kwargs={"token": token})
    context = {
        "member": member,
        "invited_by": invited_by,
        "link": link,
        "hours": settings.HAVEN_STAFF_SETUP_LINK_HOURS,
        "organisation": member.organisation,
        "policy": member.organisation.policy_in_force(),
    }
    text = render_to_string("accounts/email/setup.txt", context)
    html = render_to_string("accounts/email/setup.html", context)
    subject = f"Set up your Haven staff account for {member.organisation.name}"
    message = EmailMultiAlternatives(
        subject, text, from_email=sender(member.organisation), to=[member.email]
    )
    message.attach_alternative(html, "text/html")
    message.send()
    record("email.sent", Actor.system(), kind="staff_setup", staff_id=member.pk)
