from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haven.consent.actions import (
    ConsentError,
    Problem,
    do_give_consent,
    find_request,
    link_problem,
    note_refused_link,
)
from haven.consent.forms import ConsentForm
from haven.consent.models import Consent, ConsentRequest

SESSION_CONSENT_DONE = "haven_consent_done"


@never_cache
@require_http_methods(["GET", "POST"])
def give(request: HttpRequest, token: str) -> HttpResponse:
    """The consent page: house rules, what Haven records, access needs (G1, U3, U4, V2)."""
    consent_request = find_request(token)
    problem = link_problem(consent_request)
    if problem is not None:
        return _problem_page(request, consent_request, problem)
    assert consent_request is not None
    invitation = consent_request.invitation
    rules = invitation.meeting.current_house_rules()
    form = ConsentForm(
        request.POST or None, invitation=invitation, initial={"rules_version": rules.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            given = do_give_consent(
                consent_request.pk, form.cleaned_data["rules_version"], form.answers()
            )
        except ConsentError as error:
            if error.problem is not None:
                return _problem_page(request, consent_request, error.problem)
            form.add_error(None, str(error))
        else:
            request.session[SESSION_CONSENT_DONE] = [given.consent.pk, given.access_sent_now]
            return redirect("consent:done")
    context = {
        "form": form,
        "invitation": invitation,
        "meeting": invitation.meeting,
        "policy": invitation.meeting.policy,
        "rules": rules,
    }
    return render(request, "consent/give.html", context, status=400 if form.errors else 200)


def _problem_page(
    request: HttpRequest, consent_request: ConsentRequest | None, problem: Problem
) -> HttpResponse:
    note_refused_link(consent_request, problem)
    policy = consent_request.invitation.meeting.policy if consent_request else None
    status = 404 if consent_request is None else 410
    context = {"heading": problem.heading, "detail": problem.detail, "policy": policy}
    return render(request, "invitations/link_problem.html", context, status=status)


@never_cache
def done(request: HttpRequest) -> HttpResponse:
    """Thank you: what happens next."""
    remembered = request.session.get(SESSION_CONSENT_DONE)
    if not remembered:
        raise Http404
    consent_id, access_sent_now = remembered
    consent = (
        Consent.objects.select_related("invitation__meeting__policy", "house_rules")
        .filter(pk=consent_id)
        .first()
    )
    if consent is None:
        raise Http404
    invitation = consent.invitation
    context = {
        "consent": consent,
        "invitation": invitation,
        "meeting": invitation.meeting,
        "policy": invitation.meeting.policy,
        "access_sent_now": access_sent_now,
    }
    return render(request, "consent/done.html", context)
