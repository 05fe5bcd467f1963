"""The public privacy notice, written from the policy data (rules D1, D2, S7).

Anyone may read it: attendees are not signed in. Each page and email an attendee sees
links to the notice of the policy version their meeting records (rule P1).
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from haven.policy.models import Organisation, PolicyVersion


def _version(organisation: Organisation, version: str | None) -> PolicyVersion:
    """The named version of the organisation's policy, or the one in force; else 404."""
    if version is None:
        return organisation.policy_in_force()
    found = organisation.policy_versions.filter(version=version).first()
    if found is None:
        raise Http404
    return found


@require_http_methods(["GET"])
def privacy_notice(request: HttpRequest, slug: str, version: str | None = None) -> HttpResponse:
    """Who controls and processes the data, what Haven keeps, for how long, and people's rights."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise Http404
    shown = _version(organisation, version)
    in_force = organisation.policy_in_force()
    context = {
        "notice": shown,
        "organisation": organisation,
        "organisation_name": organisation.name,
        "meeting_types": shown.meeting_types.all(),
        "in_force": in_force,
        "is_in_force": shown.pk == in_force.pk,
        "policy": shown,
    }
    return render(request, "policy/privacy_notice.html", context)
