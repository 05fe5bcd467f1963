"""Transcript keys (rule S6, issue 20 item 10): a key of their own, a key id with each
wrapped key, rotation, and clear errors. In-process, on the test database."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import secrets
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from haven.accounts.models import User
from haven.audit.log import Actor
from haven.audit.models import AuditEvent
from haven.chat.models import ChatMessage
from haven.meetings.actions import do_create_meeting
from haven.meetings.models import Meeting
from haven.records import crypto
from haven.records.actions import context_of, do_close_chat, read_transcript
from haven.records.models import Transcript, TranscriptKey
from haven.records.views import transcript_page
from tests.harness.unit import scheduled_meeting

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
KEY_A = "transcript-key-A-" + "a" * 32
KEY_B = "transcript-key-B-" + "b" * 32


def key_id(material: str) -> str:
    return crypto.key_id_of(crypto.derive_key(material))


@pytest.fixture
def host() -> User:
    return scheduled_meeting().host


def kept_transcript(host: User, text: str) -> Transcript:
    """A meeting whose host wrote `text` in the chat, ended with the transcript kept."""
    meeting = do_create_meeting(
        host,
        title=f"Review {text}",
        meeting_type=Meeting.objects.filter(host=host).first().meeting_type,  # type: ignore[union-attr]
        starts_at=timezone.now() + dt.timedelta(days=1),
    )
    ChatMessage.objects.create(
        public_id=uuid.uuid4().hex,
        meeting=meeting,
        author_name="Alex",
        author_is_host=True,
        text=text,
    )
    return do_close_chat(meeting, Actor.system(), keep=True)


def read(transcript: Transcript) -> list[str]:
    transcript = Transcript.objects.get(pk=transcript.pk)
    return [str(line["text"]) for line in read_transcript(transcript, Actor.system(), "read")]


def rotate() -> str:
    out = StringIO()
    call_command("rotate_transcript_key", stdout=out)
    return out.getvalue()


def test_S6_each_wrapped_key_carries_the_id_of_the_key_that_wrapped_it(settings, host):
    settings.HAVEN_TRANSCRIPT_KEY = KEY_A
    transcript = kept_transcript(host, "first")
    assert TranscriptKey.objects.get(transcript=transcript).key_id == key_id(KEY_A)
    assert key_id(KEY_A) not in KEY_A and len(key_id(KEY_A)) == 16


def test_S6_a_new_secret_key_leaves_transcripts_readable(settings, host):
    settings.HAVEN_TRANSCRIPT_KEY = KEY_A
    transcript = kept_transcript(host, "kept through a new secret key")
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    assert read(transcript) == ["kept through a new secret key"]


def test_S6_rotate_then_read_old_and_new_transcripts(settings, host):
    settings.HAVEN_TRANSCRIPT_KEY = KEY_A
    old = kept_transcript(host, "under the old key")
    # The new key comes in; the old one stays readable until rotation.
    settings.HAVEN_TRANSCRIPT_KEY, settings.HAVEN_TRANSCRIPT_OLD_KEYS = KEY_B, [KEY_A]
    new = kept_transcript(host, "under the new key")
    assert (read(old), read(new)) == (["under the old key"], ["under the new key"])
    report = rotate()
    assert f"Current transcript key: {key_id(KEY_B)}" in report
    assert "Re-wrapped with it: 1" in report and "Already wrapped with it: 1" in report
    assert "Could not be read: 0" in report
    assert set(TranscriptKey.objects.values_list("key_id", flat=True)) == {key_id(KEY_B)}
    # After rotation the old key can go.
    settings.HAVEN_TRANSCRIPT_OLD_KEYS = []
    assert (read(old), read(new)) == (["under the old key"], ["under the new key"])
    [audited] = AuditEvent.objects.filter(action="transcript.keys_rotated")
    assert audited.details == {
        "key_id": key_id(KEY_B),
        "rewrapped": 1,
        "already_current": 1,
        "unreadable": 0,
    }
    # Running it again changes nothing.
    assert "Re-wrapped with it: 0" in rotate()


def test_S6_an_old_key_removed_before_rotation_gives_a_clear_error(settings, host):
    settings.HAVEN_TRANSCRIPT_KEY = KEY_A
    lost = kept_transcript(host, "its key was removed too soon")
    settings.HAVEN_TRANSCRIPT_KEY, settings.HAVEN_TRANSCRIPT_OLD_KEYS = KEY_B, []
    fine = kept_transcript(host, "under the new key")
    with pytest.raises(crypto.TranscriptKeyError) as error:
        read(lost)
    message = str(error.value)
    assert f"locked with transcript key {key_id(KEY_A)}" in message
    assert "HAVEN_TRANSCRIPT_OLD_KEYS" in message and KEY_A not in message
    # The staff page says so instead of failing.
    request = RequestFactory().get("/")
    request.user = host
    page = transcript_page(request, str(lost.meeting.public_id))
    assert page.status_code == 503
    assert "This transcript cannot be read now" in page.content.decode()
    assert key_id(KEY_A) in page.content.decode()
    # Rotation moves what it can and names what it cannot.
    with pytest.raises(CommandError) as failed:
        rotate()
    assert f"wrapped with transcript key {key_id(KEY_A)}" in str(failed.value)
    assert str(lost.meeting.public_id) in str(failed.value)
    assert read(fine) == ["under the new key"]
    # Putting the old key back makes it readable again, and rotation finishes the job.
    settings.HAVEN_TRANSCRIPT_OLD_KEYS = [KEY_A]
    assert "Re-wrapped with it: 1" in rotate()
    settings.HAVEN_TRANSCRIPT_OLD_KEYS = []
    assert read(lost) == ["its key was removed too soon"]


def test_S6_without_a_transcript_key_nothing_falls_back_to_the_secret_key(settings, host):
    settings.HAVEN_TRANSCRIPT_KEY = ""
    with pytest.raises(crypto.TranscriptKeyError, match="HAVEN_TRANSCRIPT_KEY is not set"):
        kept_transcript(host, "never kept under the secret key")
    assert not TranscriptKey.objects.exists()


def test_S6_keys_stored_before_key_ids_get_the_id_of_the_key_that_wrapped_them(settings, host):
    """The migration (records/0002) tries each key it knows; AES-GCM says which one fits."""
    settings.HAVEN_TRANSCRIPT_KEY = KEY_A
    legacy = kept_transcript(host, "wrapped with the secret key, as before")
    damaged = kept_transcript(host, "wrapped with a key nobody has")
    _wrap_as_before(legacy, settings.SECRET_KEY)
    _wrap_as_before(damaged, secrets.token_urlsafe(32))
    migration = importlib.import_module("haven.records.migrations.0002_transcript_key_ids")
    migration.identify_wrapping_keys(apps, None)
    assert TranscriptKey.objects.get(transcript=legacy).key_id == key_id(settings.SECRET_KEY)
    assert TranscriptKey.objects.get(transcript=damaged).key_id == ""
    # The old secret key, listed as an old transcript key, reads it; rotation moves it.
    settings.HAVEN_TRANSCRIPT_OLD_KEYS = [settings.SECRET_KEY]
    assert read(legacy) == ["wrapped with the secret key, as before"]
    with pytest.raises(crypto.TranscriptKeyError, match="locked with an unknown key"):
        read(damaged)


def _wrap_as_before(transcript: Transcript, material: str) -> None:
    """Wrap a transcript's key as Haven did before key ids, with the key from `material`."""
    row = TranscriptKey.objects.get(transcript=transcript)
    meeting = Meeting.objects.get(pk=transcript.meeting_id)
    own_key = crypto.unwrap(
        crypto.Wrapped(bytes(row.wrapped_key), bytes(row.wrap_nonce), row.key_id),
        context_of(meeting),
    )
    nonce = os.urandom(12)
    row.wrapped_key = AESGCM(crypto.derive_key(material)).encrypt(
        nonce, own_key, context_of(meeting)
    )
    row.wrap_nonce, row.key_id = nonce, ""
    row.save()


