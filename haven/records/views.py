import logging
from collections.abc import Mapping

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from haven.audit.log import Actor
from haven.meetings.access import access_meeting
from haven.records.actions import do_destroy_transcript, read_transcript
from haven.records.crypto import TranscriptKeyError
from haven.records.models import Transcript

logger = logging.getLogger(__name__)


def _transcript(request: HttpRequest, meeting_id: str) -> Transcript:
    meeting = access_meeting(request.user, meeting_id)  # type: ignore[arg-type]
    transcript = Transcript.objects.filter(meeting=meeting).first()
    if transcript is None:
        raise Http404
    return transcript


@never_cache
@login_required
@require_http_methods(["GET"])
def transcript_page(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """The transcript for the case file: readable on screen and when printed (S6)."""
    transcript = _transcript(request, meeting_id)
    lines = []
    context = {"transcript": transcript, "meeting": transcript.meeting}
    if not transcript.is_destroyed:
        try:
            lines = read_transcript(transcript, Actor.staff(request.user), "read")  # type: ignore[arg-type]
        except TranscriptKeyError as error:
            return _unreadable(request, context, error)
    return render(request, "records/transcript.html", {**context, "lines": lines})


def _unreadable(
    request: HttpRequest, context: Mapping[str, object], error: Exception
) -> HttpResponse:
    """The key this transcript needs is not configured: say so, never crash (S6)."""
    logger.warning("A transcript could not be read: %s", error)
    return render(
        request, "records/transcript.html", {**context, "key_problem": str(error)}, status=503
    )


@never_cache
@login_required
@require_http_methods(["GET"])
def transcript_download(request: HttpRequest, meeting_id: str) -> HttpResponse:
    transcript = _transcript(request, meeting_id)
    if transcript.is_destroyed:
        raise Http404
    try:
        lines = read_transcript(transcript, Actor.staff(request.user), "downloaded")  # type: ignore[arg-type]
    except TranscriptKeyError as error:
        return _unreadable(
            request, {"transcript": transcript, "meeting": transcript.meeting}, error
        )
    meeting = transcript.meeting
    header = f"Chat transcript: {meeting.title}, {meeting.starts_at:%Y-%m-%d %H:%M}\n\n"
    body = "".join(f"{line['at']}  {line['author']}: {line['text']}\n" for line in lines)
    response = HttpResponse(header + body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transcript-{meeting.public_id}.txt"'
    return response


@login_required
@require_POST
def transcript_destroy(request: HttpRequest, meeting_id: str) -> HttpResponse:
    transcript = _transcript(request, meeting_id)
    do_destroy_transcript(transcript, Actor.staff(request.user), "host_chose")  # type: ignore[arg-type]
    messages.success(request, "The transcript is destroyed. It cannot be recovered.")
    return redirect("records:transcript", meeting_id=meeting_id)
