"""Policy pages: the version in force, past versions, drafts and publishing (P1, P2, P3)."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from haven.accounts.decorators import reauthentication_required, staff_required
from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.policy import actions
from haven.policy.forms import MeetingTypeDraftForm, PolicyDraftForm
from haven.policy.models import PolicyDraft, PolicyVersion


def access_version(user: User, version_id: int) -> PolicyVersion:
    version = PolicyVersion.objects.filter(pk=version_id, organisation=user.organisation).first()
    if version is None:
        raise Http404
    return version


def access_draft(user: User, draft_id: int) -> PolicyDraft:
    """An unpublished draft of the user's organisation; anything else is 404."""
    draft = PolicyDraft.objects.filter(
        pk=draft_id, organisation=user.organisation, published_as__isnull=True
    ).first()
    if draft is None:
        raise Http404
    return draft


@staff_required(Permission.VIEW_POLICY)
@require_http_methods(["GET"])
def overview(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    organisation = user.organisation
    context = {
        "version": organisation.policy_in_force(),
        "versions": organisation.policy_versions.order_by("-published_at", "-id"),
        "drafts": organisation.policy_drafts.filter(published_as__isnull=True),
        "can_manage": has_permission(user, Permission.MANAGE_POLICY),
    }
    return render(request, "policy/overview.html", context)


@staff_required(Permission.VIEW_POLICY)
@require_http_methods(["GET"])
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = access_version(request.user, version_id)  # type: ignore[arg-type]
    return render(request, "policy/version.html", {"version": version})


def _forms(request: HttpRequest, user: User, draft: PolicyDraft | None) -> tuple[Any, list[Any]]:
    """The policy form and one form per meeting type, filled from the draft or the policy."""
    base = draft.based_on if draft else user.organisation.policy_in_force()
    source: Any = draft or base
    initial = {name: getattr(source, name) for name in actions.DRAFT_POLICY_FIELDS}
    if draft is None:
        initial.update(version="", review_date=None)
    data = request.POST if request.method == "POST" else None
    policy_form = PolicyDraftForm(data, initial=initial, organisation=user.organisation)
    type_sources = {t.key: t for t in (draft.meeting_types.all() if draft else [])}
    type_forms = []
    for meeting_type in base.meeting_types.all():
        current = type_sources.get(meeting_type.key, meeting_type)
        type_initial = {name: getattr(current, name) for name in actions.DRAFT_TYPE_FIELDS}
        form = MeetingTypeDraftForm(data, initial=type_initial, prefix=meeting_type.key)
        form.meeting_type_name = meeting_type.name  # type: ignore[attr-defined]
        type_forms.append(form)
    return policy_form, type_forms


def _edit(request: HttpRequest, draft: PolicyDraft | None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    policy_form, type_forms = _forms(request, user, draft)
    if request.method == "POST":
        valid = policy_form.is_valid() & all([form.is_valid() for form in type_forms])
        if valid:
            types_data = {form.prefix: form.cleaned_data for form in type_forms}
            saved = actions.do_save_draft(user, draft, policy_form.cleaned_data, types_data)
            messages.success(request, f"Draft {saved.version} is saved. It is not published yet.")
            return redirect("policy:draft", draft_id=saved.pk)
    context = {"form": policy_form, "type_forms": type_forms, "draft": draft}
    return render(request, "policy/draft.html", context)


@staff_required(Permission.MANAGE_POLICY)
@require_http_methods(["GET", "POST"])
def draft_new(request: HttpRequest) -> HttpResponse:
    """Start a draft from the version in force."""
    return _edit(request, None)


@staff_required(Permission.MANAGE_POLICY)
@require_http_methods(["GET", "POST"])
def draft_edit(request: HttpRequest, draft_id: int) -> HttpResponse:
    return _edit(request, access_draft(request.user, draft_id))  # type: ignore[arg-type]


@staff_required(Permission.MANAGE_POLICY)
@reauthentication_required
@require_POST
def draft_publish(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Publish: a sensitive action, so the password and a code are asked again if stale."""
    draft = access_draft(request.user, draft_id)  # type: ignore[arg-type]
    try:
        version = actions.do_publish_draft(request.user, draft)  # type: ignore[arg-type]
    except actions.PolicyError as error:
        for problem in error.errors.values() or [str(error)]:
            messages.error(request, problem)
        return redirect("policy:draft", draft_id=draft.pk)
    messages.success(
        request, f"Version {version.version} is published. New meetings now follow it."
    )
    return redirect("policy:overview")


@staff_required(Permission.MANAGE_POLICY)
@require_POST
def draft_discard(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = access_draft(request.user, draft_id)  # type: ignore[arg-type]
    actions.do_discard_draft(request.user, draft)  # type: ignore[arg-type]
    messages.success(request, f"Draft {draft.version} is discarded.")
    return redirect("policy:overview")
