from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.documents.actions import Document, DocumentError, Outcome, do_send_document
from haven.documents.forms import DocumentForm
from haven.documents.uploads import DocumentUploadHandler, body_was_too_large
from haven.invitations.models import Invitation
from haven.meetings.access import access_meeting
from haven.meetings.models import Meeting


def _host_meeting(request: HttpRequest, meeting_id: str) -> Meeting:
    """The signed-in host's own meeting, when their roles let them send documents."""
    user = request.user
    if not isinstance(user, User) or not has_permission(user, Permission.SEND_DOCUMENTS):
        raise Http404
    return access_meeting(user, meeting_id)


# The CSRF check runs in `_send` instead, once the upload can only go to memory: the
# middleware would read the form first, with handlers that write big files to disk.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def send_document(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """Email a document to people invited to this meeting (rule S4); nothing is kept."""
    meeting = _host_meeting(request, meeting_id)
    if not meeting.is_open:
        # Said plainly, not "Page not found": the meeting is there, it has ended.
        return render(request, "documents/ended.html", {"meeting": meeting}, status=410)
    invitations = list(meeting.invitations.filter(revoked_at__isnull=True))
    if body_was_too_large(request):
        # Nothing of the form was kept, so nothing can change: show the form again.
        form = DocumentForm({}, {}, invitations=invitations, too_large=True, body_dropped=True)
        form.is_valid()
        return _page(request, meeting, form, status=413)
    handler = DocumentUploadHandler(request, settings.HAVEN_DOCUMENT_MAX_BYTES)
    if request.method == "POST":
        request.upload_handlers = [handler]
    return _send(request, meeting, invitations, handler)


@csrf_protect
def _send(
    request: HttpRequest,
    meeting: Meeting,
    invitations: list[Invitation],
    handler: DocumentUploadHandler,
) -> HttpResponse:
    if request.method != "POST":
        return _page(request, meeting, DocumentForm(invitations=invitations))
    form = DocumentForm(
        request.POST, request.FILES, invitations=invitations, too_large=handler.too_large
    )
    if not form.is_valid():
        return _page(request, meeting, form, status=413 if handler.too_large else 400)
    document = form.cleaned_data["document"]
    assert isinstance(document, Document)
    assert isinstance(request.user, User)
    try:
        outcome = do_send_document(request.user, meeting, form.chosen(), document)
    except DocumentError as error:
        form.add_error(None, str(error))
        return _page(request, meeting, form, status=400)
    if outcome.failed:
        form.add_error(None, _failed_message(outcome))
        if outcome.sent:
            messages.success(request, _sent_message(document, outcome))
        return _page(request, meeting, form, status=502)
    messages.success(request, _sent_message(document, outcome))
    return redirect("meetings:send_document", meeting_id=meeting.public_id)


def _sent_message(document: Document, outcome: Outcome) -> str:
    names = ", ".join(invitation.name for invitation in outcome.sent)
    return f"We have emailed “{document.name}” to {names}. Haven kept no copy of it."


def _failed_message(outcome: Outcome) -> str:
    names = ", ".join(invitation.name for invitation in outcome.failed)
    return (
        f"We could not email the document to {names}: the mail server did not take it. "
        "Nothing was sent to them. Please try again in a few minutes."
    )


def _page(
    request: HttpRequest, meeting: Meeting, form: DocumentForm, status: int = 200
) -> HttpResponse:
    context = {"meeting": meeting, "form": form}
    return render(request, "documents/send.html", context, status=status)