SECRET_KEY = secrets.token_urlsafe(50)


def _check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    production = {
        "DJANGO_SETTINGS_MODULE": "haven.settings",
        "HAVEN_SECRET_KEY": SECRET_KEY,
        "HAVEN_BASE_URL": "https://haven.example.org",
        "HAVEN_ALLOWED_HOSTS": "haven.example.org",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level=WARNING"],
        cwd=ROOT,
        env={**clean, **production, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_S6_check_deploy_fails_without_its_own_transcript_key(tmp_path):
    missing = _check_deploy(HAVEN_DATA_DIR=str(tmp_path))
    assert missing.returncode != 0
    assert "records.E001" in missing.stderr
    assert "HAVEN_TRANSCRIPT_KEY is not set: no transcript could be kept or read" in missing.stderr
    short = _check_deploy(HAVEN_DATA_DIR=str(tmp_path), HAVEN_TRANSCRIPT_KEY="change-me")
    assert short.returncode != 0 and "records.E002" in short.stderr
    same = _check_deploy(HAVEN_DATA_DIR=str(tmp_path), HAVEN_TRANSCRIPT_KEY=SECRET_KEY)
    assert same.returncode != 0 and "records.E003" in same.stderr
    good = _check_deploy(HAVEN_DATA_DIR=str(tmp_path), HAVEN_TRANSCRIPT_KEY=KEY_A)
    assert good.returncode == 0, good.stderr
