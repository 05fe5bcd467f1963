"""Publishing, subscribing and the person's own microphone: relayed to the media server
only after the policy allows it."""

import asyncio
import contextlib
import logging
import re

from channels.db import database_sync_to_async
from django.db.models import Exists, OuterRef, Q

from haven.audit.log import Actor, record
from haven.media.gateway import MediaEvent, MediaUnavailable, ParticipantMedia
from haven.policy import rules
from haven.policy.rules import Decision, Source
from haven.room import actions
from haven.room import protocol as p
from haven.room.actions import Refused
from haven.room.connection import RoomConnection, check
from haven.room.media import MEDIA_FAILURES, get_servers
from haven.room.models import Participant

logger = logging.getLogger(__name__)

# Media sessions being closed in the background (kept here so that they run to the end).
_closing: set["asyncio.Future[None]"] = set()
NO_SUCH_FEED = Decision(False, "not_found", "There is no such feed in this meeting.")
_MEDIA_LINE = re.compile(r"^m=(audio|video|application)\s", re.MULTILINE)


class MediaHandlers(RoomConnection):
    """publish, unpublish, subscribe, subscribe_answer, trickle, unmute_self,
    camera_on_self."""

    async def on_publish(self, message: p.Publish) -> None:
        participant = await self.require_media()
        source = Source(message.source)
        audio, video = count_media_sections(message.jsep.sdp)
        check(rules.may_publish(self.identity.role, source, audio, video))
        media = await self.open_media(participant)
        feed_id, answer = await media.publish(message.jsep.sdp, source.value)
        muted_again = source is Source.CAMERA and await self.keep_host_mute(participant, media)
        # The meeting hears of the feed once its media is up (on_media_event): Janus
        # refuses subscriptions to a publisher whose connection is not up yet.
        reply = p.Published(feed=feed_id, jsep=p.AnswerJsep(type="answer", sdp=answer))
        await self.send_message(reply, message.id)
        if muted_again:
            await self.send_message(p.MutedByHost())

    async def keep_host_mute(self, participant: Participant, media: ParticipantMedia) -> bool:
        """The host muted this person and they have not unmuted themselves: their new feed
        (after a resume, a media server restart or a move) is muted too, before any of its
        sound can flow (rule V3: nobody is unmuted by anyone else, Haven included).
        Returns whether it was; the caller tells them again.

        So is the feed of someone let in to a meeting whose type starts attendees muted
        with their camera off (P3), until they turn each on themselves: their first feed
        sends no sound and no picture to anyone, whatever their page sends."""
        held = await database_sync_to_async(actions.standing_mutes)(participant)
        if media.feed_id is None:
            return False
        gateway = await self.media_room()
        room_key = self.identity.meeting.room_key
        if held.camera_off_on_entry and media.video_mid:
            await gateway.mute(room_key, media.feed_id, media.video_mid)
        if not held.audio or not media.audio_mid:
            return False
        await gateway.mute(room_key, media.feed_id, media.audio_mid)
        if not held.host_muted:
            return False  # the meeting type's start: their page knows, from `admitted`
        # No personal data in it: that the meeting's standing mute was applied again.
        await database_sync_to_async(record)(
            "room.mute_reapplied", Actor.system(), meeting=self.identity.meeting
        )
        return True

    async def on_unpublish(self, message: p.Unpublish) -> None:
        participant = await self.require_media()
        source = Source(message.source)
        check(rules.may_publish(self.identity.role, source, 0, 1 if source is Source.SCREEN else 0))
        if self.media is None:
            raise Refused(Decision(False, "not_found", "You are not sending that."))
        await self.media.unpublish(source.value)
        await database_sync_to_async(actions.do_forget_feed)(participant, source)

    async def on_subscribe(self, message: p.Subscribe) -> None:
        participant = await self.require_media_and_feed(message.feed)
        media = await self.open_media(participant)
        offer = await media.subscribe(message.feed)
        reply = p.SubscribeOffer(feed=message.feed, jsep=p.OfferJsep(type="offer", sdp=offer))
        await self.send_message(reply, message.id)

    async def on_subscribe_answer(self, message: p.SubscribeAnswer) -> None:
        participant = await self.require_media_and_feed(message.feed)
        media = await self.open_media(participant)
        await media.start_subscription(message.feed, message.jsep.sdp)
        await self.send_message(p.Subscribed(feed=message.feed), message.id)

    async def on_trickle(self, message: p.Trickle) -> None:
        await self.require_media()
        if self.media is None:
            raise Refused(Decision(False, "not_found", "Publish or subscribe first."))
        candidate = message.candidate.model_dump(exclude_none=True) if message.candidate else None
        await self.media.trickle(message.feed, candidate)

    async def on_unmute_self(self, message: p.UnmuteSelf) -> None:
        """Only ever the sender's own microphone: the message names nobody (rule V3)."""
        participant = await self.require_media()
        if self.media is not None:
            # Always, not only when the flag is set: it only ever unmutes their own feed,
            # and it also undoes a standing mute applied again just as they unmuted.
            await self.media.unmute_own_audio()
        await database_sync_to_async(actions.do_unmute_self)(participant, self.identity.actor)
        await self.send_message(p.Unmuted(), message.id)

    async def on_camera_on_self(self, message: p.CameraOnSelf) -> None:
        """Only ever the sender's own video, muted since their meeting's type started
        them with the camera off (P3): the message names nobody (rule V3)."""
        participant = await self.require_media()
        if self.media is not None:
            await self.media.unmute_own_video()
        await database_sync_to_async(actions.do_camera_on_self)(participant, self.identity.actor)
        await self.send_message(p.CameraOn(), message.id)

    async def require_media_and_feed(self, feed_id: int) -> Participant:
        """require_media(), and the feed is someone else's in this meeting: both read in
        one trip to the database (each trip waits its turn there: bench/, issue 8)."""
        participant = await self.require_participant()
        state, meeting_state, feed_exists = await database_sync_to_async(_media_and_feed)(
            participant, feed_id
        )
        check(rules.may_use_media(rules.Presence(state), rules.MeetingState(meeting_state)))
        if not feed_exists:
            raise Refused(NO_SUCH_FEED)
        return participant

    def start_opening_media(self, participant: Participant) -> None:
        """Open this person's media session now, in the background, so that it is ready
        when their first subscription comes: someone let in subscribes at once, and
        opening it then held their first video up (bench/, issue 8). Only for someone
        admitted (S2): the room_admitted handler calls it, when one person was let in."""
        if self.media is None and not self._opening_now():
            self.media_opening = asyncio.ensure_future(self._open_media(participant))
            self.media_opening.add_done_callback(_note_failure)

    def _opening_now(self) -> bool:
        return self.media_opening is not None and not self.media_opening.done()

    async def open_media(self, participant: Participant) -> ParticipantMedia:
        """This person's media session: the one opened when they were let in, or now."""
        if self.media is not None:
            return self.media
        opening = self.media_opening
        if opening is None or not self._opening_now():
            # None opened yet, or one that failed or was lost since (a media restart).
            opening = self.media_opening = asyncio.ensure_future(self._open_media(participant))
        try:
            return await opening
        finally:
            if self.media_opening is opening and opening.done():
                self.media_opening = None  # failed: the next request tries again

    async def _open_media(self, participant: Participant) -> ParticipantMedia:
        """Open this person's media session; their token is allowed only now (after S2)."""
        meeting = self.identity.meeting
        resets = self.media_resets
        self.media_server = ""  # not yet known: a media reset now concerns this opening
        gateway = await self.media_room()
        await gateway.allow(meeting.room_key, self.media_token)
        self.media_server = gateway.server
        media = await gateway.open_participant(
            meeting.room_key,
            participant_id=participant.public_id,
            display=participant.name,
            token=self.media_token,
            on_event=self.on_media_event,
        )
        if resets != self.media_resets:
            # Its server restarted or lost the meeting while it opened: close it, not keep
            # a session there alive. The request waiting for it fails; the person was told
            # to publish and subscribe again.
            await media.close()
            raise MediaUnavailable("the media server was reset while the media session opened")
        self.media = media
        return media

    async def drop_media_on(self, server: str) -> bool:
        """The media server ``server`` restarted, or the meeting moved off it: close this
        person's media there, and make a session still opening close itself as it opens.
        Closing costs nothing on a Janus that dropped the session already, and closes it on
        one that did not (another process moved the meeting; the server is only slow).
        Returns whether they had media there (and so must publish and subscribe again)."""
        if self.media_server not in ("", server):
            return False
        if self._opening_now():
            self.media_resets += 1
            return True
        media, self.media = self.media, None
        if media is None:
            return False
        # In the background: they hear at once, not after Janus answers (or times out).
        closing = asyncio.ensure_future(media.close())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)
        return True

    async def on_media_event(self, event: MediaEvent) -> None:
        """The media server says something about one of this person's connections."""
        media, participant = self.media, self.participant
        if participant is None or media is None or event.target is not None:
            return
        if event.kind != "connected":
            return
        source = Source(event.source)
        feed_id = media.screen_feed_id if source is Source.SCREEN else media.feed_id
        if feed_id is None:
            return
        mute_stands = await database_sync_to_async(actions.do_record_feed)(
            participant, source, feed_id, media.audio_mid
        )
        if mute_stands:
            # Muted when it was published already; again, for a host's mute that came
            # while its media was still coming up (before do_record_feed gave it an id
            # on_mute could mute). The host's mute told them, so nothing is sent.
            gateway = await self.media_room()
            await gateway.mute(self.identity.meeting.room_key, feed_id, media.audio_mid)

    async def close_media(self) -> None:
        opening, self.media_opening = self.media_opening, None
        if opening is not None and not opening.done():
            opening.cancel()  # a session half opened is closed by open_participant
            with contextlib.suppress(asyncio.CancelledError, *MEDIA_FAILURES):
                await opening
        media, self.media = self.media, None
        if media is None and opening is None:
            return
        if media is not None:
            await media.close()
        try:
            gateway = (await get_servers()).gateway(self.media_server)
            await gateway.disallow(self.identity.meeting.room_key, self.media_token)
        except (KeyError, *MEDIA_FAILURES):
            pass  # the room is gone or Janus is down: the token is useless either way


