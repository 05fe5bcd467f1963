"""The compliance evidence of a meeting (issue 6): for its host, coordinators and the
service manager. Every view of it is audited."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haven.accounts.decorators import staff_required
from haven.accounts.models import User
from haven.accounts.permissions import Permission
from haven.audit.evidence import access_evidence, evidence_for
from haven.audit.log import Actor, record
from haven.meetings.models import Meeting

PAGE_SIZE = 50


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@staff_required(Permission.VIEW_EVIDENCE)
@require_http_methods(["GET"])
def evidence_index(request: HttpRequest) -> HttpResponse:
    """Every meeting of the organisation, newest first, each with its evidence page."""
    meetings = (
        Meeting.objects.filter(organisation_id=_staff(request).organisation_id)
        .select_related("host", "meeting_type")
        .order_by("-starts_at", "-id")
    )
    page = Paginator(meetings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/evidence_index.html", {"page": page})


@never_cache
@staff_required()
@require_http_methods(["GET"])
def evidence_page(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """One meeting's evidence, rule by rule; printable. Viewing it is audited."""
    viewer = _staff(request)
    meeting = access_evidence(viewer, meeting_id)
    evidence = evidence_for(meeting)
    record("evidence.viewed", Actor.staff(viewer), meeting=meeting)
    return render(request, "audit/evidence.html", {"evidence": evidence, "meeting": meeting})