def _note_failure(opening: "asyncio.Task[ParticipantMedia]") -> None:
    """A media session opened in the background that failed: the person's first media
    request opens it again; log why (and mark the failure as seen)."""
    if not opening.cancelled() and opening.exception() is not None:
        logger.warning("Opening a media session failed: %s", opening.exception())


def _media_and_feed(participant: Participant, feed_id: int) -> tuple[str, str, bool]:
    """The person's state, their meeting's, and whether someone else admitted to that
    meeting sends the feed: one query."""
    others = Participant.objects.filter(
        meeting_id=OuterRef("meeting_id"), state=Participant.State.ADMITTED
    ).exclude(pk=OuterRef("pk"))
    sends = others.filter(Q(feed_id=feed_id) | Q(screen_feed_id=feed_id))
    row: tuple[str, str, bool] = (
        Participant.objects.filter(pk=participant.pk)
        .annotate(feed_exists=Exists(sends))
        .values_list("state", "meeting__state", "feed_exists")
        .get()
    )
    return row


def count_media_sections(sdp: str) -> tuple[int, int]:
    """How many audio and video streams an SDP offer would send (rule V2)."""
    kinds = _MEDIA_LINE.findall(sdp.replace("\r\n", "\n"))
    return kinds.count("audio"), kinds.count("video")
